// Load-generator counts checked against the server's own decision counter (authzd_decisions_total, keyed
// "decision|reason"). A load generator only sees transport success: h2load counts a gRPC call that failed
// inside an HTTP 200 as succeeded, and neither tool knows whether authzd allowed or denied. The server's
// counter sees every answer and its reason, so a run is trusted only when the two agree.
import { diffCounts } from './prometheus-text.mjs';

/** Server counter deltas split into answered decisions (allow/deny) and gRPC errors. */
export function splitServerCounts(byKey) {
  let answered = 0;
  let errors = 0;
  for (const [key, n] of Object.entries(byKey)) {
    if (key.startsWith('error|')) errors += n;
    else answered += n;
  }
  return { answered, errors, total: answered + errors };
}

/**
 * clientOk: calls the load generator counted as successful; serverByKey: the counter's increase over the
 * run; slack: calls that may legitimately differ (in flight when the generator stopped counting).
 */
export function crossCheckCounts({ tool, clientOk, serverByKey, slack }) {
  const server = splitServerCounts(serverByKey);
  const diff = server.answered - clientOk;
  const problems = [];
  if (Math.abs(diff) > slack) {
    problems.push(
      `${tool} counted ${clientOk} successful calls but the server answered ${server.answered} (difference ${diff}, allowed ±${slack})`,
    );
  }
  if (server.errors > 0) problems.push(`the server answered ${server.errors} calls with a gRPC error`);
  return {
    clientOk,
    serverAnswered: server.answered,
    serverErrors: server.errors,
    difference: diff,
    slack,
    ok: problems.length === 0,
    problems,
  };
}

/** Expected "decision|reason" counts when call i sends message i mod n (ghz's order), for `calls` calls. */
export function expectedCounts(expectations, calls) {
  const out = {};
  const n = expectations.length;
  if (n === 0) return out;
  const full = Math.floor(calls / n);
  const rest = calls % n;
  expectations.forEach((key, i) => {
    const c = full + (i < rest ? 1 : 0);
    if (c > 0) out[key] = (out[key] ?? 0) + c;
  });
  return out;
}

/**
 * Per-key differences beyond `slack` between what the mix should have produced and what the server counted.
 * `absorbing` keys are answers that depend on load rather than on the request (rate limiting): calls that
 * moved from their expected answer to one of them are reported as a note, not as a mismatch.
 */
export function compareMix(expected, actual, slack, { absorbing = [] } = {}) {
  const problems = [];
  const notes = [];
  let absorbed = 0;
  let shortfall = 0;
  const excess = [];
  for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    const d = (actual[key] ?? 0) - (expected[key] ?? 0);
    if (absorbing.includes(key)) absorbed += Math.max(0, d);
    else {
      shortfall += Math.max(0, -d);
      if (d > slack) excess.push(key);
    }
  }
  const explained = absorbed > 0 && excess.length === 0 && Math.abs(shortfall - absorbed) <= slack;
  if (explained) {
    const total = Object.values(actual).reduce((a, b) => a + b, 0);
    notes.push(
      `${absorbed} calls (${((absorbed / total) * 100).toFixed(1)}%) were answered ${absorbing.filter((k) => (actual[k] ?? 0) > (expected[k] ?? 0)).join(', ')} instead of their usual answer: load-dependent, not a mismatch`,
    );
  } else {
    for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      const e = expected[key] ?? 0;
      const a = actual[key] ?? 0;
      if (Math.abs(a - e) > slack) problems.push(`${key}: expected ${e}, server counted ${a}`);
    }
  }
  return { ok: problems.length === 0, problems, notes };
}

/** Hit ratio per cache over a run; empty when the server exports no cache metrics. */
export function cacheHitRatios(before, after) {
  const hits = diffCounts(before.hits, after.hits);
  const misses = diffCounts(before.misses, after.misses);
  const out = {};
  for (const cache of new Set([...Object.keys(after.hits), ...Object.keys(after.misses)])) {
    const h = hits[cache] ?? 0;
    const m = misses[cache] ?? 0;
    out[cache] = { hits: h, misses: m, ratio: h + m === 0 ? Number.NaN : h / (h + m) };
  }
  return out;
}
