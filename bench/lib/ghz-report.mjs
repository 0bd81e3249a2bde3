// ghz's JSON report (-O json): totals, status counts and, per call, its start time and latency. Go encodes
// time.Duration as integer nanoseconds and time.Time as RFC 3339 with up to nine fractional digits.
import { summarize } from './percentiles.mjs';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch, keeping the sub-millisecond digits that Date.parse would drop. */
export function parseRfc3339(text) {
  const m = RFC3339.exec(text);
  if (m === null) throw new Error(`not an RFC 3339 timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  ms += Number(`0.${frac || '0'}`) * 1000;
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return ms;
}

/**
 * The parts of a ghz report the harness uses. Latencies are of calls that ended with status OK; an
 * ext_authz deny is still an OK call (the decision is in the response), so non-OK means a transport or
 * server failure.
 */
export function parseGhzReport(input) {
  const report = typeof input === 'string' ? JSON.parse(input) : input;
  const statusCounts = { ...(report.statusCodeDistribution ?? {}) };
  const details = report.details ?? [];
  // A detail's timestamp is the call's end (grpc stats End event), so the start is that minus the latency.
  const calls = details.map((d) => {
    const latencyMs = d.latency / 1e6;
    return { startMs: parseRfc3339(d.timestamp) - latencyMs, latencyMs, ok: d.status === 'OK' && !d.error };
  });
  const okLatencies = calls.filter((c) => c.ok).map((c) => c.latencyMs);
  const count = report.count ?? 0;
  const okCount = statusCounts.OK ?? 0;
  return {
    count,
    okCount,
    errorCount: count - okCount,
    statusCounts,
    errors: { ...(report.errorDistribution ?? {}) },
    seconds: (report.total ?? 0) / 1e9,
    rps: report.rps ?? 0,
    endReason: report.endReason,
    detailsComplete: details.length === count,
    latencyMs: summarize(okLatencies),
    calls,
  };
}
