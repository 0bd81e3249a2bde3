// The soak test's figures (bench/soak.mjs) and the section of docs/BENCHMARKS.md rendered from them.

const MiB = 2 ** 20;
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (v) => (!Number.isFinite(v) ? 'n/a' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
const mib = (b) => (Number.isFinite(b) ? (b / MiB).toFixed(0) : 'n/a');

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Least-squares slope of value over time, per minute. */
function slopePerMinute(points) {
  if (points.length < 2) return Number.NaN;
  const xs = points.map((p) => p.at / 60_000);
  const ys = points.map((p) => p.value);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** How many segments the warm-up lasts (the baseline is the next one); runs of two or fewer have one. */
function baselineSegment(results) {
  const n = results.segments.length;
  if (n < 3) return 1;
  return Math.min(Math.max(1, results.options.warmupSegments ?? 1), n - 2);
}

const within = (samples, from, to) => samples.filter((s) => s.at > from && s.at <= to);

/**
 * The run in figures: throughput, errors by kind, memory before and after warm-up (the first segment), the
 * event loop, and the control plane's publications and revocations as the sidecar saw them.
 */
export function summarizeSoak(results) {
  const segs = results.segments;
  const seconds = segs.reduce((n, s) => n + (s.toMs - s.fromMs) / 1000, 0);
  const ok = segs.reduce((n, s) => n + s.warm.okCount + (s.cold?.okCount ?? 0), 0);
  const calls = segs.reduce((n, s) => n + s.warm.count + (s.cold?.count ?? 0), 0);

  const clientErrors = {};
  for (const s of segs) {
    for (const r of [s.warm, s.cold]) {
      if (r === undefined) continue;
      for (const [message, n] of Object.entries(r.errors ?? {}))
        clientErrors[message] = (clientErrors[message] ?? 0) + n;
      const unexplained = r.count - r.okCount - Object.values(r.errors ?? {}).reduce((a, b) => a + b, 0);
      if (unexplained > 0) clientErrors['non-OK status'] = (clientErrors['non-OK status'] ?? 0) + unexplained;
    }
  }
  const serverErrors = Object.fromEntries(
    Object.entries(results.server.byKey)
      .filter(([k]) => k.startsWith('error|'))
      .map(([k, v]) => [k.slice(6), v]),
  );
  const churnFailures = results.churn.filter((e) => e.failed !== undefined).map((e) => `${e.kind}: ${e.failed}`);
  const counterProblems = [...results.server.crossCheck.problems, ...results.server.mix.problems];
  const errorCount =
    Object.values(clientErrors).reduce((a, b) => a + b, 0) +
    Object.values(serverErrors).reduce((a, b) => a + b, 0) +
    churnFailures.length +
    counterProblems.length;

  // Warm-up is the first warmupSegments segments (the caches fill meanwhile); the baseline is the segment
  // after them (or, in a run of two or fewer, the first's last half).
  const warmup = baselineSegment(results);
  const warmupEnd = segs[warmup - 1].toMs;
  const baseSeg = segs.length >= 3 ? segs[warmup] : { fromMs: (segs[0].fromMs + segs[0].toMs) / 2, toMs: segs[0].toMs };
  const lastSeg = segs.at(-1);
  const memory = (field) => {
    const base = median(within(results.samples, baseSeg.fromMs, baseSeg.toMs).map((s) => s[field]));
    const end = median(within(results.samples, lastSeg.fromMs, lastSeg.toMs).map((s) => s[field]));
    const after = results.samples.filter((s) => s.at > warmupEnd);
    return {
      first: results.samples[0]?.[field],
      baseline: base,
      end,
      max: Math.max(...results.samples.map((s) => s[field])),
      growth: end / base - 1,
      slopePerMinute: slopePerMinute(after.map((s) => ({ at: s.at, value: s[field] }))),
    };
  };

  const applied = (kind) => {
    const events = results.churn.filter((e) => e.kind === kind);
    const times = events.filter((e) => e.appliedMs !== undefined).map((e) => e.appliedMs);
    const publishing = events.filter((e) => e.publishMs !== undefined).map((e) => e.publishMs);
    return {
      attempted: events.length,
      applied: times.length,
      p50Ms: median(times),
      maxMs: times.length === 0 ? Number.NaN : Math.max(...times),
      publishP50Ms: median(publishing),
      publishMaxMs: publishing.length === 0 ? Number.NaN : Math.max(...publishing),
    };
  };

  const rss = memory('rssBytes');
  return {
    seconds,
    calls,
    ok,
    throughput: ok / seconds,
    errorCount,
    clientErrors,
    serverErrors,
    churnFailures,
    counterProblems,
    counterNotes: results.server.mix.notes,
    rss,
    heap: memory('heapUsedBytes'),
    lag: {
      maxMs: Math.max(0, ...results.samples.map((s) => s.lagMaxMs)),
      p99MaxMs: Math.max(0, ...results.samples.map((s) => s.lagP99Ms)),
      p99MedianMs: median(results.samples.map((s) => s.lagP99Ms)),
    },
    publications: applied('publication'),
    revocations: applied('revocation'),
    targets: {
      rssGrowthUnder10Percent: Number.isFinite(rss.growth) ? rss.growth < 0.1 : undefined,
      zeroErrors: errorCount === 0,
    },
  };
}

const verdict = (met) => (met === undefined ? 'not measured' : met ? 'met' : '**missed**');

/** The `soak` section of docs/BENCHMARKS.md. */
export function renderSoakSection(results) {
  const s = results.summary;
  const m = results.machine;
  const sat = results.saturation;
  const rateText =
    sat === undefined
      ? `${int(results.rate.total)} calls/s (given with --rate)`
      : `${int(results.rate.total)} calls/s, 70% of the ${int(sat.rps)} calls/s a 10 s saturation run of the same mix reached at the start`;
  const unit = results.options.segmentS === 60 ? 'minute' : `segment (${results.options.segmentS} s)`;
  const out = [
    '<!-- soak:begin -->',
    `Measured ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC with \`${results.command}\`: ${int(s.seconds / 60)} min of load (${results.options.segments} segments of ${results.options.segmentS} s) at ${rateText}; ` +
      `${int(results.rate.warm)} calls/s re-use tokens (the warm mix), ${int(results.rate.cold)} calls/s carry a fresh token each. A control plane published a new revision every ${results.options.churnS} s and posted a revocation every ${results.options.churnS} s in between. ` +
      `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}, ghz ${results.tools.ghz}; authzd pinned to CPU ${results.pinning.server || 'any'}, ghz and the control plane to CPU ${results.pinning.client || 'any'}; authzd's V8 heap limit ${results.options.heapMiB > 0 ? `${results.options.heapMiB} MiB (\`--max-old-space-size\`, as the Kubernetes manifest sets it)` : "node's default"}; memory baseline after ${results.options.warmupSegments ?? 1} ${results.options.segmentS === 60 ? 'minute(s)' : 'segment(s)'} of warm-up. ` +
      `Load average at the start: ${m.loadAverage.join(' / ')} (the machine is shared). authzd build ${results.build.fingerprint}.`,
    '',
    '#### Targets',
    '',
    '| target | measured | result |',
    '| --- | --- | --- |',
    `| RSS growth after warm-up < 10% | ${Number.isFinite(s.rss.growth) ? `${(s.rss.growth * 100).toFixed(1)}%` : 'n/a'} (median of ${results.options.segmentS === 60 ? 'minute' : 'segment'} ${results.segments.length >= 3 ? baselineSegment(results) + 1 : 1}: ${mib(s.rss.baseline)} MiB, of the last ${results.options.segmentS === 60 ? 'minute' : 'segment'}: ${mib(s.rss.end)} MiB) | ${verdict(s.targets.rssGrowthUnder10Percent)} |`,
    `| zero errors | ${int(s.errorCount)} | ${verdict(s.targets.zeroErrors)} |`,
    '',
    `#### Per ${results.options.segmentS === 60 ? 'minute' : 'segment'}`,
    '',
    'Latencies are of every answered call of the minute, warm and cold together, computed from every call ghz recorded; "cold p99" is the fresh-token calls alone. RSS is of the server process and heap its V8 heap in use (medians of the 5 s samples in the minute); token cache entries at the end of the minute (`cache.tokens.maxBytes` bounds it: 16 MiB by default, roughly 30,000 of these tokens); event-loop lag from authzd\'s own `nodejs_eventloop_lag_*` (worst 5 s sample of the minute).',
    '',
    `| ${unit} | calls/s | errors | p50 ms | p99 ms | p99.9 ms | max ms | cold p99 ms | RSS MiB | heap MiB | token cache entries | lag max ms | lag p99 ms | revisions applied | revocations applied |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const seg of results.segments) {
    const secs = (seg.toMs - seg.fromMs) / 1000;
    const okCalls = seg.warm.okCount + (seg.cold?.okCount ?? 0);
    const errs = seg.warm.count - seg.warm.okCount + (seg.cold === undefined ? 0 : seg.cold.count - seg.cold.okCount);
    const inSeg = results.samples.filter((x) => x.at > seg.fromMs && x.at <= seg.toMs);
    const churnIn = (kind) =>
      results.churn.filter((e) => e.kind === kind && e.appliedMs !== undefined && e.at > seg.fromMs && e.at <= seg.toMs)
        .length;
    out.push(
      `| ${seg.index + 1} | ${int(okCalls / secs)} | ${int(errs)} | ${ms(seg.latency.p50)} | ${ms(seg.latency.p99)} | ${ms(seg.latency.p999)} | ${ms(seg.latency.max)} | ${ms(seg.latency.coldP99)} | ` +
        `${mib(median(inSeg.map((x) => x.rssBytes)))} | ${mib(median(inSeg.map((x) => x.heapUsedBytes)))} | ${int(inSeg.at(-1)?.tokenCacheEntries)} | ${ms(Math.max(0, ...inSeg.map((x) => x.lagMaxMs)))} | ${ms(Math.max(0, ...inSeg.map((x) => x.lagP99Ms)))} | ${int(churnIn('publication'))} | ${int(churnIn('revocation'))} |`,
    );
  }
  const errorsText = (o) => {
    const parts = Object.entries(o).map(([k, v]) => `${k} ${int(v)}`);
    return parts.length === 0 ? 'none' : parts.join(', ');
  };
  out.push(
    '',
    '#### Summary',
    '',
    `- **Throughput**: ${int(s.ok)} calls answered in ${int(s.seconds)} s, ${int(s.throughput)} calls/s (${((s.throughput / results.rate.total) * 100).toFixed(0)}% of the rate asked for${s.throughput < 0.9 * results.rate.total ? ': **the server or the load generator could not keep up**' : ''}).`,
    `- **Errors**: ${int(s.errorCount)} in all. Failed calls seen by ghz: ${errorsText(s.clientErrors)}. gRPC errors counted by the server (\`authzd_decisions_total{decision="error"}\`): ${errorsText(s.serverErrors)}. ` +
      `ghz's successful calls plus the probes' against the server's own counter: ${results.server.crossCheck.ok ? `agree (${int(results.server.crossCheck.serverAnswered)} answered, ${int(results.server.crossCheck.clientOk)} seen)` : `**${results.server.crossCheck.problems.join('; ')}**`}; ` +
      `decisions by reason against the mix's answers in isolation: ${results.server.mix.ok ? 'agree' : `**${results.server.mix.problems.join('; ')}**`}${s.counterNotes.length > 0 ? ` (${s.counterNotes.join('; ')})` : ''}. ` +
      `Publications or revocations that did not reach the sidecar in time: ${s.churnFailures.length === 0 ? 'none' : s.churnFailures.join('; ')}.`,
    `- **Memory**: RSS ${mib(s.rss.first)} MiB at the first sample, ${mib(s.rss.baseline)} MiB after warm-up, ${mib(s.rss.end)} MiB in the last minute (growth ${(s.rss.growth * 100).toFixed(1)}%, trend ${(s.rss.slopePerMinute / MiB).toFixed(2)} MiB/min after warm-up), peak ${mib(s.rss.max)} MiB; ` +
      `V8 heap used ${mib(s.heap.baseline)} → ${mib(s.heap.end)} MiB (growth ${(s.heap.growth * 100).toFixed(1)}%, trend ${(s.heap.slopePerMinute / MiB).toFixed(2)} MiB/min).`,
    `- **Event loop**: worst lag ${ms(s.lag.maxMs)} ms; p99 lag ${ms(s.lag.p99MedianMs)} ms typically, ${ms(s.lag.p99MaxMs)} ms at worst (5 s windows).`,
    `- **Publications**: ${int(s.publications.applied)} of ${int(s.publications.attempted)} new revisions were active on the sidecar within 15 s (publish → a check answered with the new revision: median ${ms(s.publications.p50Ms)} ms, worst ${ms(s.publications.maxMs)} ms${Number.isFinite(s.publications.publishP50Ms) ? `, of which the control plane's publish call took median ${ms(s.publications.publishP50Ms)} ms, worst ${ms(s.publications.publishMaxMs)} ms` : ''}); the sidecar counted ${int(results.server.activations)} activations, ${int(results.server.activationFailures)} failed, ${int(results.server.bundleFailures)} bundle failures.`,
    `- **Revocations**: ${int(s.revocations.applied)} of ${int(s.revocations.attempted)} denied their token within 5 s (revoke → \`token_revoked\`: median ${ms(s.revocations.p50Ms)} ms, worst ${ms(s.revocations.maxMs)} ms); ${int(results.server.revocationsHeld)} entries held at the end, ${int(results.server.revocationPollFailures)} failed feed polls.`,
    '',
    '#### Commands',
    '',
    '```sh',
    '# the control plane (policy directory: the example policies with 400 accounts)',
    results.commands.controlPlane,
    '# authzd, following it',
    results.commands.server,
    '# load, one pair per minute: the warm mix and fresh tokens',
    results.commands.warm ?? '',
    results.commands.cold ?? '',
    '```',
    '<!-- soak:end -->',
  );
  return out.join('\n');
}
