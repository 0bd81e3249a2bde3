// The revocation log against both stores: numbering, cursors and resets, expiry and compaction, restarts,
// and two replicas on one store. PostgreSQL's late commits: postgres/postgres-revocation-log.test.ts; the
// directory's files: directory-revocation-log.test.ts.
import { afterEach, describe, expect, it } from 'vitest';

import type { ControlPlaneStore } from '../../../../src/control-plane/store/control-plane-store.js';
import type { StoreSettings } from '../../../../src/control-plane/store/open-control-plane-store.js';
import type { RevocationRequest } from '../../../../src/revocation/revocation-entry.js';
import { freshStoreSettings, openTestStore, STORE_KINDS } from '../../../helpers/control-plane-stores.js';
import { usePostgresCluster } from '../../../helpers/postgres-cluster.js';

const T0 = 1_800_000_000_000;
const cluster = usePostgresCluster();
const clock = (start = T0) => {
  const c = { ms: start, now: () => c.ms };
  return c;
};
const jti = (value: string, expiresAt: number): RevocationRequest => ({ kind: 'jti', value, expiresAt });
const opened: ControlPlaneStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

async function open(settings: StoreSettings, now: () => number = Date.now, graceSeconds = 300) {
  const store = await openTestStore(settings, { now, revocationGraceSeconds: graceSeconds });
  opened.push(store);
  return store.revocations;
}

describe.each(STORE_KINDS)('the revocation log on the %s store', (kind) => {
  const fresh = () => freshStoreSettings(kind, cluster, 'revocations');

  it('numbers entries from 1 and serves them from a cursor', async () => {
    const store = await open(await fresh(), clock().now);
    const feed = store.feed;
    expect(feed).toMatch(/^[0-9a-f-]{36}$/);
    expect(store.page(0)).toEqual({ feed, seq: 0, reset: true, entries: [] });
    const a = await store.add(jti('a', T0 / 1000 + 60));
    const b = await store.add({
      kind: 'sub',
      value: 'alice',
      issuedBefore: T0 / 1000,
      issuer: 'https://idp',
      expiresAt: T0 / 1000 + 60,
    });
    expect([a.seq, b.seq]).toEqual([1, 2]);
    expect(b).toEqual({
      seq: 2,
      kind: 'sub',
      value: 'alice',
      issuedBefore: T0 / 1000,
      issuer: 'https://idp',
      expiresAt: T0 / 1000 + 60,
      createdAt: T0 / 1000,
    });
    expect(store.page(1)).toEqual({ feed, seq: 2, reset: false, entries: [b] });
    expect(store.page(2)).toEqual({ feed, seq: 2, reset: false, entries: [] });
    expect(store.page(1, feed)).toEqual({ feed, seq: 2, reset: false, entries: [b] });
    expect(store.isCurrent(2)).toBe(true);
    expect(store.isCurrent(2, feed)).toBe(true);
    // since=0 and a cursor from a store that had more (wiped or another data directory) both reset.
    expect(store.page(0)).toEqual({ feed, seq: 2, reset: true, entries: [a, b] });
    expect(store.page(7)).toEqual({ feed, seq: 2, reset: true, entries: [a, b] });
    // So does a cursor counted in another feed, even one this store has reached: its numbers mean other entries.
    expect(store.page(1, 'another-feed')).toEqual({ feed, seq: 2, reset: true, entries: [a, b] });
    expect(store.isCurrent(2, 'another-feed')).toBe(false);
  });

  it('keeps live entries, the sequence and the feed id across a restart', async () => {
    const settings = await fresh();
    const c = clock();
    const first = await open(settings, c.now);
    await first.add(jti('a', T0 / 1000 + 600));
    await first.add(jti('b', T0 / 1000 + 600));
    const reopened = await open(settings, c.now);
    expect(reopened.seq).toBe(2);
    expect(reopened.feed).toBe(first.feed);
    expect(reopened.page(0).entries.map((e) => e.value)).toEqual(['a', 'b']);
    expect((await reopened.add(jti('c', T0 / 1000 + 600))).seq).toBe(3);
  });

  it('hides expired entries at once, deletes them after the grace, never deletes the newest, and resets clients behind', async () => {
    const settings = await fresh();
    const c = clock();
    const store = await open(settings, c.now, 60);
    const now = () => Math.floor(c.ms / 1000);
    await store.add(jti('short', now() + 10));
    await store.add(jti('long', now() + 10_000));
    await store.add(jti('newest-short', now() + 10));
    c.ms += 20_000;
    // Expired but within the grace: no longer served, still stored.
    expect(store.page(0).entries.map((e) => e.value)).toEqual(['long']);
    expect(store.liveCount).toBe(1);
    expect(await store.compact()).toBe(0);
    c.ms += 60_000;
    // seq 3 is expired too but is the newest number: it stays, as the directory store needs it.
    expect(await store.compact()).toBe(1);
    expect(store.page(0)).toMatchObject({ seq: 3, reset: true });
    // A client at since=1 had seen the compacted entry already: a delta is still complete for it.
    expect(store.page(1)).toMatchObject({ reset: false });
    expect((await store.add(jti('next', now() + 100))).seq).toBe(4);

    const restarted = await open(settings, c.now, 60);
    expect(restarted.seq).toBe(4);
    expect(restarted.page(0).entries.map((e) => e.value)).toEqual(['long', 'next']);
  });

  it('tells a client behind a compacted entry to reset', async () => {
    const c = clock();
    const store = await open(await fresh(), c.now, 0);
    const now = () => Math.floor(c.ms / 1000);
    await store.add(jti('keep', now() + 10_000));
    await store.add(jti('gone', now() + 1));
    await store.add(jti('keep-2', now() + 10_000));
    c.ms += 5_000;
    expect(await store.compact()).toBe(1);
    expect(store.page(1)).toEqual({
      feed: store.feed,
      seq: 3,
      reset: true,
      entries: [expect.objectContaining({ value: 'keep' }), expect.objectContaining({ value: 'keep-2' })],
    });
    expect(store.page(2)).toEqual({
      feed: store.feed,
      seq: 3,
      reset: false,
      entries: [expect.objectContaining({ value: 'keep-2' })],
    });
  });

  it('two replicas on one store never hand out the same number, agree on the feed, and each picks up the other', async () => {
    const settings = await fresh();
    const c = clock();
    const [a, b] = await Promise.all([open(settings, c.now), open(settings, c.now)]);
    // Opened together on a fresh store, they still agree on one feed id.
    expect(a.feed).toBe(b.feed);
    const expiresAt = T0 / 1000 + 600;
    const added = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).add(jti(`t${i}`, expiresAt))),
    );
    const seqs = added.map((e) => e.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await a.scan();
    await b.scan();
    for (const store of [a, b]) {
      const page = store.page(0);
      expect(page.seq).toBe(40);
      expect(new Set(page.entries.map((e) => e.value)).size).toBe(40);
    }
    // Each stored entry holds what its number was handed out for.
    const byValue = new Map(added.map((e) => [e.value, e.seq]));
    for (const entry of a.page(0).entries) expect(entry.seq).toBe(byValue.get(entry.value));
  });

  it("drops on one replica what another compacted, and resets that replica's clients behind it", async () => {
    const settings = await fresh();
    const c = clock();
    const a = await open(settings, c.now, 0);
    const b = await open(settings, c.now, 0);
    const now = () => Math.floor(c.ms / 1000);
    await a.add(jti('gone', now() + 1));
    await a.add(jti('keep', now() + 10_000));
    await b.scan();
    expect(b.page(0).entries).toHaveLength(2);
    c.ms += 5_000;
    expect(await a.compact()).toBe(1);
    await b.scan();
    expect(b.page(0).entries.map((e) => e.value)).toEqual(['keep']);
    expect(b.page(0)).toMatchObject({ seq: 2 });
    // A client at 1 had seen the compacted entry: its delta from b is complete.
    await a.add(jti('third', now() + 10_000));
    await b.scan();
    expect(b.page(1)).toMatchObject({ reset: false });
    expect(await a.compact()).toBe(0);
  });

  it('gets a new feed id when its storage is lost or replaced', async () => {
    const first = await open(await fresh());
    const lost = await open(await fresh());
    expect(lost.feed).not.toBe(first.feed);
  });
});
