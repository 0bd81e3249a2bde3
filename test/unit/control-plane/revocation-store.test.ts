import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { RevocationStore } from '../../../src/control-plane/revocation-store.js';
import type { RevocationRequest } from '../../../src/revocation/revocation-entry.js';

const T0 = 1_800_000_000_000;
const tempDir = () => mkdtempSync(path.join(tmpdir(), 'authzd-revocations-'));
const clock = (start = T0) => {
  const c = { ms: start, now: () => c.ms };
  return c;
};
const jti = (value: string, expiresAt: number): RevocationRequest => ({ kind: 'jti', value, expiresAt });
const files = (dir: string) => readdirSync(path.join(dir, 'entries')).sort();

describe('RevocationStore', () => {
  it('numbers entries from 1 and serves them from a cursor', async () => {
    const dir = tempDir();
    const store = await RevocationStore.open({ dir, now: clock().now });
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
    expect(files(dir)).toEqual(['0000000000000001.json', '0000000000000002.json']);
  });

  it('keeps live entries and the sequence across a restart', async () => {
    const dir = tempDir();
    const c = clock();
    const first = await RevocationStore.open({ dir, now: c.now });
    await first.add(jti('a', T0 / 1000 + 600));
    await first.add(jti('b', T0 / 1000 + 600));
    const reopened = await RevocationStore.open({ dir, now: c.now });
    expect(reopened.seq).toBe(2);
    expect(reopened.feed).toBe(first.feed);
    expect(reopened.page(0).entries.map((e) => e.value)).toEqual(['a', 'b']);
    expect((await reopened.add(jti('c', T0 / 1000 + 600))).seq).toBe(3);
  });

  it('hides expired entries at once, deletes them after the grace, never deletes the newest, and resets clients behind', async () => {
    const dir = tempDir();
    const c = clock();
    const store = await RevocationStore.open({ dir, now: c.now, graceSeconds: 60 });
    const now = () => Math.floor(c.ms / 1000);
    await store.add(jti('short', now() + 10));
    await store.add(jti('long', now() + 10_000));
    await store.add(jti('newest-short', now() + 10));
    c.ms += 20_000;
    // Expired but within the grace: no longer served, still on disk.
    expect(store.page(0).entries.map((e) => e.value)).toEqual(['long']);
    expect(store.liveCount).toBe(1);
    expect(await store.compact()).toBe(0);
    c.ms += 60_000;
    expect(await store.compact()).toBe(1);
    // seq 3 is expired too but is the newest number: it stays so the number is never issued again.
    expect(files(dir)).toEqual(['0000000000000002.json', '0000000000000003.json']);
    expect(store.page(0)).toMatchObject({ seq: 3, reset: true });
    // A client at since=1 had seen the compacted entry already: a delta is still complete for it.
    expect(store.page(1)).toMatchObject({ reset: false });
    expect((await store.add(jti('next', now() + 100))).seq).toBe(4);

    const restarted = await RevocationStore.open({ dir, now: c.now, graceSeconds: 60 });
    expect(restarted.seq).toBe(4);
    expect(restarted.page(0).entries.map((e) => e.value)).toEqual(['long', 'next']);
  });

  it('tells a client behind a compacted entry to reset', async () => {
    const dir = tempDir();
    const c = clock();
    const store = await RevocationStore.open({ dir, now: c.now, graceSeconds: 0 });
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

  it('two stores on one directory never hand out the same number, and each picks up the other', async () => {
    const dir = tempDir();
    const c = clock();
    const [a, b] = await Promise.all([
      RevocationStore.open({ dir, now: c.now }),
      RevocationStore.open({ dir, now: c.now }),
    ]);
    // Opened together on a fresh directory, they still agree on one feed id.
    expect(a.feed).toBe(b.feed);
    const expiresAt = T0 / 1000 + 600;
    const added = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).add(jti(`t${i}`, expiresAt))),
    );
    const seqs = added.map((e) => e.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(files(dir)).toHaveLength(40);
    await a.scan();
    await b.scan();
    for (const store of [a, b]) {
      const page = store.page(0);
      expect(page.seq).toBe(40);
      expect(new Set(page.entries.map((e) => e.value)).size).toBe(40);
    }
    // Each file holds the entry its number was handed out for.
    const byValue = new Map(added.map((e) => [e.value, e.seq]));
    for (const entry of a.page(0).entries) expect(entry.seq).toBe(byValue.get(entry.value));
  });

  it('follows another replica by watching the directory', async () => {
    const dir = tempDir();
    const a = await RevocationStore.open({ dir });
    const b = await RevocationStore.open({ dir });
    const stop = b.watch({ rescanMs: 60_000 });
    let notified = 0;
    b.onChange(() => notified++);
    try {
      await a.add(jti('from-a', Math.floor(Date.now() / 1000) + 600));
      await expect.poll(() => b.seq).toBe(1);
      expect(b.page(0).entries.map((e) => e.value)).toEqual(['from-a']);
      expect(notified).toBeGreaterThan(0);
    } finally {
      stop();
    }
  });

  it('skips an unreadable entry file but never reuses its number', async () => {
    const dir = tempDir();
    const store = await RevocationStore.open({ dir });
    writeFileSync(path.join(dir, 'entries', '0000000000000001.json'), '{not json');
    await store.scan();
    expect(store.page(0)).toEqual({ feed: store.feed, seq: 1, reset: true, entries: [] });
    expect((await store.add(jti('x', Math.floor(Date.now() / 1000) + 60))).seq).toBe(2);
  });

  it('gets a new feed id when its storage is lost, and refuses a damaged feed.json by name', async () => {
    const dir = tempDir();
    const first = await RevocationStore.open({ dir });
    const lost = await RevocationStore.open({ dir: tempDir() });
    expect(lost.feed).not.toBe(first.feed);
    writeFileSync(path.join(dir, 'feed.json'), '{"feed": 7}');
    await expect(RevocationStore.open({ dir })).rejects.toThrow(
      /feed\.json: unreadable .*delete it to start a new feed/,
    );
  });

  it('refuses a directory it cannot use, naming it', async () => {
    const file = path.join(tempDir(), 'not-a-dir');
    writeFileSync(file, '');
    await expect(RevocationStore.open({ dir: file })).rejects.toThrow(`${file}: not usable for revocations`);
  });
});
