// Loaded only when tracing is on (start-authzd.ts and start-control-plane.ts import it dynamically): with
// tracing off, the OpenTelemetry SDK is never even loaded.
import type { TextMapPropagator, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpHttpExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

import { boundedSpanProcessor, type SpanCounters } from './bounded-span-processor.js';
import { CheckTracer } from './check-tracer.js';
import { RequestTracer } from './request-tracer.js';
import { tracePropagator } from './trace-propagator.js';
import { traceSampler } from './trace-sampler.js';
import type { TracingSettings } from './tracing-settings.js';

export interface Tracing {
  readonly tracer: Tracer;
  /** Reads trace context from request headers, in the configured formats and order of precedence. */
  readonly propagator: TextMapPropagator;
  /** The Check span factory of the sidecar. */
  readonly checks: CheckTracer;
  /** The control plane's request and publication spans. */
  readonly requests: RequestTracer;
  readonly settings: TracingSettings;
  /** Exports what is queued (bounded by the export timeout), then stops; never rejects. */
  shutdown(): Promise<void>;
}

/**
 * An OpenTelemetry tracer provider of its own (nothing is registered globally, so two instances in one
 * process, as in tests, stay apart), exporting over OTLP (HTTP with protobuf bodies, or gRPC) through a bounded batch
 * queue that counts what it drops (bounded-span-processor.ts). No context manager and no instrumentation:
 * authzd passes its spans along itself, so nothing else in the process pays for tracing.
 */
export function startTracing(settings: TracingSettings, deps: { version: string; counters: SpanCounters }): Tracing {
  const options = { url: settings.endpoint, timeoutMillis: settings.exportTimeoutMs };
  const exporter = settings.protocol === 'grpc' ? new OtlpGrpcExporter(options) : new OtlpHttpExporter(options);
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        ...settings.resourceAttributes,
        [ATTR_SERVICE_NAME]: settings.serviceName,
        [ATTR_SERVICE_VERSION]: deps.version,
      }),
    ),
    sampler: traceSampler(settings.sampler, settings.samplerArg),
    spanProcessors: [boundedSpanProcessor(exporter, settings, deps.counters)],
  });
  const tracer = provider.getTracer('authzd', deps.version);
  const propagator = tracePropagator(settings.propagators);
  let stopped: Promise<void> | undefined;
  return {
    tracer,
    propagator,
    checks: new CheckTracer(tracer, propagator),
    requests: new RequestTracer(tracer, propagator),
    settings,
    shutdown: () =>
      (stopped ??= Promise.race([
        provider.shutdown().catch(() => undefined),
        new Promise<void>((resolve) => setTimeout(resolve, settings.exportTimeoutMs + 1_000).unref()),
      ])),
  };
}
