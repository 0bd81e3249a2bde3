import { describe, expect, it } from 'vitest';

import { parseGhzReport, parseRfc3339 } from '../../../bench/lib/ghz-report.mjs';

// The shape ghz v0.120.0 writes with -O json (trimmed to the fields the harness reads).
const report = {
  date: '2026-11-28T15:56:55Z',
  endReason: 'timeout',
  count: 4,
  total: 2_000_000_000,
  rps: 2,
  statusCodeDistribution: { OK: 3, Unavailable: 1 },
  errorDistribution: { 'rpc error: code = Unavailable desc = policy_unavailable': 1 },
  details: [
    { timestamp: '2026-11-28T15:56:50.223062376Z', latency: 1_000_000, error: '', status: 'OK' },
    { timestamp: '2026-11-28T15:56:50.5Z', latency: 3_000_000, error: '', status: 'OK' },
    { timestamp: '2026-11-28T16:56:51+01:00', latency: 2_000_000, error: '', status: 'OK' },
    {
      timestamp: '2026-11-28T15:56:51.25Z',
      latency: 500_000_000,
      error: 'rpc error: code = Unavailable desc = policy_unavailable',
      status: 'Unavailable',
    },
  ],
};

describe('parseRfc3339', () => {
  it('keeps sub-millisecond digits and applies offsets', () => {
    expect(parseRfc3339('2026-11-28T15:56:50.223062376Z') - Date.UTC(2026, 10, 28, 15, 56, 50)).toBeCloseTo(223.062, 3);
    expect(parseRfc3339('2026-11-28T16:56:51+01:00')).toBe(Date.UTC(2026, 10, 28, 15, 56, 51));
    expect(parseRfc3339('2026-11-28T10:56:51-05:00')).toBe(Date.UTC(2026, 10, 28, 15, 56, 51));
    expect(() => parseRfc3339('yesterday')).toThrow(/RFC 3339/);
  });
});

describe('parseGhzReport', () => {
  const parsed = parseGhzReport(JSON.stringify(report));

  it('separates OK calls from failed ones', () => {
    expect(parsed).toMatchObject({ count: 4, okCount: 3, errorCount: 1, seconds: 2, detailsComplete: true });
    expect(parsed.errors).toEqual({ 'rpc error: code = Unavailable desc = policy_unavailable': 1 });
  });

  it('takes latency percentiles over OK calls only, in milliseconds', () => {
    expect(parsed.latencyMs).toMatchObject({ count: 3, min: 1, p50: 2, max: 3 });
  });

  it('turns each detail’s end timestamp into the call’s start', () => {
    const end = Date.UTC(2026, 10, 28, 15, 56, 50, 500);
    expect(parsed.calls[1]).toEqual({ startMs: end - 3, latencyMs: 3, ok: true });
    expect(parsed.calls[3].ok).toBe(false);
  });
});
