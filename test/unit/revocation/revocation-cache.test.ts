import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  parsePersistedRevocations,
  RevocationCache,
  serializePersistedRevocations,
} from '../../../src/revocation/revocation-cache.js';
import type { RevocationEntry } from '../../../src/revocation/revocation-entry.js';
import { RevocationList } from '../../../src/revocation/revocation-list.js';

const NOW = Math.floor(Date.now() / 1000);
const entry = (seq: number, value: string, over: Partial<RevocationEntry> = {}): RevocationEntry => ({
  seq,
  kind: 'jti',
  value,
  expiresAt: NOW + 3600,
  createdAt: NOW,
  ...over,
});

describe('RevocationCache', () => {
  it('saves a list and loads it back, feed, position, sync time and entries', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'authzd-revcache-')), 'cache');
    const cache = new RevocationCache(path.join(dir, 'revocations.json'));
    expect(await cache.load()).toEqual({ kind: 'missing' });
    const list = new RevocationList();
    list.apply(
      {
        feed: 'feed-1',
        seq: 3,
        reset: true,
        entries: [entry(1, 'a'), entry(3, 'bob', { kind: 'sub', issuer: 'https://i', issuedBefore: NOW })],
      },
      NOW,
    );
    const syncedAt = Date.now() - 5_000;
    await cache.save(list, syncedAt);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(cache.file).mode & 0o777).toBe(0o600);
    const loaded = await cache.load();
    expect(loaded).toEqual({
      kind: 'loaded',
      list: { feed: 'feed-1', seq: 3, syncedAt, entries: expect.arrayContaining(list.entries(NOW)) },
    });
    const restored = new RevocationList();
    if (loaded.kind === 'loaded') restored.restore(loaded.list, NOW);
    expect([restored.feed, restored.seq, restored.size]).toEqual(['feed-1', 3, 2]);
  });

  it('refuses the whole file on any damage: a changed value, a cut, another format, a bad entry, a sync time in the future', () => {
    const good = serializePersistedRevocations({
      feed: 'feed-1',
      seq: 2,
      syncedAt: Date.now(),
      entries: [entry(1, 'tok-1'), entry(2, 'tok-2')],
    });
    expect(parsePersistedRevocations(good, Date.now())).toMatchObject({ kind: 'loaded' });
    const cases: [string, string][] = [
      [
        good.replace('"tok-1"', '"tok-7"'),
        'the SHA-256 of the content does not match: the file was altered or damaged',
      ],
      [
        good.replace('"seq":2,', '"seq":1,'),
        'the SHA-256 of the content does not match: the file was altered or damaged',
      ],
      [good.slice(0, good.length / 2), 'not JSON (cut short?)'],
      ['', 'not JSON (cut short?)'],
      [JSON.stringify({ format: 'something-else', list: {} }), 'not a authzd.revocations.v1 file'],
      [
        serializePersistedRevocations({
          feed: 'feed-1',
          seq: 1,
          syncedAt: Date.now(),
          entries: [{ ...entry(1, 'x'), kind: 'nope' as never }],
        }),
        'entries[0]: kind: expected one of jti, sid, sub',
      ],
      [
        serializePersistedRevocations({ feed: 'feed 1', seq: 1, syncedAt: Date.now(), entries: [] }),
        'feed: expected a feed id or null',
      ],
      [
        serializePersistedRevocations({ feed: undefined, seq: 1, syncedAt: Date.now() + 3_600_000, entries: [] }),
        'syncedAt lies in the future',
      ],
    ];
    for (const [text, detail] of cases)
      expect(parsePersistedRevocations(text, Date.now()), detail).toEqual({ kind: 'refused', detail });
  });

  it('names a file it cannot read', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-revcache-'));
    writeFileSync(path.join(dir, 'revocations.json'), '');
    // A directory where the file should be.
    expect(await new RevocationCache(dir).load()).toEqual({ kind: 'refused', detail: 'EISDIR' });
    expect(readFileSync(path.join(dir, 'revocations.json'), 'utf8')).toBe('');
  });
});
