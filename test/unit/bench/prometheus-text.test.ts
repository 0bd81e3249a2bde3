import { describe, expect, it } from 'vitest';

import { diffCounts, parsePrometheusText, sumBy, sumSamples } from '../../../bench/lib/prometheus-text.mjs';

const TEXT = `# HELP authzd_decisions_total Check calls answered.
# TYPE authzd_decisions_total counter
authzd_decisions_total{decision="allow",reason="policy_allowed",route="get-account",source="engine"} 10
authzd_decisions_total{decision="allow",reason="policy_allowed",route="create-transfer",source="engine"} 5
authzd_decisions_total{decision="deny",reason="token_expired",route="",source="authentication"} 3
authzd_checks_in_flight 0
nodejs_eventloop_lag_max_seconds 0.012
weird_label{path="a\\"b\\\\c"} 1 1700000000000
`;

describe('parsePrometheusText', () => {
  const samples = parsePrometheusText(TEXT);

  it('reads names, labels (with escapes) and values, skipping comments', () => {
    expect(samples).toHaveLength(6);
    expect(samples.find((s) => s.name === 'weird_label')!.labels.path).toBe('a"b\\c');
    expect(sumSamples(samples, 'nodejs_eventloop_lag_max_seconds')).toBe(0.012);
  });

  it('sums a metric, filtered by labels or grouped by them', () => {
    expect(sumSamples(samples, 'authzd_decisions_total')).toBe(18);
    expect(sumSamples(samples, 'authzd_decisions_total', { decision: 'allow' })).toBe(15);
    expect(sumBy(samples, 'authzd_decisions_total', ['decision', 'reason'])).toEqual({
      'allow|policy_allowed': 15,
      'deny|token_expired': 3,
    });
  });
});

describe('diffCounts', () => {
  it('counts keys new since before from zero and drops unchanged ones', () => {
    expect(diffCounts({ a: 5, b: 2 }, { a: 9, b: 2, c: 4 })).toEqual({ a: 4, c: 4 });
  });
});
