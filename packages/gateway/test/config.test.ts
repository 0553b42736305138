import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig, startGateway } from '../src/server.js';

const app = { name: 'main', appKey: 'k', appSecret: 's', agentId: 1 };
const message = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('configuration', () => {
  it('fills the defaults of the contract', () => {
    const c = parseConfig({});
    expect(c.server).toMatchObject({ host: '127.0.0.1', port: 8720 });
    expect(c.store).toEqual({ sqlite: './data/dingpush.db', synchronous: 'full' });
    expect(c.dingtalk.oapiBaseUrl).toBe('https://oapi.dingtalk.com');
  });

  it('replaces ${NAME} from the environment, with ${NAME:-default}', () => {
    const c = parseConfig({ apps: [{ ...app, appSecret: '${APP_SECRET}' }], apiKeys: [{ name: 'b', key: 'key-${SUFFIX:-0123456789abcdef}' }] }, { APP_SECRET: 'from-env' });
    expect(c.apps[0]!.appSecret).toBe('from-env');
    expect(c.apiKeys[0]!.key).toBe('key-0123456789abcdef');
  });

  it('names the key in every error', () => {
    expect(message(() => parseConfig({ apps: [{ ...app, agentId: 'one' }] }))).toBe('apps[0].agentId: expected number');
    // A time zone the runtime does not know would break every digest's times: refused at start, naming the key.
    expect(message(() => parseConfig({ robots: [{ name: 'ops', webhook: 'https://oapi.dingtalk.com/robot/send?access_token=x' }], targets: [{ name: 't', to: { robots: ['ops'] }, timeZone: 'Asia/Beijing' }] }))).toContain(
      'targets[0].timeZone: not a time zone',
    );
    expect(message(() => parseConfig({ apps: [{ ...app, appSecret: '${MISSING_VAR}' }] }, {}))).toBe('apps[0].appSecret: environment variable MISSING_VAR is not set');
    expect(message(() => parseConfig({ server: { port: 99999 } }))).toMatch(/^server\.port: /);
    expect(message(() => parseConfig({ serverr: {} }))).toBe('(root): unknown key "serverr"');
    expect(message(() => parseConfig({ robots: [{ name: 'r', webhook: 'https://oapi.dingtalk.com/robot/send' }] }))).toBe('robots[0].webhook: must carry ?access_token=');
    expect(message(() => parseConfig({ apps: [app, app] }))).toBe('apps[1].name: duplicate name main');
    // Cluster mode is PostgreSQL and Redis: Redis beside a SQLite file is refused saying so.
    expect(message(() => parseConfig({ store: { sqlite: 'a.db', redis: 'redis://127.0.0.1:6379' } } as never))).toBe(
      'store.redis: needs store.postgres: cluster mode is PostgreSQL and Redis (a SQLite store serves one process)',
    );
    expect(message(() => parseConfig({ store: { postgres: 'postgres://x', redis: 'localhost:6379' } }))).toBe('store.redis: a redis:// or rediss:// URL');
    expect(message(() => parseConfig({ apps: [app], apiKeys: [{ name: 'x', key: 'short' }] }))).toBe('apiKeys[0].key: must be at least 16 characters');
    expect(message(() => parseConfig({ apps: [app], apiKeys: [{ name: 'x', key: '0123456789abcdef', apps: ['nope'] }] }))).toBe('apiKeys[0].apps[0]: no app named nope');
  });

  it('reads YAML files and says which file is broken', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dingpush-conf-'));
    writeFileSync(join(dir, 'ok.yaml'), 'server: { port: 9999 }\n');
    expect(loadConfigFile(join(dir, 'ok.yaml')).server.port).toBe(9999);
    writeFileSync(join(dir, 'bad.yaml'), 'server: [\n');
    expect(message(() => loadConfigFile(join(dir, 'bad.yaml')))).toMatch(/bad\.yaml is not valid YAML/);
    expect(message(() => loadConfigFile(join(dir, 'missing.yaml')))).toMatch(/cannot read config .*missing\.yaml: ENOENT/);
  });

  it('outside sandbox mode an API key is required', async () => {
    await expect(startGateway(parseConfig({ apps: [app] }))).rejects.toThrow('apiKeys: at least one API key is needed outside sandbox mode');
  });
});
