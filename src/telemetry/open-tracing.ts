import { packageVersion } from '../util/package-version.js';
import type { Logger } from './create-logger.js';
import { createThrottle } from './create-throttle.js';
import type { Tracing } from './start-tracing.js';
import type { TracingSettings } from './tracing-settings.js';

/** The span counters a process exports (the sidecar's authzd_trace_spans_*, the control plane's authzd_cp_…). */
export interface SpanMetrics {
  readonly traceSpansExported: { inc(n: number): void };
  readonly traceSpansDropped: { inc(labels: { reason: string }, n: number): void };
}

/**
 * Starts tracing with `settings`, counting spans in `metrics` and logging export failures at most once a
 * minute. The SDK is loaded here, on demand: with tracing off nothing of it is. `droppedMetric` names the
 * counter the warning points to.
 */
export async function openTracing(
  settings: TracingSettings,
  deps: {
    readonly metrics: SpanMetrics;
    readonly logger: Pick<Logger, 'warn' | 'info'>;
    readonly now: () => number;
    readonly droppedMetric: string;
  },
): Promise<Tracing> {
  const { startTracing } = await import('./start-tracing.js');
  const { metrics, logger } = deps;
  const exportFailures = createThrottle(60_000, deps.now);
  const tracing = startTracing(settings, {
    version: packageVersion(),
    counters: {
      onExported: (n) => metrics.traceSpansExported.inc(n),
      onDropped: (reason, n) => metrics.traceSpansDropped.inc({ reason }, n),
      onExportError: (err) => {
        if (exportFailures('export'))
          logger.warn(
            { endpoint: settings.endpoint, err: err?.message ?? 'unknown' },
            `trace export failed; its spans are dropped and counted (${deps.droppedMetric}); nothing waits for the export (logged at most once a minute)`,
          );
      },
    },
  });
  logger.info(
    {
      protocol: settings.protocol,
      endpoint: settings.endpoint,
      serviceName: settings.serviceName,
      sampler: settings.sampler,
      samplerArg: settings.samplerArg,
      propagators: settings.propagators,
    },
    'tracing on: spans exported over OTLP',
  );
  return tracing;
}
