import autocannon from 'autocannon';
import { startBenchEnv } from './gateway-env.js';
import { stop } from './lib.js';
const env = await startBenchEnv({ nodeArgs: ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] });
const sendAt = new Date(Date.now() + 86_400_000).toISOString();
let n = 0;
await autocannon({ url: `${env.gateway.url}/v1/notifications`, connections: 50, duration: 6, requests: [{ method: 'POST', headers: env.headers, setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ to: { userIds: [`u${n % 1000}`] }, message: { type: 'text', content: `ingest ${n++}` }, sendAt }) }) }] });
await stop(env.gateway.child); await stop(env.emulator.child);
