import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigSchema } from '../../../src/config/config-schema.js';
import { RevocationCache, serializePersistedRevocations } from '../../../src/revocation/revocation-cache.js';
import type { RevocationFeedPage } from '../../../src/revocation/revocation-entry.js';
import { RevocationFollower, type RevocationResetCause } from '../../../src/revocation/revocation-follower.js';
import { RevocationList } from '../../../src/revocation/revocation-list.js';
import { createLogger } from '../../../src/telemetry/create-logger.js';

const T0 = 1_800_000_000_000;
const entry = (seq: number, value: string) => ({
  seq,
  kind: 'jti' as const,
  value,
  expiresAt: T0 / 1000 + 3600,
  createdAt: T0 / 1000,
});

/** A feed that answers `pages` in order, then holds every request until it is aborted; it records the URLs asked. */
function fakeFeed(pages: (RevocationFeedPage | 'fail')[]) {
  const asked: URL[] = [];
  const fetch = (async (input: string | URL, init?: RequestInit) => {
    asked.push(new URL(String(input)));
    const next = pages.shift();
    if (next === 'fail') throw new TypeError('fetch failed');
    if (next !== undefined) return new Response(JSON.stringify(next), { status: 200 });
    return new Promise<Response>((_, reject) =>
      init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
    );
  }) as typeof globalThis.fetch;
  return { fetch, asked };
}

function follower(pages: (RevocationFeedPage | 'fail')[], options: { cache?: RevocationCache; maxAge?: number } = {}) {
  const clock = { ms: T0 };
  const feed = fakeFeed(pages);
  const list = new RevocationList();
  const resets: RevocationResetCause[] = [];
  const config = ConfigSchema.parse({
    revocation: {
      url: 'http://cp.test/v1/revocations',
      cacheMaxAgeSeconds: options.maxAge ?? 60,
      minBackoffMs: 10,
      maxBackoffMs: 100,
    },
  }).revocation;
  const f = new RevocationFollower({
    config: { ...config, url: config.url! },
    list,
    logger: createLogger('silent'),
    token: undefined,
    cache: options.cache,
    onChange: () => {},
    onReset: (cause) => resets.push(cause),
    now: () => clock.ms,
    fetch: feed.fetch,
  });
  return { f, list, clock, feed, resets };
}

const settle = async (pred: () => boolean) => {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(pred()).toBe(true);
};

describe('RevocationFollower', () => {
  it('reports a feed never reached as lag since start-up, and as not ready, never as 0', async () => {
    const { f, clock } = follower(['fail', 'fail', 'fail']);
    expect(f.lagMs()).toBe(0);
    clock.ms += 90_000;
    expect(f.lagMs()).toBe(90_000);
    expect(f.synced).toBe(false);
    expect(f.problem()).toBe(
      'the revocation feed has not answered yet and no revocation list is persisted (set revocation.cacheDir or bundle.cacheDir)',
    );
  });

  it('measures lag from the last answer, names its feed when it asks again, and counts a reset of another feed', async () => {
    const { f, list, clock, feed, resets } = follower([
      { feed: 'feed-a', seq: 2, reset: true, entries: [entry(1, 'one'), entry(2, 'two')] },
      { feed: 'feed-b', seq: 1, reset: true, entries: [entry(1, 'three')] },
    ]);
    clock.ms += 5_000;
    f.start();
    await settle(() => feed.asked.length === 3);
    await f.stop();
    expect(f.synced).toBe(true);
    expect(f.problem()).toBeUndefined();
    expect(f.lagMs()).toBe(0);
    clock.ms += 7_000;
    expect(f.lagMs()).toBe(7_000);
    expect(feed.asked.map((u) => [u.searchParams.get('since'), u.searchParams.get('feed')])).toEqual([
      ['0', null],
      ['2', 'feed-a'],
      ['1', 'feed-b'],
    ]);
    // The first page (a client holding nothing) is not a reset worth counting; the new feed's is.
    expect(resets).toEqual(['feed_changed']);
    expect(list.size).toBe(3);
  });

  it('takes up a persisted list: its entries count, its age decides readiness, and its sync time is the lag', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-follower-'));
    const cache = new RevocationCache(path.join(dir, 'revocations.json'));
    const { writeFileSync } = await import('node:fs');
    const syncedAt = Date.now() - 30_000;
    writeFileSync(
      cache.file,
      serializePersistedRevocations({ feed: 'feed-a', seq: 4, syncedAt, entries: [entry(4, 'four')] }),
    );

    const fresh = follower([], { cache, maxAge: 60 });
    fresh.clock.ms = Date.now();
    expect(await fresh.f.loadCache()).toMatchObject({ kind: 'loaded' });
    expect([fresh.list.feed, fresh.list.seq, fresh.list.size]).toEqual(['feed-a', 4, 1]);
    expect(fresh.f.problem()).toBeUndefined();
    expect(Math.round(fresh.f.lagMs() / 1000)).toBe(30);

    const stale = follower([], { cache, maxAge: 10 });
    stale.clock.ms = Date.now();
    await stale.f.loadCache();
    expect(stale.list.size).toBe(1);
    expect(stale.f.problem()).toMatch(
      /^the revocation feed has not answered yet and the persisted revocation list at .* was last in sync at .*, longer ago than revocation\.cacheMaxAgeSeconds \(10\)$/,
    );
  });
});
