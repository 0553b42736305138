import type { FastifyInstance } from 'fastify';
import { demoOrg, type Org } from './org.js';
import { buildEmulator } from './server.js';
import type { EmulatorState } from './state.js';

export { demoOrg, loadOrgFile, type Org, OrgError, type OrgInput, orgSchema, parseOrg } from './org.js';
export { robotSign } from './signing.js';
export type { EmulatorState } from './state.js';

export interface RunningEmulator {
  /** Base URL serving both API families and the inspector, e.g. http://127.0.0.1:8730 */
  url: string;
  port: number;
  state: EmulatorState;
  app: FastifyInstance;
  close(): Promise<void>;
}

export const DEFAULT_EMULATOR_PORT = 8730;

/** Starts the emulator on host:port (port 0 picks a free one). */
export async function startEmulator(
  opts: { org?: Org; port?: number; host?: string; logger?: boolean } = {},
): Promise<RunningEmulator> {
  const { app, state } = buildEmulator(opts.org ?? demoOrg(), { logger: opts.logger ?? false });
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ port: opts.port ?? DEFAULT_EMULATOR_PORT, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? DEFAULT_EMULATOR_PORT);
  return { url: `http://${host}:${port}`, port, state, app, close: () => app.close() };
}
