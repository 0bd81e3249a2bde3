import { describe, expect, it } from 'vitest';

import { type SoakResults, summarizeSoak } from '../../../bench/lib/soak-report.mjs';

const MiB = 2 ** 20;

/** A run of `rssBySegment.length` one-minute segments, five samples each at the given RSS (MiB). */
function run(rssBySegment: number[], extra: Partial<SoakResults> = {}): SoakResults {
  const segments = rssBySegment.map((_, i) => ({
    fromMs: i * 60_000,
    toMs: (i + 1) * 60_000,
    warm: { count: 1000, okCount: 1000 },
    cold: { count: 100, okCount: 100 },
  }));
  const samples = rssBySegment.flatMap((rss, i) =>
    [10, 20, 30, 40, 50].map((s) => ({
      at: i * 60_000 + s * 1000,
      rssBytes: rss * MiB,
      heapUsedBytes: 50 * MiB,
      lagMaxMs: 20,
      lagP99Ms: 12,
    })),
  );
  return {
    options: { segmentS: 60, churnS: 5, segments: segments.length, warmupSegments: 2 },
    segments,
    samples,
    churn: [
      { kind: 'publication', at: 1, appliedMs: 900, publishMs: 300 },
      { kind: 'publication', at: 3, appliedMs: 1500, publishMs: 1100 },
      { kind: 'revocation', at: 2, appliedMs: 40 },
    ],
    server: {
      byKey: { 'allow|policy_allowed': 11_000 },
      crossCheck: { problems: [] },
      mix: { problems: [], notes: [] },
    },
    ...extra,
  };
}

describe('summarizeSoak', () => {
  it('takes the memory baseline in the segment after the warm-up, so cache fill is not counted as growth', () => {
    // Caches fill during the first two minutes, then memory is flat.
    const s = summarizeSoak(run([200, 260, 270, 271, 270, 272]));
    expect(s.rss.baseline).toBe(270 * MiB);
    expect(s.rss.end).toBe(272 * MiB);
    expect(s.rss.growth).toBeCloseTo(2 / 270, 6);
    expect(s.targets.rssGrowthUnder10Percent).toBe(true);
  });

  it('separates the control plane’s publish call from the whole publish-to-active time', () => {
    const s = summarizeSoak(run([200, 260, 270, 271]));
    expect(s.publications).toMatchObject({ attempted: 2, applied: 2, maxMs: 1500, publishMaxMs: 1100 });
  });

  it('reports growth after the warm-up as missed', () => {
    const s = summarizeSoak(run([200, 260, 270, 290, 310, 330]));
    expect(s.rss.growth).toBeCloseTo(60 / 270, 6);
    expect(s.rss.slopePerMinute).toBeGreaterThan(15 * MiB);
    expect(s.targets.rssGrowthUnder10Percent).toBe(false);
  });

  it('keeps a segment after the baseline when the warm-up is as long as the run', () => {
    const r = run([200, 210, 220, 230]);
    r.options.warmupSegments = 10;
    const s = summarizeSoak(r);
    expect(s.rss.baseline).toBe(220 * MiB);
    expect(s.rss.end).toBe(230 * MiB);
  });

  it('counts client errors, server errors and churn failures as errors', () => {
    const r = run([200, 200, 200, 200], {
      churn: [{ kind: 'publication', at: 1, failed: 'revision 3 not active after 15 s' }],
      server: { byKey: { 'error|internal_error': 2 }, crossCheck: { problems: [] }, mix: { problems: [], notes: [] } },
    });
    r.segments[1].warm = { count: 1000, okCount: 997, errors: { 'rpc error: code = Unavailable': 3 } };
    const s = summarizeSoak(r);
    expect(s.errorCount).toBe(3 + 2 + 1);
    expect(s.targets.zeroErrors).toBe(false);
    expect(s.serverErrors).toEqual({ internal_error: 2 });
  });
});
