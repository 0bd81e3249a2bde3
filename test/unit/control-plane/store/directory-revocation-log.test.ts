// What only the directory store does: one file per entry, unreadable files, feed.json, following another
// replica through fs.watch. The semantics both stores share: revocation-log.test.ts.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { DirectoryRevocationLog } from '../../../../src/control-plane/store/directory/directory-revocation-log.js';
import { DirectoryStore } from '../../../../src/control-plane/store/directory/directory-store.js';
import type { RevocationRequest } from '../../../../src/revocation/revocation-entry.js';
import { TEST_STORE_OPTIONS } from '../../../helpers/control-plane-stores.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'authzd-revocations-'));
const jti = (value: string, expiresAt: number): RevocationRequest => ({ kind: 'jti', value, expiresAt });
const files = (dir: string) => readdirSync(path.join(dir, 'entries')).sort();
const soon = () => Math.floor(Date.now() / 1000) + 600;

describe('DirectoryRevocationLog', () => {
  it('writes one file per entry, named by its number, and keeps the newest through compaction', async () => {
    const dir = tempDir();
    let ms = 1_800_000_000_000;
    const store = await DirectoryRevocationLog.open({ dir, now: () => ms, graceSeconds: 0 });
    await store.add(jti('a', ms / 1000 + 1));
    await store.add(jti('b', ms / 1000 + 1));
    expect(files(dir)).toEqual(['0000000000000001.json', '0000000000000002.json']);
    ms += 5_000;
    expect(await store.compact()).toBe(1);
    expect(files(dir)).toEqual(['0000000000000002.json']);
  });

  it('follows another replica through fs.watch, without waiting for the periodic rescan', async () => {
    const dir = tempDir();
    const options = { ...TEST_STORE_OPTIONS, pollMs: 600_000, revocationRescanMs: 600_000 };
    const a = await DirectoryStore.open(dir, options);
    const b = await DirectoryStore.open(dir, options);
    b.follow();
    b.changes.on('revocations', () => void b.revocations.scan());
    let notified = 0;
    b.revocations.onChange(() => notified++);
    try {
      await a.revocations.add(jti('from-a', soon()));
      await expect.poll(() => b.revocations.seq).toBe(1);
      expect(b.revocations.page(0).entries.map((e) => e.value)).toEqual(['from-a']);
      expect(notified).toBeGreaterThan(0);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('skips an unreadable entry file but never reuses its number', async () => {
    const dir = tempDir();
    const store = await DirectoryRevocationLog.open({ dir });
    writeFileSync(path.join(dir, 'entries', '0000000000000001.json'), '{not json');
    await store.scan();
    expect(store.page(0)).toEqual({ feed: store.feed, seq: 1, reset: true, entries: [] });
    expect((await store.add(jti('x', soon()))).seq).toBe(2);
  });

  it('refuses a damaged feed.json by name', async () => {
    const dir = tempDir();
    await DirectoryRevocationLog.open({ dir });
    writeFileSync(path.join(dir, 'feed.json'), '{"feed": 7}');
    await expect(DirectoryRevocationLog.open({ dir })).rejects.toThrow(
      /feed\.json: unreadable .*delete it to start a new feed/,
    );
  });

  it('refuses a directory it cannot use, naming it', async () => {
    const file = path.join(tempDir(), 'not-a-dir');
    writeFileSync(file, '');
    await expect(DirectoryRevocationLog.open({ dir: file })).rejects.toThrow(`${file}: not usable for revocations`);
  });
});
