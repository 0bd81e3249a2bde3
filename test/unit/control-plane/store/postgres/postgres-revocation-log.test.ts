// PostgreSQL's revocation sequence under concurrency: an entry whose transaction commits late is never
// skipped by a cursor (the feed row's lock orders the commits), shown with a writer held open on purpose and
// with concurrent writers on three replicas followed by a fourth. The behaviour both stores share:
// ../revocation-log.test.ts.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

import type { ControlPlaneStore } from '../../../../../src/control-plane/store/control-plane-store.js';
import type { StoreSettings } from '../../../../../src/control-plane/store/open-control-plane-store.js';
import type { RevocationEntry } from '../../../../../src/revocation/revocation-entry.js';
import { freshStoreSettings, openTestStore } from '../../../../helpers/control-plane-stores.js';
import { CLUSTER_USER, usePostgresCluster } from '../../../../helpers/postgres-cluster.js';
import { until } from '../../../../helpers/until.js';

const cluster = usePostgresCluster();
const opened: ControlPlaneStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});
const open = async (settings: StoreSettings) => {
  const store = await openTestStore(settings);
  opened.push(store);
  return store;
};
const expiresAt = () => Math.floor(Date.now() / 1000) + 3_600;

describe('the PostgreSQL revocation log', () => {
  it('never lets a cursor pass an entry whose transaction has not committed yet', async () => {
    const settings = await freshStoreSettings('postgres', cluster, 'late');
    if (settings.kind !== 'postgres') throw new Error('unreachable');
    const writer = await open(settings);
    const follower = await open(settings);
    // A writer that took number 1 and has not committed: what a replica mid-insert looks like to the others.
    const slow = new pg.Client({
      host: '127.0.0.1',
      port: cluster().port,
      user: CLUSTER_USER,
      database: settings.postgres.database,
    });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(
        `WITH next AS (UPDATE authzd_revocation_feed SET seq = seq + 1 RETURNING seq)
         INSERT INTO authzd_revocations (seq, kind, value, expires_at, created_at)
         SELECT next.seq, 'jti', 'slow', $1, 0 FROM next`,
        [expiresAt()],
      );
      // Another replica revokes meanwhile: it must wait for number 1 to commit before it gets number 2.
      const fast = writer.revocations.add({ kind: 'jti', value: 'fast', expiresAt: expiresAt() });
      await until('the second writer to wait for the first', async () => {
        const rows = await cluster().query<{ n: string }>(
          settings.postgres.database,
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
          [settings.postgres.database],
        );
        return Number(rows[0]!.n) > 0 ? true : undefined;
      });
      // Nothing is visible yet: a follower's cursor stays at 0, not at 2 with 1 missing.
      await follower.revocations.scan();
      expect(follower.revocations.seq).toBe(0);
      await slow.query('COMMIT');
      expect((await fast).seq).toBe(2);
      await follower.revocations.scan();
      expect(follower.revocations.page(0).entries.map((e) => [e.seq, e.value])).toEqual([
        [1, 'slow'],
        [2, 'fast'],
      ]);
    } finally {
      await slow.end();
    }
  });

  it('gives a follower every entry exactly once while three replicas write concurrently', async () => {
    const settings = await freshStoreSettings('postgres', cluster, 'concurrent');
    const writers = await Promise.all([open(settings), open(settings), open(settings)]);
    const follower = (await open(settings)).revocations;
    const perWriter = 40;
    let writing = true;
    const seen = new Map<number, RevocationEntry>();
    let duplicates = 0;
    let resets = 0;
    // The follower does what a sidecar's long poll does: page from its cursor, move the cursor to `seq`.
    const follow = (async () => {
      let since = 0;
      for (let more = true; more;) {
        more = writing;
        await follower.scan();
        const page = follower.page(since, follower.feed);
        if (page.reset && since !== 0) resets++;
        for (const entry of page.entries) {
          if (seen.has(entry.seq)) duplicates++;
          seen.set(entry.seq, entry);
        }
        since = page.seq;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all(
      writers.map((w, i) =>
        Promise.all(
          Array.from({ length: perWriter }, (_, n) =>
            w.revocations.add({ kind: 'jti', value: `w${i}-${n}`, expiresAt: expiresAt() }),
          ),
        ),
      ),
    );
    writing = false;
    await follow;
    const total = writers.length * perWriter;
    expect(resets).toBe(0);
    expect(duplicates).toBe(0);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set([...seen.values()].map((e) => e.value)).size).toBe(total);
  });
});
