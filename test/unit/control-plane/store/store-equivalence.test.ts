// The two stores are two implementations of one meaning: on generated sequences of operations (revocations
// added, time passing, compaction, pages read from every cursor; bundle commits racing for numbers, prunes)
// the directory store and the PostgreSQL store must give the same answers. Feed ids differ by design (each
// store makes its own); everything else must match.
import { createHash } from 'node:crypto';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import type { ControlPlaneStore } from '../../../../src/control-plane/store/control-plane-store.js';
import type { RevocationFeedPage } from '../../../../src/revocation/revocation-entry.js';
import { freshStoreSettings, openTestStore } from '../../../helpers/control-plane-stores.js';
import { usePostgresCluster } from '../../../helpers/postgres-cluster.js';

const cluster = usePostgresCluster();
const T0 = 1_800_000_000_000;
const opened: ControlPlaneStore[] = [];
afterAll(async () => {
  for (const store of opened.splice(0)) await store.close();
});

type Op =
  | { op: 'add'; kind: 'jti' | 'sid' | 'sub'; value: string; ttl: number; issuedBefore?: number }
  | { op: 'advance'; seconds: number }
  | { op: 'compact' }
  | { op: 'commit'; revision: number; content: string }
  | { op: 'prune'; keep: number };

const ops = fc.array(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record(
        {
          op: fc.constant('add' as const),
          kind: fc.constantFrom('jti' as const, 'sid' as const, 'sub' as const),
          value: fc.stringMatching(/^[a-z]{1,4}$/),
          ttl: fc.integer({ min: 1, max: 200 }),
          issuedBefore: fc.integer({ min: 0, max: 100 }),
        },
        { requiredKeys: ['op', 'kind', 'value', 'ttl'] },
      ),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 150 }) }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('compact' as const) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('commit' as const),
        revision: fc.integer({ min: 1, max: 8 }),
        content: fc.constantFrom('a', 'b', 'c'),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('prune' as const), keep: fc.integer({ min: 1, max: 3 }) }) },
  ),
  { minLength: 1, maxLength: 25 },
);

/** What a store answers to `ops`, step by step: everything a client or the publisher could observe. */
async function run(store: ControlPlaneStore, clock: { ms: number }, sequence: readonly Op[]): Promise<unknown[]> {
  const seen: unknown[] = [];
  const pages = () => {
    const out: Omit<RevocationFeedPage, 'feed'>[] = [];
    for (let since = 0; since <= store.revocations.seq + 1; since++) {
      const { feed: _feed, ...page } = store.revocations.page(since);
      out.push(page);
    }
    return out;
  };
  for (const step of sequence) {
    switch (step.op) {
      case 'add': {
        const now = Math.floor(clock.ms / 1000);
        const entry = await store.revocations.add({
          kind: step.kind,
          value: step.value,
          expiresAt: now + step.ttl,
          ...(step.kind === 'sub' ? { issuedBefore: now - (step.issuedBefore ?? 0) } : {}),
        });
        seen.push(['add', entry]);
        break;
      }
      case 'advance':
        clock.ms += step.seconds * 1000;
        break;
      case 'compact':
        seen.push(['compact', await store.revocations.compact()]);
        break;
      case 'commit': {
        const bytes = new TextEncoder().encode(step.content);
        const digest = createHash('sha256').update(bytes).digest('hex');
        seen.push(['commit', step.revision, await store.bundles.commit(step.revision, bytes, digest)]);
        break;
      }
      case 'prune': {
        const pointer = await store.bundles.readPointer();
        seen.push(['prune', await store.bundles.prune(step.keep, pointer?.revision ?? 0)]);
        break;
      }
    }
    seen.push(['pages', store.revocations.seq, store.revocations.liveCount, pages()]);
    const pointer = await store.bundles.readPointer();
    seen.push(['bundles', await store.bundles.revisions(), pointer]);
    if (pointer !== undefined)
      seen.push(['served', new TextDecoder().decode(await store.bundles.read(pointer.revision))]);
  }
  // A replica opened now on the same store sees what the first one does.
  const reopened = await openTestStore(
    store.kind === 'directory' ? { kind: 'directory', directory: store.description } : settingsOf(store),
    {
      now: () => clock.ms,
      revocationGraceSeconds: 60,
    },
  );
  opened.push(reopened);
  await reopened.revocations.compact();
  seen.push(['reopened', reopened.revocations.seq, reopened.revocations.page(0).entries]);
  return seen;
}

const postgresSettings = new Map<ControlPlaneStore, Awaited<ReturnType<typeof freshStoreSettings>>>();
const settingsOf = (store: ControlPlaneStore) => postgresSettings.get(store)!;

describe('the directory and PostgreSQL stores', () => {
  it('answer every generated sequence of operations alike', async () => {
    await fc.assert(
      fc.asyncProperty(ops, async (sequence) => {
        const answers: unknown[][] = [];
        for (const kind of ['directory', 'postgres'] as const) {
          const clock = { ms: T0 };
          const settings = await freshStoreSettings(kind, cluster, 'equivalence');
          const store = await openTestStore(settings, { now: () => clock.ms, revocationGraceSeconds: 60 });
          opened.push(store);
          if (kind === 'postgres') postgresSettings.set(store, settings);
          answers.push(await run(store, clock, sequence));
          await store.close();
        }
        expect(answers[1]).toEqual(answers[0]);
      }),
      { numRuns: 60 },
    );
  }, 300_000);
});
