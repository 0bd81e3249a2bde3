// h2load's text summary and its --log-file (one line per request: start time in µs since the epoch, HTTP
// status or -1 for a failed stream, µs until the end of the response). h2load judges calls by HTTP status
// alone, so a gRPC call that failed with grpc-status != 0 in a 200 response counts as "succeeded": the
// harness therefore cross-checks every h2load run against the server's own decision counter.
import { summarize } from './percentiles.mjs';

const num = (text) => Number(text.replace(/,/g, ''));

export function parseH2loadSummary(stdout) {
  const finished = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(stdout);
  const requests =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      stdout,
    );
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  if (finished === null || requests === null)
    throw new Error('h2load output has no "finished in" / "requests:" summary');
  return {
    seconds: num(finished[1]),
    rps: num(finished[2]),
    total: num(requests[1]),
    started: num(requests[2]),
    done: num(requests[3]),
    succeeded: num(requests[4]),
    failed: num(requests[5]),
    errored: num(requests[6]),
    timeout: num(requests[7]),
    status2xx: codes === null ? undefined : num(codes[1]),
    statusNon2xx: codes === null ? undefined : num(codes[2]) + num(codes[3]) + num(codes[4]),
  };
}

/** The per-request log: latencies (ms) of requests that got HTTP 200, and how many did not. */
export function parseH2loadLog(text) {
  const latencies = [];
  let failed = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [, status, elapsedUs] = line.split('\t');
    if (status === '200') latencies.push(Number(elapsedUs) / 1000);
    else failed++;
  }
  return { ok: latencies.length, failed, latencyMs: summarize(latencies) };
}
