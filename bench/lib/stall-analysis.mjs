// How long the event loop stops while a policy set activates, seen from both ends: the client's call
// latencies during each activation window against the steady state, and the server's own
// nodejs_eventloop_lag_max_seconds (prom-client resets it at every scrape, so each scrape reports the worst
// delay since the previous one).
import { summarize } from './percentiles.mjs';

const overlaps = (aStart, aEnd, bStart, bEnd) => aStart < bEnd && aEnd > bStart;

/**
 * calls: [{startMs, latencyMs, ok}] (ghz details); windows: [{startMs, endMs, logMs}] one per activation;
 * lagSamples: [{fromMs, toMs, lagMaxMs}] one per scrape, covering (fromMs, toMs]; warmupMs: calls that
 * started earlier than the first call + warmupMs are left out of the steady state.
 */
export function analyzeStall({ calls, windows, lagSamples, warmupMs = 1000 }) {
  const first = calls.reduce((m, c) => Math.min(m, c.startMs), Number.POSITIVE_INFINITY);
  const inWindow = (start, end) => windows.some((w) => overlaps(start, end, w.startMs, w.endMs));
  const steadyCalls = calls.filter(
    (c) => c.ok && c.startMs >= first + warmupMs && !inWindow(c.startMs, c.startMs + c.latencyMs),
  );
  const steady = summarize(steadyCalls.map((c) => c.latencyMs));
  const steadyLag = lagSamples.filter((s) => !inWindow(s.fromMs, s.toMs)).reduce((m, s) => Math.max(m, s.lagMaxMs), 0);
  const perActivation = windows.map((w) => {
    const during = calls.filter((c) => overlaps(c.startMs, c.startMs + c.latencyMs, w.startMs, w.endMs));
    const clientMaxMs = during.reduce((m, c) => Math.max(m, c.latencyMs), 0);
    const serverLagMaxMs = lagSamples
      .filter((s) => overlaps(s.fromMs, s.toMs, w.startMs, w.endMs))
      .reduce((m, s) => Math.max(m, s.lagMaxMs), 0);
    const clientStallMs = Math.max(0, clientMaxMs - steady.p50);
    return {
      logMs: w.logMs,
      windowMs: w.endMs - w.startMs,
      callsDuring: during.length,
      clientMaxMs,
      clientStallMs,
      serverLagMaxMs,
      stallMs: Math.max(clientStallMs, serverLagMaxMs),
    };
  });
  return {
    steady: { calls: steadyCalls.length, latencyMs: steady, lagMaxMs: steadyLag },
    activations: perActivation,
    worstStallMs: perActivation.reduce((m, a) => Math.max(m, a.stallMs), 0),
    worstLogMs: perActivation.reduce((m, a) => Math.max(m, a.logMs ?? 0), 0),
  };
}
