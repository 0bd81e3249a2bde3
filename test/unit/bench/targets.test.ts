import { describe, expect, it } from 'vitest';

import { capacityRatio, evaluateTargets } from '../../../bench/lib/targets.mjs';

const run = (rps: number, opts: { cpuUsPerCall?: number; halfP99?: number; rss?: number; cores?: number } = {}) => ({
  saturation: { rps, server: { cpuUsPerCall: opts.cpuUsPerCall ?? 500, cores: opts.cores ?? 0.99 } },
  half: { rps: rps / 2, latencyMs: { p99: opts.halfP99 ?? 5 } },
  server: { peakRssBytes: opts.rss ?? 100 * 2 ** 20 },
});

const find = (results: ReturnType<typeof evaluateTargets>, prefix: string) =>
  results.find((r) => r.target.startsWith(prefix))!;

describe('capacityRatio', () => {
  it('compares throughput when both servers were saturated', () => {
    expect(capacityRatio(run(700).saturation, run(1000).saturation)).toEqual({ ratio: 0.7, basis: 'throughput' });
  });

  it('falls back to CPU per call when either was held back', () => {
    const c = capacityRatio(
      run(900, { cpuUsPerCall: 400 }).saturation,
      run(1000, { cpuUsPerCall: 100, cores: 0.3 }).saturation,
    );
    expect(c).toEqual({ ratio: 0.25, basis: 'CPU per call' });
  });
});

describe('evaluateTargets', () => {
  it('judges every target on the run’s own numbers', () => {
    const results = evaluateTargets({
      scenarios: {
        null: run(10_000, { cpuUsPerCall: 100 }),
        warm: run(6_500, { halfP99: 0.8, cpuUsPerCall: 150 }),
        cold: run(1_000, { halfP99: 3 }),
        'policies-10': run(5_000),
        'policies-1000': run(2_400, { cpuUsPerCall: 400 }),
        'entities-100k': run(2_300, { cpuUsPerCall: 420, rss: 400 * 2 ** 20 }),
      },
      activationStall: { worstStallMs: 12, activations: [{}, {}] },
    });
    expect(find(results, 'warm throughput')).toMatchObject({ met: false });
    expect(find(results, 'warm throughput').measured).toMatch(
      /^65% by throughput, both servers saturated \(6,500 vs 10,000 calls\/s/,
    );
    expect(find(results, 'warm: p99').met).toBe(true);
    expect(find(results, 'cold: p99').met).toBe(false);
    expect(find(results, '1,000 policies').met).toBe(false);
    expect(find(results, '100,000 entities').met).toBe(true);
    expect(find(results, 'activation stall').met).toBe(true);
    expect(find(results, 'peak RSS')).toMatchObject({ met: false, measured: '400 MiB' });
    // Issue 14: generated sets against the null server (by throughput: 50% and 24%), a flat store (1.05x).
    expect(find(results, '10 generated policies')).toMatchObject({ met: true });
    expect(find(results, '10 generated policies').measured).toMatch(/^50% by throughput/);
    expect(find(results, '1,000 generated policies')).toMatchObject({ met: false });
    expect(find(results, '100,000 entities within 10%')).toMatchObject({ met: true, measured: '1.05x' });
  });

  it('judges issue 15 against the peer and the transport in the same run', () => {
    const withH2 = (r: ReturnType<typeof run>, rps: number, cpuUsPerCall: number) => ({
      ...r,
      h2load: { rps, server: { cpuUsPerCall, cores: 0.99 } },
    });
    const results = evaluateTargets({
      scenarios: {
        null: withH2(run(10_000, { cpuUsPerCall: 100, rss: 120 * 2 ** 20 }), 20_000, 50),
        warm: {
          ...withH2(run(6_500, { cpuUsPerCall: 150, rss: 90 * 2 ** 20 }), 15_000, 66),
          nullAtHalf: { latencyMs: { p99: 4 } },
        },
        'opa-warm': run(3_000, { cpuUsPerCall: 420, rss: 50 * 2 ** 20 }),
        cold: { ...run(2_000, { cpuUsPerCall: 300, halfP99: 7 }), nullAtHalf: { latencyMs: { p99: 4 } } },
        'opa-cold': run(2_800, { cpuUsPerCall: 330 }),
      },
    });
    expect(find(results, 'h2load, one fixed')).toMatchObject({ met: true });
    expect(find(results, 'h2load, one fixed').measured).toMatch(/^75% by throughput/);
    expect(find(results, 'ghz warm mix ≥ 60%')).toMatchObject({ met: true });
    expect(find(results, 'ghz warm mix: ≥ 3x OPA-Envoy')).toMatchObject({ met: false });
    expect(find(results, 'ghz warm mix: ≥ 3x OPA-Envoy').measured).toMatch(/^2\.80x \(150 vs 420 µs/);
    expect(find(results, 'cold tokens')).toMatchObject({ met: false });
    expect(find(results, 'cold tokens').measured).toMatch(/^1\.10x/);
    expect(find(results, 'warm: peak RSS')).toMatchObject({
      met: true,
      measured: '90 MiB; OPA-Envoy 50 MiB; null server 120 MiB',
    });
    expect(find(results, 'warm: p99 at half saturation within 1.5x').measured).toBe(
      '5.00 vs 4.00 ms at 3,250 calls/s (1.25x)',
    );
    expect(find(results, 'warm: p99 at half saturation within 1.5x').met).toBe(true);
    expect(find(results, 'cold: p99 at half saturation within 1.5x').met).toBe(false);
  });

  it('says "not measured" (never met) for scenarios that did not run', () => {
    const results = evaluateTargets({ scenarios: { null: run(10_000) } });
    expect(results).toHaveLength(17);
    for (const r of results) expect(r).toMatchObject({ met: undefined, measured: 'not measured' });
  });

  it('does not let a null server held back by its load generator flatter the throughput ratio', () => {
    // ghz could only drive the null server to 3,000 calls/s at 0.5 cores: by throughput warm looks like 83%,
    // by CPU per call (100 vs 400 µs) it has a quarter of the null server's capacity.
    const result = find(
      evaluateTargets({
        scenarios: { null: run(3_000, { cores: 0.5, cpuUsPerCall: 100 }), warm: run(2_500, { cpuUsPerCall: 400 }) },
      }),
      'warm throughput',
    );
    expect(result.met).toBe(false);
    expect(result.measured).toMatch(/^25% by CPU per call/);
  });

  it('judges 100,000 entities on CPU per call alone when the servers were not saturated', () => {
    const results = evaluateTargets({
      scenarios: {
        'policies-1000': run(2_000, { cpuUsPerCall: 1000 }),
        'entities-100k': run(900, { cpuUsPerCall: 1050, cores: 0.5 }),
      },
    });
    expect(find(results, '100,000 entities')).toMatchObject({ met: true });
    expect(find(results, '100,000 entities').measured).toMatch(/not judged/);
  });
});
