import { describe, expect, it } from 'vitest';

import { analyzeStall } from '../../../bench/lib/stall-analysis.mjs';

describe('analyzeStall', () => {
  // Calls every 10 ms taking 2 ms, except those caught by a 300 ms stall starting at t=5000.
  const calls = Array.from({ length: 1000 }, (_, i) => {
    const startMs = i * 10;
    const stalled = startMs >= 5000 && startMs < 5300;
    return { startMs, latencyMs: stalled ? 5302 - startMs : 2, ok: true };
  });
  const windows = [{ startMs: 4990, endMs: 5400, logMs: 290 }];
  const lagSamples = [
    { fromMs: 0, toMs: 2500, lagMaxMs: 11 },
    { fromMs: 2500, toMs: 5310, lagMaxMs: 305 },
    { fromMs: 5310, toMs: 10000, lagMaxMs: 12 },
  ];
  const result = analyzeStall({ calls, windows, lagSamples });

  it('measures the steady state outside activation windows, after the warm-up', () => {
    expect(result.steady.latencyMs.p50).toBe(2);
    expect(result.steady.latencyMs.max).toBe(2);
    expect(result.steady.calls).toBe(1000 - 100 - 41);
    expect(result.steady.lagMaxMs).toBe(11);
  });

  it('reports the client stall (slowest call minus the steady median) and the server lag per activation', () => {
    expect(result.activations).toEqual([
      {
        logMs: 290,
        windowMs: 410,
        callsDuring: 41,
        clientMaxMs: 302,
        clientStallMs: 300,
        serverLagMaxMs: 305,
        stallMs: 305,
      },
    ]);
    expect(result.worstStallMs).toBe(305);
    expect(result.worstLogMs).toBe(290);
  });

  it('finds no stall when activation does not block', () => {
    const calm = analyzeStall({
      calls: calls.map((c) => ({ ...c, latencyMs: 2 })),
      windows,
      lagSamples: [{ fromMs: 0, toMs: 10000, lagMaxMs: 11 }],
    });
    expect(calm.activations[0].clientStallMs).toBe(0);
    expect(calm.worstStallMs).toBe(11);
  });
});
