import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/server.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

/**
 * A migration that stops half-way (the process killed during a backfill, a statement that fails) must leave the
 * SQLite store as it was: otherwise its first statements stay applied without its record, and every later start
 * fails on them ("already exists").
 */
describe('SQLite migrations are all or nothing', () => {
  it('a migration failing at its third statement leaves nothing behind; the next start, once the cause is gone, migrates', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dingpush-migrate-')), 'db.sqlite');
    copyFileSync(join(FIXTURES, 'v0.1.0.sqlite'), file);
    // A stray index under a name a later migration creates third (0009-claim-ranges: jobs_held, jobs_kind_due, jobs_lane).
    const raw = new Database(file);
    raw.exec('create index jobs_lane on notifications (id)');
    raw.close();
    await expect(openStore({ sqlite: file })).rejects.toThrow(/jobs_lane/);
    const after = new Database(file);
    const indexes = after.prepare("select name from sqlite_master where type = 'index'").all().map((r) => (r as { name: string }).name);
    const ran = after.prepare("select name from sqlite_master where type = 'table' and name = 'kysely_migration'").get()
      ? after.prepare('select name from kysely_migration').all().map((r) => (r as { name: string }).name)
      : [];
    // Neither the failed migration's first indexes nor the migrations before it in the same run are left applied.
    expect(indexes).not.toContain('jobs_held');
    expect(indexes).not.toContain('jobs_kind_due');
    expect(ran).not.toContain('0009-claim-ranges');
    after.exec('drop index jobs_lane');
    after.close();
    const store = await openStore({ sqlite: file });
    await store.close();
  });
});
