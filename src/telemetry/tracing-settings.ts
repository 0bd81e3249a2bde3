import { ConfigError } from '../config/config-error.js';
import {
  TRACE_PROPAGATORS,
  TRACE_PROTOCOLS,
  TRACE_SAMPLERS,
  type TracePropagator,
  type TraceProtocol,
  type TraceSampler,
  type TracingConfig,
} from '../config/tracing-config-schema.js';

/** Everything tracing runs with, resolved and checked once at start-up. */
export interface TracingSettings {
  readonly protocol: TraceProtocol;
  /** Where spans are sent: the OTLP/HTTP traces URL, or the OTLP/gRPC server's URL. */
  readonly endpoint: string;
  readonly serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, service.name taken out. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: TraceSampler;
  readonly samplerArg: number;
  /** Distinct, in order of precedence. */
  readonly propagators: readonly TracePropagator[];
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduleDelayMs: number;
  readonly exportTimeoutMs: number;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The OpenTelemetry variables read here (docs/observability.md lists the same; a test keeps them in step). The
 * OTLP exporter reads a few more itself: OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, _COMPRESSION, _CERTIFICATE,
 * _CLIENT_CERTIFICATE and _CLIENT_KEY.
 */
export const TRACING_VARIABLES = [
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_PROPAGATORS',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_EXPORT_TIMEOUT',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
] as const;
type TracingVariable = (typeof TRACING_VARIABLES)[number];

/** Where spans go when nothing says otherwise: a collector's OTLP port on the same host (the SDK defaults). */
export const DEFAULT_TRACES_ENDPOINTS: Readonly<Record<TraceProtocol, string>> = {
  'http/protobuf': 'http://localhost:4318/v1/traces',
  grpc: 'http://localhost:4317',
};

/**
 * The `tracing:` section with the OpenTelemetry environment variables read over it, the way the OpenTelemetry
 * SDKs read them (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/): a variable
 * that is set (and not empty) wins over the file. Undefined when tracing is off: it is on when the file
 * enables it, OTEL_TRACES_EXPORTER is `otlp`, or an OTLP endpoint variable is set; OTEL_SDK_DISABLED=true and
 * OTEL_TRACES_EXPORTER=none turn it off whatever else says. Every problem is reported at once, named by its
 * variable or key, in one ConfigError; variables are not looked at while tracing is off.
 */
export function resolveTracingSettings(
  config: TracingConfig,
  env: Environment,
  defaultServiceName: string,
): TracingSettings | undefined {
  const get = (name: TracingVariable): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const problems: string[] = [];
  if (get('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  const exporters = get('OTEL_TRACES_EXPORTER')
    ?.split(',')
    .map((e) => e.trim().toLowerCase());
  if (exporters?.includes('none')) return undefined;
  const tracesEndpoint = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = get('OTEL_EXPORTER_OTLP_ENDPOINT');
  const enabled =
    config.enabled ||
    exporters?.includes('otlp') === true ||
    tracesEndpoint !== undefined ||
    baseEndpoint !== undefined;
  if (!enabled) return undefined;

  const unsupported = exporters?.filter((e) => e !== 'otlp');
  if (unsupported !== undefined && unsupported.length > 0)
    problems.push(
      `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: authzd exports traces over OTLP only (otlp, or none to turn tracing off)`,
    );
  let protocol = config.protocol;
  const protocolVariable = (['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const).find(
    (name) => get(name) !== undefined,
  );
  if (protocolVariable !== undefined) {
    const value = get(protocolVariable)!;
    if ((TRACE_PROTOCOLS as readonly string[]).includes(value)) protocol = value as TraceProtocol;
    else
      problems.push(
        `${protocolVariable}=${value}: authzd sends OTLP as ${TRACE_PROTOCOLS.join(' or ')} (not http/json)`,
      );
  }

  // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the full URL; OTEL_EXPORTER_OTLP_ENDPOINT is the base that OTLP/HTTP
  // adds the signal's path to, and that OTLP/gRPC uses as it is.
  let endpoint = config.endpoint ?? DEFAULT_TRACES_ENDPOINTS[protocol];
  if (tracesEndpoint !== undefined) endpoint = checkUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint, problems);
  else if (baseEndpoint !== undefined) {
    const base = checkUrl('OTEL_EXPORTER_OTLP_ENDPOINT', baseEndpoint, problems);
    endpoint = protocol === 'grpc' ? base : `${base.replace(/\/$/, '')}/v1/traces`;
  }

  const resourceAttributes = parseResourceAttributes(get('OTEL_RESOURCE_ATTRIBUTES'), problems);
  const serviceName =
    get('OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? config.serviceName ?? defaultServiceName;
  delete resourceAttributes['service.name'];

  let sampler = config.sampler;
  const samplerName = get('OTEL_TRACES_SAMPLER');
  if (samplerName !== undefined) {
    if ((TRACE_SAMPLERS as readonly string[]).includes(samplerName)) sampler = samplerName as TraceSampler;
    else problems.push(`OTEL_TRACES_SAMPLER=${samplerName}: expected one of ${TRACE_SAMPLERS.join(', ')}`);
  }
  let samplerArg = config.samplerArg;
  const arg = get('OTEL_TRACES_SAMPLER_ARG');
  if (arg !== undefined) {
    const ratio = Number(arg);
    if (/^\d*\.?\d+(e-?\d+)?$/i.test(arg) && ratio >= 0 && ratio <= 1) samplerArg = ratio;
    else problems.push(`OTEL_TRACES_SAMPLER_ARG=${arg}: expected a ratio from 0 to 1`);
  }

  let propagators: readonly TracePropagator[] = config.propagators;
  const propagatorList = get('OTEL_PROPAGATORS');
  if (propagatorList !== undefined) {
    const names = propagatorList.split(',').map((p) => p.trim().toLowerCase());
    const unknown = names.filter((p) => p !== 'none' && p !== 'baggage' && !isPropagator(p));
    if (unknown.length > 0)
      problems.push(
        `OTEL_PROPAGATORS=${propagatorList}: authzd reads ${TRACE_PROPAGATORS.join(', ')} (baggage is ignored, none reads nothing); not ${unknown.join(', ')}`,
      );
    // Baggage carries no trace context, and no span of authzd's would use it.
    propagators = names.includes('none') ? [] : names.filter(isPropagator);
  }

  const integer = (name: TracingVariable, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (/^\d{1,10}$/.test(raw) && n >= min && n <= max) return n;
    problems.push(`${name}=${raw}: expected a whole number from ${min} to ${max}`);
    return fallback;
  };
  const maxQueueSize = integer('OTEL_BSP_MAX_QUEUE_SIZE', config.maxQueueSize, 1, 1_000_000);
  const maxExportBatchSize = integer('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', config.maxExportBatchSize, 1, 1_000_000);
  if (maxExportBatchSize > maxQueueSize)
    problems.push(
      `the export batch size (${maxExportBatchSize}) exceeds the queue size (${maxQueueSize}): OTEL_BSP_MAX_EXPORT_BATCH_SIZE / tracing.maxExportBatchSize must not exceed OTEL_BSP_MAX_QUEUE_SIZE / tracing.maxQueueSize`,
    );
  const scheduleDelayMs = integer('OTEL_BSP_SCHEDULE_DELAY', config.scheduleDelayMs, 1, 600_000);
  // One bound for an export and its retries: the exporter's request timeout and the batch processor's wait.
  const timeoutVariable =
    (['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_BSP_EXPORT_TIMEOUT'] as const).find(
      (name) => get(name) !== undefined,
    ) ?? 'OTEL_BSP_EXPORT_TIMEOUT';
  const exportTimeoutMs = integer(timeoutVariable, config.exportTimeoutMs, 100, 600_000);

  if (problems.length > 0) throw new ConfigError(problems.map((p) => `tracing: ${p}`));
  return Object.freeze({
    protocol,
    endpoint,
    serviceName,
    resourceAttributes: Object.freeze(resourceAttributes),
    sampler,
    samplerArg,
    propagators: Object.freeze([...new Set(propagators)]),
    maxQueueSize,
    maxExportBatchSize,
    scheduleDelayMs,
    exportTimeoutMs,
  });
}

const isPropagator = (p: string): p is TracePropagator => (TRACE_PROPAGATORS as readonly string[]).includes(p);

function checkUrl(name: string, value: string, problems: string[]): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    problems.push(`${name}=${value}: expected an http:// or https:// URL`);
    return value;
  }
  return url.href;
}

/** `key=value,key=value` with percent-encoded values (the W3C Baggage octets), as the specification has it. */
function parseResourceAttributes(raw: string | undefined, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined) return out;
  for (const pair of raw.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    let value: string | undefined;
    try {
      value = eq > 0 ? decodeURIComponent(pair.slice(eq + 1).trim()) : undefined;
    } catch {
      value = undefined;
    }
    if (key === '' || value === undefined) {
      problems.push(`OTEL_RESOURCE_ATTRIBUTES: ${JSON.stringify(pair)} is not key=value (values percent-encoded)`);
      continue;
    }
    out[key] = value;
  }
  return out;
}
