import { describe, expect, it } from 'vitest';

import { RateLimiter } from '../../../src/check/rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the sustained rate', () => {
    const limiter = new RateLimiter(100);
    const rate = { rps: 2, burst: 3 };
    expect([0, 1, 2].map(() => limiter.take('k', rate, 0))).toEqual([0, 0, 0]);
    expect(limiter.take('k', rate, 0)).toBe(1); // empty: one token in 0.5 s, rounded up to 1 s
    expect(limiter.take('k', rate, 500)).toBe(0);
    expect(limiter.take('k', rate, 500)).toBe(1);
    expect(limiter.take('other', rate, 500)).toBe(0); // keys are independent
  });

  it('reports the wait until the next token for slow rates', () => {
    const limiter = new RateLimiter(100);
    const rate = { rps: 0.1, burst: 1 };
    expect(limiter.take('k', rate, 0)).toBe(0);
    expect(limiter.take('k', rate, 1_000)).toBe(9);
  });

  it('stays bounded in keys', () => {
    const limiter = new RateLimiter(10);
    for (let i = 0; i < 100; i++) limiter.take(`k${i}`, { rps: 1, burst: 1 }, 0);
    expect(limiter.size).toBe(10);
  });
});
