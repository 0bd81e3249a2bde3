import { getHeapStatistics } from 'node:v8';

import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

import { createMetrics } from '../../../src/telemetry/metrics.js';

describe('memory budget gauges', () => {
  it('report each cache’s bytes and bound, and the V8 heap limit, at scrape time', async () => {
    const registry = new Registry();
    const metrics = createMetrics(registry);
    let bytes = 1_000;
    metrics.addCacheSource('token', () => ({
      hits: 0,
      misses: 0,
      evictions: 0,
      entries: 3,
      bytes,
      maxBytes: 16_777_216,
    }));
    const first = await registry.metrics();
    expect(first).toContain('authzd_cache_bytes{cache="token"} 1000');
    expect(first).toContain('authzd_cache_max_bytes{cache="token"} 16777216');
    expect(first).toContain(`authzd_heap_limit_bytes ${getHeapStatistics().heap_size_limit}`);
    bytes = 2_500;
    expect(await registry.metrics()).toContain('authzd_cache_bytes{cache="token"} 2500');
  });
});
