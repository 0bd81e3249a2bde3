import { describe, expect, it } from 'vitest';

import { BundleFollower } from '../../../src/bundle/bundle-follower.js';
import { BundleRejectedError } from '../../../src/bundle/bundle-rejections.js';
import { ConfigSchema } from '../../../src/config/config-schema.js';
import { createLogger } from '../../../src/telemetry/create-logger.js';

const config = {
  ...ConfigSchema.parse({}).bundle,
  url: 'http://bundles.test/v1/bundles/default',
  publicKeys: [{ file: 'k.pem' }],
  minBackoffMs: 100,
  maxBackoffMs: 1000,
};

/** Runs the follower against scripted answers; records each wait it asks for; stops after `limit` requests. */
async function drive(
  answers: (call: number, headers: Headers, url: URL) => Response | Error,
  limit: number,
  activate = async (_b: Uint8Array) => ({ revision: 1, digest: 'd', kid: 'k', created: '', scope: 'default' }),
) {
  const delays: number[] = [];
  const seen: { url: URL; headers: Headers }[] = [];
  const failures: unknown[] = [];
  let calls = 0;
  let follower: BundleFollower;
  const stopped = new Promise<void>((resolve) => {
    follower = new BundleFollower({
      config,
      logger: createLogger('silent'),
      token: 'read-token-123',
      activate,
      onFailure: (f) => failures.push(f),
      sleep: async (ms) => {
        delays.push(ms);
      },
      fetch: (async (input: URL, init: RequestInit) => {
        const headers = new Headers(init.headers);
        seen.push({ url: new URL(input), headers });
        if (++calls >= limit) {
          void follower.stop();
          resolve();
        }
        const answer = answers(calls, headers, new URL(input));
        if (answer instanceof Error) throw answer;
        return answer;
      }) as typeof fetch,
    });
    follower.start();
  });
  await stopped;
  await follower!.stop();
  return { delays, seen, failures, follower: follower! };
}

const bundle = (etag: string) => new Response(new Uint8Array([1, 2, 3]), { status: 200, headers: { etag } });

describe('BundleFollower', () => {
  it('sends the ETag and a wait after the first bundle, and the read token', async () => {
    const { seen } = await drive((call) => (call === 1 ? bundle('"r1"') : new Response(null, { status: 304 })), 3);
    expect(seen[0].url.searchParams.has('wait')).toBe(false);
    expect(seen[0].headers.get('if-none-match')).toBeNull();
    expect(seen[1].url.searchParams.get('wait')).toBe('30');
    expect(seen[1].headers.get('if-none-match')).toBe('"r1"');
    expect(seen[1].headers.get('authorization')).toBe('Bearer read-token-123');
  });

  it('polls at the interval against a server that does not hold requests, instead of spinning', async () => {
    const { delays } = await drive((call) => (call === 1 ? bundle('"r1"') : new Response(null, { status: 304 })), 5);
    expect(delays.slice(1)).toEqual([10_000, 10_000, 10_000].slice(0, delays.length - 1));
    expect(delays.length).toBeGreaterThanOrEqual(3);
  });

  it('backs off exponentially with jitter on failures, and resets after a success', async () => {
    const { delays, failures } = await drive((call) => (call <= 4 ? new TypeError('fetch failed') : bundle('"r1"')), 6);
    expect(failures).toHaveLength(4);
    expect(failures[0]).toEqual({ stage: 'fetch', reason: 'network' });
    const ceilings = [100, 200, 400, 800];
    delays.slice(0, 4).forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(ceilings[i] / 2);
      expect(d).toBeLessThanOrEqual(ceilings[i]);
    });
  });

  it('after a rejected bundle, waits for the next revision instead of downloading the same one again', async () => {
    const { seen, failures, follower } = await drive(
      (call) => (call === 1 ? bundle('"bad"') : new Response(null, { status: 304 })),
      3,
      async () => {
        throw new BundleRejectedError('bundle_signature_invalid', 'bad signature');
      },
    );
    expect(failures[0]).toEqual({ stage: 'verify', reason: 'bundle_signature_invalid' });
    expect(seen[1].headers.get('if-none-match')).toBe('"bad"');
    expect(follower.revision).toBeUndefined();
  });

  it('counts an HTTP error status and an oversized body as fetch failures', async () => {
    const { failures } = await drive(
      (call) =>
        call === 1
          ? new Response('no', { status: 503 })
          : new Response('x', { status: 200, headers: { 'content-length': String(1 << 30) } }),
      3,
    );
    expect(failures.slice(0, 2)).toEqual([
      { stage: 'fetch', reason: 'http_status' },
      { stage: 'fetch', reason: 'too_large' },
    ]);
  });
});

describe('BundleFollower.stop', () => {
  it('cancels a long poll in flight instead of waiting out its hold time', async () => {
    let aborted = false;
    let started!: () => void;
    const polling = new Promise<void>((resolve) => (started = resolve));
    const follower = new BundleFollower({
      config,
      logger: createLogger('silent'),
      token: undefined,
      activate: async () => ({ revision: 1, digest: 'd', kid: 'k', created: '', scope: 'default' }),
      fetch: ((_url: URL, init: RequestInit) =>
        new Promise((_resolve, reject) => {
          started();
          init.signal!.addEventListener('abort', () => {
            aborted = true;
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          });
        })) as typeof fetch,
    });
    follower.start();
    await polling;
    await follower.stop();
    expect(aborted).toBe(true);
  });
});
