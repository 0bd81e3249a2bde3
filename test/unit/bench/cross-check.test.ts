import { describe, expect, it } from 'vitest';

import {
  cacheHitRatios,
  compareMix,
  crossCheckCounts,
  expectedCounts,
  splitServerCounts,
} from '../../../bench/lib/cross-check.mjs';

describe('crossCheckCounts', () => {
  it('agrees when the server answered what the client counted, within the in-flight slack', () => {
    const check = crossCheckCounts({
      tool: 'h2load',
      clientOk: 1000,
      serverByKey: { 'allow|policy_allowed': 1020, 'deny|policy_denied': 12 },
      slack: 32,
    });
    expect(check).toMatchObject({ ok: true, serverAnswered: 1032, difference: 32 });
  });

  it('flags an h2load run whose "successes" were gRPC errors inside HTTP 200', () => {
    const check = crossCheckCounts({
      tool: 'h2load',
      clientOk: 5000,
      serverByKey: { 'error|policy_unavailable': 5000 },
      slack: 32,
    });
    expect(check.ok).toBe(false);
    expect(check.problems.join('\n')).toMatch(/h2load counted 5000 successful calls but the server answered 0/);
    expect(check.problems.join('\n')).toMatch(/5000 calls with a gRPC error/);
  });

  it('flags calls the server never saw', () => {
    expect(crossCheckCounts({ tool: 'ghz', clientOk: 900, serverByKey: { 'allow|ok': 100 }, slack: 0 }).ok).toBe(false);
  });
});

describe('splitServerCounts', () => {
  it('separates answered decisions from gRPC errors', () => {
    expect(splitServerCounts({ 'allow|x': 2, 'deny|y': 3, 'error|internal_error': 1 })).toEqual({
      answered: 5,
      errors: 1,
      total: 6,
    });
  });
});

describe('expectedCounts and compareMix', () => {
  const expectations = ['allow|policy_allowed', 'allow|policy_allowed', 'deny|token_expired'];

  it('follows ghz’s order: call i sends message i mod n', () => {
    expect(expectedCounts(expectations, 7)).toEqual({ 'allow|policy_allowed': 5, 'deny|token_expired': 2 });
    expect(expectedCounts(expectations, 0)).toEqual({});
  });

  it('accepts differences within the slack and reports the rest per key', () => {
    const expected = { 'allow|policy_allowed': 500, 'deny|token_expired': 250 };
    expect(compareMix(expected, { 'allow|policy_allowed': 498, 'deny|token_expired': 252 }, 4).ok).toBe(true);
    const off = compareMix(expected, { 'allow|policy_allowed': 500, 'deny|token_invalid_signature': 250 }, 4);
    expect(off.ok).toBe(false);
    expect(off.problems).toEqual([
      'deny|token_expired: expected 250, server counted 0',
      'deny|token_invalid_signature: expected 0, server counted 250',
    ]);
  });
});

describe('cacheHitRatios', () => {
  it('computes each cache’s hit ratio over the run from counter snapshots', () => {
    const before = { hits: { token: 100, decision: 10 }, misses: { token: 5, decision: 90 } };
    const after = { hits: { token: 1100, decision: 10 }, misses: { token: 5, decision: 190 } };
    expect(cacheHitRatios(before, after)).toEqual({
      token: { hits: 1000, misses: 0, ratio: 1 },
      decision: { hits: 0, misses: 100, ratio: 0 },
    });
  });

  it('is empty for a server without cache metrics', () => {
    expect(cacheHitRatios({ hits: {}, misses: {} }, { hits: {}, misses: {} })).toEqual({});
  });
});

describe('compareMix with load-dependent answers', () => {
  const expected = { 'allow|policy_allowed': 900, 'deny|step_up_required': 100 };

  it('notes calls moved to rate_limited instead of calling it a mismatch', () => {
    const result = compareMix(
      expected,
      { 'allow|policy_allowed': 850, 'deny|step_up_required': 90, 'deny|rate_limited': 60 },
      2,
      { absorbing: ['deny|rate_limited'] },
    );
    expect(result).toMatchObject({ ok: true, problems: [] });
    expect(result.notes).toEqual([
      '60 calls (6.0%) were answered deny|rate_limited instead of their usual answer: load-dependent, not a mismatch',
    ]);
  });

  it('still reports answers that rate limiting cannot explain', () => {
    const result = compareMix(
      expected,
      { 'allow|policy_allowed': 850, 'deny|policy_denied': 90, 'deny|rate_limited': 60 },
      2,
      { absorbing: ['deny|rate_limited'] },
    );
    expect(result.ok).toBe(false);
    expect(result.problems).toContain('deny|policy_denied: expected 0, server counted 90');
    expect(result.notes).toEqual([]);
  });
});
