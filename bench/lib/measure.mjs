// One measured run against a running server: the server's counters and CPU time read just before and
// just after the load generator runs, and everything the report needs derived from the three.
import { cacheHitRatios, compareMix, crossCheckCounts, expectedCounts, splitServerCounts } from './cross-check.mjs';
import { diffCounts, sumBy, sumSamples } from './prometheus-text.mjs';
import { treeCpuSeconds } from './proc-stats.mjs';
import { sleep } from './servers.mjs';

/** Answers that depend on the load, not on the request: a risk class's rate limit (see docs/reasons.md). */
export const LOAD_DEPENDENT = ['deny|rate_limited'];

export const decisionCounts = (samples) => sumBy(samples, 'authzd_decisions_total', ['decision', 'reason']);

/** Cache lookups by cache ("token", "decision"), for builds that export authzd_cache_{hits,misses}_total. */
function cacheCounts(samples) {
  return {
    hits: sumBy(samples, 'authzd_cache_hits_total', ['cache']),
    misses: sumBy(samples, 'authzd_cache_misses_total', ['cache']),
  };
}

/** Waits until nothing is in flight and the decision counter has stopped moving (calls abandoned by a client finish). */
export async function waitQuiet(server, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const samples = await server.scrape();
    const total = sumSamples(samples, 'authzd_decisions_total');
    const inflight = sumSamples(samples, 'authzd_checks_in_flight');
    if (total === last && inflight === 0) return samples;
    if (Date.now() > deadline) return samples;
    last = total;
    await sleep(150);
  }
}

/** Runs fn between two quiet points; returns its result, the server's counter increase and CPU seconds. */
export async function measured(server, fn) {
  const beforeSamples = await waitQuiet(server);
  const cpu0 = treeCpuSeconds(server.pid);
  const out = await fn();
  const afterSamples = await waitQuiet(server);
  const cpu1 = treeCpuSeconds(server.pid);
  return {
    out,
    serverByKey: diffCounts(decisionCounts(beforeSamples), decisionCounts(afterSamples)),
    serverCpuSeconds: cpu0 === undefined || cpu1 === undefined ? Number.NaN : cpu1 - cpu0,
    caches: cacheHitRatios(cacheCounts(beforeSamples), cacheCounts(afterSamples)),
  };
}

/** clientOk: the load generator's count, used only for a peer, which has no decision counter of its own. */
function serverFigures(serverByKey, serverCpuSeconds, seconds, caches, peerCalls) {
  const counts = peerCalls === undefined ? splitServerCounts(serverByKey) : { total: peerCalls };
  return {
    byKey: serverByKey,
    caches,
    calls: counts.total,
    cpuSeconds: serverCpuSeconds,
    cores: serverCpuSeconds / seconds,
    cpuUsPerCall: counts.total > 0 ? (serverCpuSeconds * 1e6) / counts.total : Number.NaN,
  };
}

/** A record of a peer's run (OPA-Envoy): no counter to check against, the load generator's count is all there is. */
const PEER_CROSS_CHECK = { peer: true, ok: true, problems: [] };

/**
 * A ghz run's record. expectations: "decision|reason" per message in file order (undefined: not checked);
 * peer: the server is not authzd (its calls are the ones ghz counted).
 */
export function ghzRecord(
  { argv, report, clientCpuSeconds },
  { serverByKey, serverCpuSeconds, caches },
  { expectations, concurrency, rps, peer = false },
) {
  const seconds = report.seconds;
  const record = {
    tool: 'ghz',
    mode: rps === undefined ? 'saturation' : `rate ${rps}/s`,
    argv,
    seconds,
    calls: report.count,
    okCalls: report.okCount,
    errors: report.errors,
    rps: report.okCount / seconds,
    latencyMs: report.latencyMs,
    clientCores: clientCpuSeconds / seconds,
    server: serverFigures(serverByKey, serverCpuSeconds, seconds, caches, peer ? report.okCount : undefined),
    crossCheck: peer
      ? PEER_CROSS_CHECK
      : crossCheckCounts({ tool: 'ghz', clientOk: report.okCount, serverByKey, slack: concurrency }),
  };
  if (expectations !== undefined && !expectations.includes(undefined)) {
    record.mix = compareMix(expectedCounts(expectations, report.count), serverByKey, concurrency, {
      absorbing: LOAD_DEPENDENT,
    });
  }
  return record;
}

/** An h2load run's record; every call sent the same message, whose answer should be `expectation`. */
export function h2loadRecord(
  { argv, summary, log, clientCpuSeconds },
  { serverByKey, serverCpuSeconds, caches },
  { expectation, inflight, peer = false },
) {
  const seconds = summary.seconds;
  const record = {
    tool: 'h2load',
    argv,
    seconds,
    calls: summary.done,
    okCalls: summary.succeeded,
    errors: summary.failed + summary.errored + summary.timeout,
    rps: summary.succeeded / seconds,
    latencyMs: log.latencyMs,
    clientCores: clientCpuSeconds / seconds,
    server: serverFigures(serverByKey, serverCpuSeconds, seconds, caches, peer ? summary.succeeded : undefined),
    crossCheck: peer
      ? PEER_CROSS_CHECK
      : crossCheckCounts({ tool: 'h2load', clientOk: summary.succeeded, serverByKey, slack: inflight }),
  };
  if (expectation !== undefined) {
    const answered = Object.values(serverByKey).reduce((a, b) => a + b, 0);
    record.mix = compareMix({ [expectation]: answered }, serverByKey, 0, { absorbing: LOAD_DEPENDENT });
  }
  return record;
}
