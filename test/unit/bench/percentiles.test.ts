import { describe, expect, it } from 'vitest';

import { percentile, summarize } from '../../../bench/lib/percentiles.mjs';

describe('percentile (nearest rank)', () => {
  const oneToThousand = Array.from({ length: 1000 }, (_, i) => i + 1);

  it('picks the value at ceil(p/100 * n)', () => {
    expect(percentile(oneToThousand, 50)).toBe(500);
    expect(percentile(oneToThousand, 95)).toBe(950);
    expect(percentile(oneToThousand, 99)).toBe(990);
    expect(percentile(oneToThousand, 99.9)).toBe(999);
    expect(percentile(oneToThousand, 100)).toBe(1000);
    expect(percentile(oneToThousand, 0)).toBe(1);
  });

  it('is NaN for no values and the value itself for one', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(percentile([4.2], 99.9)).toBe(4.2);
  });
});

describe('summarize', () => {
  it('sorts numerically (not as strings) before taking percentiles', () => {
    const s = summarize([10, 9, 100, 2, 1]);
    expect(s).toMatchObject({ count: 5, min: 1, p50: 9, max: 100, mean: 24.4 });
  });

  it('sees the one slow call in a thousand at p99.9, not at p99', () => {
    const values = [...Array.from({ length: 999 }, () => 1), 50];
    const s = summarize(values);
    expect(s.p99).toBe(1);
    expect(s.p999).toBe(1);
    expect(s.max).toBe(50);
    const s2 = summarize([...values, 50]);
    expect(s2.p999).toBe(50);
  });
});
