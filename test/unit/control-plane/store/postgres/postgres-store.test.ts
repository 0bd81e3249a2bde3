// The PostgreSQL store against a real throwaway cluster: migrations (idempotent, safe when replicas start
// together, refusing a newer schema), publications decided by the database, bundle bytes re-verified on read,
// LISTEN/NOTIFY reaching the other replica, day partitions dropped by retention and read back for replay,
// and health that follows the database away and back.
import { createHash } from 'node:crypto';

import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

import type { ControlPlaneStore } from '../../../../../src/control-plane/store/control-plane-store.js';
import { utcDay } from '../../../../../src/control-plane/store/decision-log.js';
import type { StoreSettings } from '../../../../../src/control-plane/store/open-control-plane-store.js';
import { migrate, MIGRATIONS } from '../../../../../src/control-plane/store/postgres/postgres-migrations.js';
import type { PostgresStore } from '../../../../../src/control-plane/store/postgres/postgres-store.js';
import { readPostgresDecisions } from '../../../../../src/control-plane/store/postgres/read-postgres-decisions.js';
import { freshStoreSettings, openTestStore } from '../../../../helpers/control-plane-stores.js';
import { CLUSTER_USER, usePostgresCluster } from '../../../../helpers/postgres-cluster.js';
import { until } from '../../../../helpers/until.js';

const cluster = usePostgresCluster();
const opened: ControlPlaneStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});
const open = async (settings: StoreSettings, options: Parameters<typeof openTestStore>[1] = {}) => {
  const store = (await openTestStore(settings, options)) as PostgresStore;
  opened.push(store);
  return store;
};
const fresh = async (name: string) => {
  const settings = await freshStoreSettings('postgres', cluster, name);
  if (settings.kind !== 'postgres') throw new Error('unreachable');
  return settings;
};
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const DAY = 86_400_000;

describe('PostgreSQL schema migrations', () => {
  it('apply once when replicas start together, then are a no-op; a newer schema is refused', async () => {
    const settings = await fresh('migrate');
    const pools = Array.from(
      { length: 4 },
      () =>
        new pg.Pool({
          host: '127.0.0.1',
          port: cluster().port,
          user: CLUSTER_USER,
          database: settings.postgres.database,
        }),
    );
    try {
      const applied = await Promise.all(pools.map((pool) => migrate(pool)));
      const latest = MIGRATIONS.map((m) => m.version);
      // Exactly one replica applied the migrations; the others queued on the lock and found them done.
      expect(applied.filter((a) => a.length > 0)).toEqual([latest]);
      expect(await migrate(pools[0]!)).toEqual([]);
      const versions = await cluster().query<{ version: number }>(
        settings.postgres.database,
        'SELECT version FROM authzd_schema_migrations ORDER BY version',
      );
      expect(versions.map((r) => r.version)).toEqual(latest);
      // Replicas opened together on a fresh database agree on one feed.
      const [a, b] = await Promise.all([open(settings), open(settings)]);
      expect(a.revocations.feed).toBe(b.revocations.feed);

      await cluster().query(
        settings.postgres.database,
        "INSERT INTO authzd_schema_migrations (version, name) VALUES (999, 'from the future')",
      );
      await expect(migrate(pools[0]!)).rejects.toThrow(/schema is at version 999, newer than this authzd knows/);
      await expect(open(settings)).rejects.toThrow(/newer than this authzd knows/);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });
});

describe('the PostgreSQL bundle repository', () => {
  it('lets the database decide a publish race, only moves the pointer up, and never stores a losing revision', async () => {
    const settings = await fresh('race');
    const [a, b] = await Promise.all([open(settings), open(settings)]);
    const bytesA = new TextEncoder().encode('bundle from a');
    const bytesB = new TextEncoder().encode('bundle from b');
    const results = await Promise.all([
      a.bundles.commit(5, bytesA, sha256(bytesA)),
      b.bundles.commit(5, bytesB, sha256(bytesB)),
    ]);
    expect([...results].sort()).toEqual(['committed', 'taken']);
    const winner = results[0] === 'committed' ? bytesA : bytesB;
    expect(await b.bundles.readPointer()).toEqual({ revision: 5, digest: sha256(winner) });
    expect(Buffer.from(await a.bundles.read(5)).equals(winner)).toBe(true);
    // A lower revision is refused as a whole: neither stored nor pointed at.
    expect(await a.bundles.commit(4, bytesA, sha256(bytesA))).toBe('overtaken');
    expect(await a.bundles.revisions()).toEqual([5]);
    // Concurrent publications of different numbers: the pointer ends at the highest, whatever the timing.
    const many = await Promise.all(
      [6, 7, 8, 9].map((rev, i) => (i % 2 === 0 ? a : b).bundles.commit(rev, bytesA, `${rev}`.padStart(64, '0'))),
    );
    expect(many.filter((r) => r === 'committed').length).toBeGreaterThanOrEqual(1);
    expect((await a.bundles.readPointer())?.revision).toBe(9);
  });

  it('re-verifies stored bytes against their SHA-256 on every read', async () => {
    const settings = await fresh('tamper');
    const store = await open(settings);
    const bytes = new TextEncoder().encode('the real bundle');
    expect(await store.bundles.commit(1, bytes, sha256(bytes))).toBe('committed');
    await cluster().query(
      settings.postgres.database,
      "UPDATE authzd_bundle_revisions SET bytes = 'a tampered bundle'::bytea WHERE revision = 1",
    );
    await expect(store.bundles.read(1)).rejects.toThrow(/do not match their recorded SHA-256/);
    await expect(store.bundles.read(2)).rejects.toThrow(/revision 2 is not stored/);
  });

  it('prunes old revisions but never the pointed-at one', async () => {
    const store = await open(await fresh('prune'));
    const bytes = new TextEncoder().encode('b');
    for (const rev of [1, 2, 3, 4]) expect(await store.bundles.commit(rev, bytes, sha256(bytes))).toBe('committed');
    expect(await store.bundles.prune(2, 4)).toEqual([2, 1]);
    expect(await store.bundles.revisions()).toEqual([4, 3]);
  });
});

describe('LISTEN/NOTIFY between replicas', () => {
  it('tells another replica of a new pointer and new revocations at once (no polling: the poll is a minute)', async () => {
    const settings = await fresh('notify');
    const writer = await open(settings);
    const reader = await open(settings);
    const heard: string[] = [];
    reader.changes.on('bundle', () => heard.push('bundle'));
    reader.changes.on('revocations', () => heard.push('revocations'));
    const bytes = new TextEncoder().encode('x');
    await writer.bundles.commit(1, bytes, sha256(bytes));
    await until('the bundle notification', () => (heard.includes('bundle') ? true : undefined), 5_000);
    await writer.revocations.add({ kind: 'sub', value: 'alice', expiresAt: Math.floor(Date.now() / 1000) + 60 });
    await until('the revocation notification', () => (heard.includes('revocations') ? true : undefined), 5_000);
    await reader.revocations.scan();
    expect(reader.revocations.seq).toBe(1);
  });
});

describe('the PostgreSQL decision log', () => {
  it('keeps one partition per UTC day, drops whole days past the retention, and reads back in order for replay', async () => {
    const settings = await fresh('decisions');
    const clock = { ms: Date.parse('2026-03-01T12:00:00Z') };
    const store = await open(settings, { now: () => clock.ms, decisionRetentionDays: 2 });
    expect(await store.decisions.append('{"n":1}\n{"n":2}\n')).toBe('authzd_decisions_20260301');
    clock.ms += DAY;
    await Promise.all([store.decisions.append('{"n":3}\n'), store.decisions.append('{"n":4}\n')]);
    clock.ms += DAY;
    await store.decisions.append('{"n":5}\n');
    expect((await store.decisions.partitions()).map((p) => p.day)).toEqual(['2026-03-01', '2026-03-02', '2026-03-03']);

    const all = [];
    for await (const line of readPostgresDecisions(settings.postgres, { pageSize: 2 })) all.push(line);
    expect(all.map((l) => JSON.parse(l.text).n as number).slice(0, 2)).toEqual([1, 2]);
    expect(all.map((l) => JSON.parse(l.text).n as number).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(all[0]!.file).toBe('authzd_decisions_20260301');
    const oneDay = [];
    for await (const line of readPostgresDecisions(settings.postgres, { from: '2026-03-02', to: '2026-03-02' }))
      oneDay.push(JSON.parse(line.text).n as number);
    expect(oneDay.sort()).toEqual([3, 4]);

    // Two days kept (today included): the first day's partition is dropped, the rest untouched.
    expect(await store.decisions.removeExpired()).toBe(1);
    expect(await store.decisions.removeExpired()).toBe(0);
    expect((await store.decisions.partitions()).map((p) => p.day)).toEqual(['2026-03-02', '2026-03-03']);
    const kept = await cluster().query<{ n: string }>(
      settings.postgres.database,
      'SELECT count(*) AS n FROM authzd_decisions',
    );
    expect(Number(kept[0]!.n)).toBe(3);
    expect(utcDay(clock.ms)).toBe('2026-03-03');
  });
});

describe('PostgreSQL store health', () => {
  it('goes unhealthy when its connections are cut or the server stops, and recovers by itself', async () => {
    const settings = await fresh('health');
    const store = await open(settings, { healthCheckMs: 200 });
    const history: boolean[] = [];
    store.onHealthChange((healthy) => history.push(healthy));
    expect(store.healthy).toBe(true);

    // A failover or a network cut: the server ends every session.
    await cluster().terminateConnections(settings.postgres.database);
    await until('the store to notice and reconnect', () => (history.join() === 'false,true' ? true : undefined));
    expect(store.healthy).toBe(true);

    await cluster().stop();
    try {
      await until('the store to go unhealthy', () => (store.healthy ? undefined : true));
      await expect(store.bundles.readPointer()).rejects.toThrow();
    } finally {
      await cluster().start();
    }
    await until('the store to be healthy again', () => (store.healthy ? true : undefined), 30_000);
    // Queries work again on the same pool: nothing had to be restarted.
    expect(await store.bundles.readPointer()).toBeUndefined();
    expect(history.slice(-2)).toEqual([false, true]);
  });
});
