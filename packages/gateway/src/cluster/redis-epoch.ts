import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/types.js';
import type { RedisLink } from './redis-link.js';

/**
 * Settles the epoch (KEYS[1]) against the one PostgreSQL recorded (ARGV[1], '' for none): the same, or a cluster's
 * first start (nothing recorded: Redis's is adopted, or a fresh one set), answers {epoch, 0}. Recorded but absent or
 * replaced in Redis, or Redis restarted since it was recorded (ARGV[4] '1': a snapshot keeps the epoch but not what
 * came after it): Redis lost the cluster's state; a fresh epoch is set, the moment (ARGV[3]) kept in KEYS[2] for the
 * windows to count as full from, and {epoch, 1} answered. An epoch starts with its cluster's owner id (`owner/…`,
 * ARGV[5]): Redis's, of another owner, belongs to another cluster whose keys have the same name (another PostgreSQL,
 * the same store.cluster or schema) and is an error, neither adopted nor replaced: each replacing the other's would
 * declare a loss at every step of either, and neither cluster would send again.
 */
const SETTLE = `local cur = redis.call('GET', KEYS[1])
if cur and ARGV[5] ~= '' then
  local owner = string.match(cur, '^([^/]*)/')
  if owner and owner ~= ARGV[5] then
    return redis.error_reply('CLUSTER another cluster (with its own PostgreSQL) uses the same keys in this Redis: give each its own store.cluster')
  end
end
if cur and ARGV[4] ~= '1' and (cur == ARGV[1] or ARGV[1] == '') then return {cur, 0} end
redis.call('SET', KEYS[1], ARGV[2])
if not cur and ARGV[1] == '' then return {ARGV[2], 0} end
redis.call('SET', KEYS[2], ARGV[3])
return {ARGV[2], 1}`;

type Settle = (keys: number, epochKey: string, lostKey: string, recorded: string, fresh: string, now: string, restarted: string, owner: string) => Promise<[string, number]>;

/** What PostgreSQL records: the epoch and the run of Redis (its run_id, new at every start) it was last seen in. */
const recordOf = (epoch: string, run: string) => `${epoch} ${run}`;
const parseRecord = (value: string | null) => {
  const [epoch, run] = (value ?? '').split(' ');
  return { epoch: epoch ?? '', run: run ?? null };
};

/**
 * Tells a Redis that lost the cluster's state (it came back empty, or from an old snapshot) from a cluster's first
 * start. Redis holds an epoch marker (a random value, set once) and PostgreSQL records it; every pacing script compares
 * the epoch it was given with Redis's before anything else, so a loss is found before any reservation is made on the
 * emptied Redis. One instance at a time settles it (the PostgreSQL row stays locked meanwhile), so a loss is declared
 * once, and an instance that finds the epoch another one just set adopts it.
 *
 * A Redis restarted from a snapshot keeps the epoch of the snapshot, which may be the current one, without the slots
 * reserved after it: so every restart of Redis (a new run_id) counts as a loss too, and an instance forgets its epoch
 * whenever its connection drops, settling again before its next step (a restart drops every instance's connection).
 * A restart that lost nothing (AOF, fsync always) costs each window one window length; nothing tells the two apart.
 */
export class RedisEpoch {
  readonly key: string;
  /** When Redis was last found to have lost the windows (the gateway's clock): they count as full from then. */
  readonly lostKey: string;
  private readonly metaKey: string;
  private known: string | null = null;
  private settling: Promise<string> | null = null;
  /** Why the epoch cannot be settled (another cluster's keys), for /readyz; null once it settles. */
  private refused: string | null = null;

  constructor(
    private readonly link: RedisLink,
    private readonly store: Store,
    private readonly log: Logger,
    now: () => number,
  ) {
    this.key = `${link.prefix}epoch`;
    this.lostKey = `${link.prefix}lost`;
    this.metaKey = `redis-epoch:${link.prefix}`;
    link.redis.defineCommand('dingpushSettleEpoch', { lua: SETTLE });
    // Settled as soon as Redis is there (at start, after every reconnect), so that the first reservation does not
    // wait for it: an instance's first send would otherwise start later than another's next one (order across
    // instances in a burst). The scripts' own check stays the guarantee; a failure here is retried by it.
    link.redis.on('ready', () => void this.settle(now()).catch(() => {}));
    link.redis.on('close', () => {
      this.known = null;
    });
  }

  /** Why shared quotas wait although Redis is there (another cluster's keys), or null. */
  problem(): string | null {
    return this.refused;
  }

  /** The epoch this instance last settled (null: none yet). */
  current(): string | null {
    return this.known;
  }

  /** Compares Redis's epoch with the recorded one and settles it (concurrent callers share one settling). */
  settle(now: number): Promise<string> {
    this.settling ??= this.store
      .lockedMeta(this.metaKey, async (value) => {
        const recorded = parseRecord(value);
        const run = await this.runId();
        const settle = (this.link.redis as unknown as { dingpushSettleEpoch: Settle }).dingpushSettleEpoch;
        const restarted = recorded.run !== null && recorded.run !== run ? '1' : '0';
        // The cluster's owner id, from its recorded epoch ('' for one recorded before epochs had it: not checked).
        const owner = recorded.epoch === '' ? randomUUID() : (/^([^/]*)\//.exec(recorded.epoch)?.[1] ?? '');
        const fresh = `${owner || randomUUID()}/${randomUUID()}`;
        const [epoch, lost] = await settle.call(this.link.redis, 2, this.key, this.lostKey, recorded.epoch, fresh, String(now), restarted, owner);
        if (lost) this.log.warn({ at: new Date(now).toISOString() }, 'Redis lost the pacing windows: each counts as full for one window length from now, never as empty');
        return recordOf(epoch, run);
      })
      .then(
        (value) => {
          const { epoch } = parseRecord(value);
          this.known = epoch;
          this.refused = null;
          return epoch;
        },
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          if (message.startsWith('CLUSTER')) {
            if (this.refused === null) this.log.error({ redis: this.link.prefix }, message.slice('CLUSTER '.length));
            this.refused = message.slice('CLUSTER '.length);
          }
          throw err;
        },
      )
      .finally(() => {
        this.settling = null;
      });
    return this.settling;
  }

  /** Redis's run_id: new at every start of the server, whatever it loaded. */
  private async runId(): Promise<string> {
    const info = await this.link.redis.info('server');
    const run = /^run_id:(\w+)/m.exec(info)?.[1];
    if (!run) throw new Error('Redis did not say its run_id (INFO server)');
    return run;
  }
}
