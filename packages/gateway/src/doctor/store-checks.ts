import { constants, existsSync, statSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { redactUrl } from '@dingpush/dingtalk';
import type { Config } from '../config/schema.js';
import { type Check, type Text, t } from './checklist.js';

const errCode = (err: unknown) => (err as { code?: string }).code ?? (err as Error).message ?? String(err);

/** The store is writable (SQLite) or reachable (PostgreSQL, Redis). Nothing is created or written. */
export async function storeChecks(config: Config): Promise<Check[]> {
  const store = config.store;
  if ('sqlite' in store) return [await sqliteCheck(store.sqlite)];
  const checks = [await postgresCheck(store.postgres, store.schema)];
  if (store.redis) checks.push(await redisCheck(store.redis));
  return checks;
}

async function sqliteCheck(path: string): Promise<Check> {
  const title = t(`store: SQLite ${path}`, `存储: SQLite ${path}`);
  if (path === ':memory:') return { id: 'store', status: 'pass', title, detail: t('in memory (lost on restart)', '内存中（重启即丢失）') };
  const file = resolve(path);
  // The database and its WAL files live beside each other: the directory must be writable too.
  let dir = dirname(file);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    if (existsSync(file)) await access(file, constants.R_OK | constants.W_OK);
    await access(dir, constants.W_OK);
    return {
      id: 'store',
      status: 'pass',
      title,
      detail: existsSync(file) ? t('writable', '可写') : t(`will be created in ${dir}`, `将在 ${dir} 中创建`),
    };
  } catch (err) {
    return {
      id: 'store',
      status: 'fail',
      title,
      detail: t(`cannot write there (${errCode(err)})`, `无法写入（${errCode(err)}）`),
      fix: t(
        'run dingpush as a user that can write this path, or point store.sqlite at a writable place',
        '以有写权限的用户运行 dingpush，或把 store.sqlite 指向可写的位置',
      ),
      where: t('the configuration: store.sqlite', '配置文件: store.sqlite'),
    };
  }
}

async function postgresCheck(url: string, schema: string | undefined): Promise<Check> {
  const safe = redactUrl(url);
  const title = t(`store: PostgreSQL ${safe}`, `存储: PostgreSQL ${safe}`);
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000, query_timeout: 3_000 });
  try {
    await client.connect();
    const row = (await client.query<{ ok: boolean }>("select has_database_privilege(current_database(), 'CREATE') or exists (select 1 from pg_namespace where nspname = $1) as ok", [schema ?? 'public'])).rows[0];
    if (!row?.ok)
      return {
        id: 'store',
        status: 'fail',
        title,
        detail: t(`schema ${schema ?? 'public'} does not exist and this user may not create it`, `schema ${schema ?? 'public'} 不存在，且该用户无权创建`),
        fix: t('create the schema, or grant CREATE on the database to this user', '先建好该 schema，或授予该用户数据库的 CREATE 权限'),
      };
    return { id: 'store', status: 'pass', title, detail: t('reachable', '可连接') };
  } catch (err) {
    return cannotConnect('store', title, err, 'store.postgres', t('check store.postgres (host, port, user, password, database) and that PostgreSQL is running', '检查 store.postgres（主机、端口、用户、密码、数据库）以及 PostgreSQL 是否在运行'));
  } finally {
    await client.end().catch(() => {});
  }
}

async function redisCheck(url: string): Promise<Check> {
  const safe = redactUrl(url);
  const title = t(`shared quotas: Redis ${safe}`, `共享配额: Redis ${safe}`);
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, commandTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // With no retries, connect() rejects with "Connection is closed."; the socket's own error says why.
  let cause: unknown;
  redis.on('error', (err) => {
    cause ??= err;
  });
  try {
    // A server that accepts connections and never answers must not hold doctor: 3 s for the whole check.
    await withTimeout(
      (async () => {
        await redis.connect();
        await redis.ping();
      })(),
      3_000,
    );
    return { id: 'redis', status: 'pass', title, detail: t('reachable', '可连接') };
  } catch (thrown) {
    return cannotConnect('redis', title, cause ?? thrown, 'store.redis', t('check store.redis and that Redis is running; without it instances share no quota', '检查 store.redis 以及 Redis 是否在运行；没有它，各实例无法共享配额'));
  } finally {
    redis.disconnect();
  }
}

function cannotConnect(id: string, title: Text, err: unknown, key: string, fix: Text): Check {
  return { id, status: 'fail', title, detail: t(`cannot connect (${errCode(err)})`, `无法连接（${errCode(err)}）`), fix, where: t(`the configuration: ${key}`, `配置文件: ${key}`) };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
