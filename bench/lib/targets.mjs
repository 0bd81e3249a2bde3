// The targets, judged on one run's results. A target whose scenario did not run is "not measured",
// never "met".

const MiB = 2 ** 20;

/** results: { scenarios: {name: record}, activationStall?: {...} } as bench/run.mjs writes them. */
export function evaluateTargets({ scenarios, activationStall }) {
  const s = (name) => scenarios[name];
  const rps = (name) => s(name)?.saturation?.rps;
  const out = [];
  const add = (target, measured, met) => out.push({ target, measured, met });

  const warm = rps('warm');
  const nul = rps('null');
  const throughputTarget = 'warm throughput ≥ 70% of the null server (one worker)';
  if (warm !== undefined && nul !== undefined) {
    const r = warm / nul;
    let measured = `${pct(r)} with ghz (${int(warm)} vs ${int(nul)} calls/s)`;
    const h2warm = s('warm').h2load?.rps;
    const h2null = s('null').h2load?.rps;
    if (h2warm !== undefined && h2null !== undefined) measured += `; h2load, one fixed warm call: ${pct(h2warm / h2null)}`;
    // A null server that ghz could not saturate makes the ratio an upper bound: only a miss is certain.
    if (s('null').saturation.server.cores < 0.85 && r >= 0.7) {
      out.push({ target: throughputTarget, measured: `${measured}; the null server was not saturated (${s('null').saturation.server.cores.toFixed(2)} cores), so this is an upper bound`, met: undefined, inconclusive: true });
    } else add(throughputTarget, measured, r >= 0.7);
  } else add(throughputTarget, 'not measured', undefined);

  for (const [name, limit] of [['warm', 1], ['cold', 2]]) {
    const p99 = s(name)?.half?.latencyMs?.p99;
    add(`${name}: p99 at half saturation < ${limit} ms`, p99 === undefined ? 'not measured' : `${ms(p99)} ms at ${int(s(name).half.rps)} calls/s`, p99 === undefined ? undefined : p99 < limit);
  }

  const p10 = rps('policies-10');
  const p1000 = rps('policies-1000');
  if (p10 !== undefined && p1000 !== undefined) {
    add('1,000 policies within 2x of 10-policy throughput', `${int(p1000)} vs ${int(p10)} calls/s (${(p10 / p1000).toFixed(2)}x slower)`, p1000 * 2 >= p10);
  } else add('1,000 policies within 2x of 10-policy throughput', 'not measured', undefined);

  const small = s('policies-1000')?.saturation;
  const big = s('entities-100k')?.saturation;
  if (small !== undefined && big !== undefined) {
    const cpu = big.server.cpuUsPerCall / small.server.cpuUsPerCall;
    const thr = big.rps / small.rps;
    add(
      '100,000 entities: no per-call cost growing with the store (CPU/call within 25%, throughput ≥ 80% of the 1,000-entity store)',
      `CPU/call ${int(big.server.cpuUsPerCall)} vs ${int(small.server.cpuUsPerCall)} µs (${cpu.toFixed(2)}x), throughput ${pct(thr)}`,
      cpu <= 1.25 && thr >= 0.8,
    );
  } else add('100,000 entities: no per-call cost growing with the store', 'not measured', undefined);

  if (activationStall?.worstStallMs !== undefined) {
    add('activation stall < 20 ms (1,000 policies, under load)', `${ms(activationStall.worstStallMs)} ms worst of ${activationStall.activations.length}`, activationStall.worstStallMs < 20);
  } else add('activation stall < 20 ms (1,000 policies, under load)', 'not measured', undefined);

  const rss = s('entities-100k')?.server?.peakRssBytes;
  add('peak RSS < 150 MiB at 1,000 policies and 100,000 entities', rss === undefined ? 'not measured' : `${(rss / MiB).toFixed(0)} MiB`, rss === undefined ? undefined : rss < 150 * MiB);
  return out;
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const pct = (r) => `${(r * 100).toFixed(0)}%`;
const ms = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(0));
