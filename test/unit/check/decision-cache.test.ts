import { describe, expect, it } from 'vitest';

import { DecisionCache, decisionKey } from '../../../src/check/decision-cache.js';
import type { CedarCall } from '../../../src/contract/cedar-call.js';

const call = (
  over: Partial<CedarCall> = {},
  attrs: Record<string, unknown> = { tenant: 'acme' },
  parents = [{ type: 'R', id: 'teller' }],
): CedarCall => {
  const principal = over.principal ?? { type: 'U', id: 'alice' };
  return {
    principal,
    action: { type: 'A', id: 'read' },
    resource: { type: 'D', id: 'd1' },
    context: { token: { scope: ['a'], acr: 'mfa', exp: 100 }, request: { time: 5 } },
    principalEntity: { uid: principal, attrs: attrs as never, parents },
    ...over,
  };
};
const READS = [
  { path: ['token', 'scope'], presence: false },
  { path: ['token', 'acr'], presence: false },
  { path: ['peer'], presence: true },
];
const key = (c: CedarCall, version = 'v1', epoch = 0) => decisionKey(version, epoch, c, READS);

describe('decisionKey', () => {
  it('changes with every input a decision depends on', () => {
    const base = key(call());
    const variants = [
      key(call(), 'v2'),
      key(call(), 'v1', 1),
      key(call({ principal: { type: 'U', id: 'bob' } })),
      key(call({}, { tenant: 'globex' })),
      key(call({}, { tenant: 'acme' }, [])),
      key(call({ action: { type: 'A', id: 'write' } })),
      key(call({ resource: { type: 'D', id: 'd2' } })),
      key(call({ resource: { type: 'E', id: 'd1' } })),
      key(call({ context: { token: { scope: ['a', 'b'], acr: 'mfa', exp: 100 }, request: { time: 5 } } })),
      key(call({ context: { token: { scope: ['a'], exp: 100 }, request: { time: 5 } } })),
    ];
    for (const v of variants) expect(v).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('keys a presence test on presence only', () => {
    const withPeer = (principal: string) =>
      call({ context: { token: { scope: ['a'], acr: 'mfa', exp: 100 }, request: { time: 5 }, peer: { principal } } });
    expect(key(withPeer('spiffe://a'))).toBe(key(withPeer('spiffe://b')));
    expect(key(withPeer('spiffe://a'))).not.toBe(key(call()));
  });

  it('ignores context the policies never read', () => {
    expect(key(call({ context: { token: { scope: ['a'], acr: 'mfa', exp: 999 }, request: { time: 77 } } }))).toBe(
      key(call()),
    );
  });

  it('cannot be forged by values that look like separators', () => {
    const a = key(call({ resource: { type: 'D', id: 'x","y' } }));
    const b = key(call({ resource: { type: 'D","x', id: 'y' } }));
    expect(a).not.toBe(b);
  });

  it('uses the whole context when reads is all', () => {
    expect(decisionKey('v', 0, call({ context: { request: { time: 6 } } }), 'all')).not.toBe(
      decisionKey('v', 0, call({ context: { request: { time: 5 } } }), 'all'),
    );
  });
});

describe('DecisionCache', () => {
  const evaluation = {
    allowed: true,
    reason: 'policy_allowed' as const,
    policies: ['p'],
    errors: [],
    detail: undefined,
  };

  it('serves an entry until its TTL, counts hits and misses', () => {
    const cache = new DecisionCache({ maxEntries: 10, maxBytes: 1 << 20 });
    cache.set('k', evaluation, 1000, 0);
    expect(cache.get('k', 999)).toBe(evaluation);
    expect(cache.get('k', 1000)).toBeUndefined();
    expect(cache.get('other', 0)).toBeUndefined();
    expect(cache.stats).toMatchObject({ hits: 1, misses: 2 });
  });

  it('never stores with a zero TTL, and stays within its bounds', () => {
    const cache = new DecisionCache({ maxEntries: 100, maxBytes: 10_000 });
    cache.set('zero', evaluation, 0, 0);
    expect(cache.get('zero', 0)).toBeUndefined();
    for (let i = 0; i < 1000; i++) cache.set(`key-${i}-${'x'.repeat(40)}`, evaluation, 60_000, 0);
    expect(cache.stats.entries).toBeLessThanOrEqual(100);
    expect(cache.stats.evictions).toBeGreaterThan(800);
  });
});
