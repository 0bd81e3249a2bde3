import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { prefersOpenMetrics, registryExposition } from '../../../src/telemetry/metrics-exposition.js';

describe('prefersOpenMetrics', () => {
  it("follows the scrape's Accept header", () => {
    // Prometheus 2.x's default.
    expect(
      prefersOpenMetrics(
        'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      ),
    ).toBe(true);
    expect(prefersOpenMetrics(undefined)).toBe(false);
    expect(prefersOpenMetrics('*/*')).toBe(false);
    expect(prefersOpenMetrics('text/plain;version=0.0.4')).toBe(false);
    expect(prefersOpenMetrics('text/plain, application/openmetrics-text;q=0.5')).toBe(false);
    expect(prefersOpenMetrics('application/openmetrics-text;q=0')).toBe(false);
  });
});

describe('registryExposition', () => {
  it('renders OpenMetrics with exemplars on request and the text format otherwise, each time alike', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'x_requests_total', help: 'h', registers: [registry] });
    const histogram = new Histogram({
      name: 'x_seconds',
      help: 'h',
      buckets: [0.1],
      registers: [],
      enableExemplars: true,
    });
    registry.registerMetric(histogram);
    counter.inc();
    histogram.observe({ value: 0.05, labels: {}, exemplarLabels: { trace_id: 'abc' } });
    const render = registryExposition(registry);
    const [om, text] = await Promise.all([render('application/openmetrics-text'), render(undefined)]);
    expect(om.contentType).toMatch(/^application\/openmetrics-text/);
    expect(om.text).toContain('# {trace_id="abc"} 0.05');
    expect(om.text.trimEnd().endsWith('# EOF')).toBe(true);
    expect(text.contentType).toMatch(/^text\/plain/);
    expect(text.text).not.toContain('trace_id');
    // prom-client renames counters for OpenMetrics in place; the text format still has its _total name.
    expect(text.text).toContain('x_requests_total 1');
    expect((await render('text/plain')).text).toBe(text.text);
  });
});
