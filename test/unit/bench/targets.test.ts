import { describe, expect, it } from 'vitest';
import { evaluateTargets } from '../../../bench/lib/targets.mjs';

const run = (rps: number, opts: { cpuUsPerCall?: number; halfP99?: number; rss?: number; cores?: number } = {}) => ({
  saturation: { rps, server: { cpuUsPerCall: opts.cpuUsPerCall ?? 500, cores: opts.cores ?? 0.99 } },
  half: { rps: rps / 2, latencyMs: { p99: opts.halfP99 ?? 5 } },
  server: { peakRssBytes: opts.rss ?? 100 * 2 ** 20 },
});

describe('evaluateTargets', () => {
  it('judges every target on the run’s own numbers', () => {
    const results = evaluateTargets({
      scenarios: {
        null: run(10_000),
        warm: run(6_500, { halfP99: 0.8 }),
        cold: run(1_000, { halfP99: 3 }),
        'policies-10': run(5_000),
        'policies-1000': run(2_400, { cpuUsPerCall: 400 }),
        'entities-100k': run(2_300, { cpuUsPerCall: 420, rss: 400 * 2 ** 20 }),
      },
      activationStall: { worstStallMs: 12, activations: [{}, {}] },
    });
    const t = Object.fromEntries(results.map((r) => [r.target, r]));
    expect(t['warm throughput ≥ 70% of the null server (one worker)']).toMatchObject({ met: false, measured: '65% with ghz (6,500 vs 10,000 calls/s)' });
    expect(t['warm: p99 at half saturation < 1 ms']!.met).toBe(true);
    expect(t['cold: p99 at half saturation < 2 ms']!.met).toBe(false);
    expect(t['1,000 policies within 2x of 10-policy throughput']!.met).toBe(false);
    expect(results.find((r) => r.target.startsWith('100,000 entities'))!.met).toBe(true);
    expect(results.find((r) => r.target.startsWith('activation stall'))!.met).toBe(true);
    expect(results.find((r) => r.target.startsWith('peak RSS'))).toMatchObject({ met: false, measured: '400 MiB' });
  });

  it('says "not measured" (never met) for scenarios that did not run', () => {
    const results = evaluateTargets({ scenarios: { null: run(10_000) } });
    expect(results).toHaveLength(7);
    for (const r of results) expect(r).toMatchObject({ met: undefined, measured: 'not measured' });
  });

  it('gives no verdict on a throughput ratio that only looks good because the null server was not saturated', () => {
    const unsaturated = evaluateTargets({ scenarios: { null: run(3_000, { cores: 0.5 }), warm: run(2_500) } })[0]!;
    expect(unsaturated).toMatchObject({ met: undefined, inconclusive: true });
    expect(unsaturated.measured).toMatch(/upper bound/);
    const clearMiss = evaluateTargets({ scenarios: { null: run(3_000, { cores: 0.5 }), warm: run(1_000) } })[0]!;
    expect(clearMiss.met).toBe(false);
  });
});
