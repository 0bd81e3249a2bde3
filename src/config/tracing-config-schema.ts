// The `tracing:` section, one schema for the sidecar (config-schema.ts) and the control plane
// (control-plane-config-schema.ts). The OpenTelemetry environment variables (OTEL_*) are read over it once at
// start-up (telemetry/tracing-settings.ts); docs/observability.md lists both.
import { z } from 'zod';

/** The OpenTelemetry SDK's sampler names (OTEL_TRACES_SAMPLER), those authzd implements. */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TraceSampler = (typeof TRACE_SAMPLERS)[number];

/**
 * Trace-context formats read from a request (OTEL_PROPAGATORS names): W3C `traceparent`/`tracestate`, and B3
 * (`b3` single header or `X-B3-*` headers: either name reads both forms, as the B3 specification asks).
 */
export const TRACE_PROPAGATORS = ['tracecontext', 'b3', 'b3multi'] as const;
export type TracePropagator = (typeof TRACE_PROPAGATORS)[number];

/** OTLP transports (OTEL_EXPORTER_OTLP_PROTOCOL): HTTP with protobuf bodies (port 4318), or gRPC (port 4317). */
export const TRACE_PROTOCOLS = ['http/protobuf', 'grpc'] as const;
export type TraceProtocol = (typeof TRACE_PROTOCOLS)[number];

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

export const TracingConfigSchema = z
  .strictObject({
    /** Off by default; OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT or OTEL_TRACES_EXPORTER=otlp turn it on too. */
    enabled: z.boolean().default(false),
    protocol: z.enum(TRACE_PROTOCOLS).default('http/protobuf'),
    /** The traces URL; default http://localhost:4318/v1/traces (http/protobuf), http://localhost:4317 (grpc). */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    serviceName: z.string().min(1).optional(),
    sampler: z.enum(TRACE_SAMPLERS).default('parentbased_always_on'),
    /** The ratio of the traceidratio samplers (0 to 1). */
    samplerArg: z.number().min(0).max(1).default(1),
    /** In order of precedence when a request carries more than one; [] reads none (every span is a root). */
    propagators: z.array(z.enum(TRACE_PROPAGATORS)).default(['tracecontext', 'b3']),
    /** Ended spans held for export; beyond it new ones are dropped and counted. */
    maxQueueSize: z.number().int().min(1).max(1_000_000).default(2048),
    maxExportBatchSize: z.number().int().min(1).max(1_000_000).default(512),
    scheduleDelayMs: ms(1, 600_000).default(5000),
    /** Longest an export (with its retries) may take before its spans count as dropped. */
    exportTimeoutMs: ms(100, 600_000).default(10_000),
  })
  .prefault({})
  .refine((t) => t.maxExportBatchSize <= t.maxQueueSize, {
    message: 'maxExportBatchSize must not exceed maxQueueSize',
  });

export type TracingConfig = z.output<typeof TracingConfigSchema>;
