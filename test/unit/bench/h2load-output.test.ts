import { describe, expect, it } from 'vitest';

import { parseH2loadLog, parseH2loadSummary } from '../../../bench/lib/h2load-output.mjs';

// h2load 1.52.0 against the null server, as printed.
const STDOUT = `starting benchmark...
spawning thread #0: 4 total client(s). Timing-based test with 0s of warm-up time and 5s of main duration for measurements.
Main benchmark duration is started for thread #0.
Application protocol: h2c
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 5.00s, 6406.40 req/s, 282.65KB/s
requests: 32032 total, 32064 started, 32032 done, 32032 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 32032 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 1.38MB (1447186) total, 157.21KB (160980) headers (space savings 96.38%), 344.09KB (352352) data
                     min         max         mean         sd        +/- sd
time for request:      729us     43.43ms      4.85ms      3.36ms    88.46%
`;

describe('parseH2loadSummary', () => {
  it('reads duration, rate and request counts', () => {
    expect(parseH2loadSummary(STDOUT)).toEqual({
      seconds: 5,
      rps: 6406.4,
      total: 32032,
      started: 32064,
      done: 32032,
      succeeded: 32032,
      failed: 0,
      errored: 0,
      timeout: 0,
      status2xx: 32032,
      statusNon2xx: 0,
    });
  });

  it('refuses output without a summary (h2load failed to connect, for example)', () => {
    expect(() => parseH2loadSummary('connect error: Connection refused\n')).toThrow(/summary/);
  });
});

describe('parseH2loadLog', () => {
  it('takes latencies of HTTP 200 responses in ms and counts the rest as failed', () => {
    const log =
      '1795881415482418\t200\t11240\n1795881415482419\t200\t500\n1795881415482420\t-1\t3000\n1795881415482421\t503\t10\n';
    const parsed = parseH2loadLog(log);
    expect(parsed.ok).toBe(2);
    expect(parsed.failed).toBe(2);
    expect(parsed.latencyMs).toMatchObject({ min: 0.5, max: 11.24 });
  });
});
