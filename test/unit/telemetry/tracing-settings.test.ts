import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../../src/config/config-error.js';
import { type TracingConfig, TracingConfigSchema } from '../../../src/config/tracing-config-schema.js';
import { DEFAULT_TRACES_ENDPOINTS, resolveTracingSettings } from '../../../src/telemetry/tracing-settings.js';

const file = (section: Record<string, unknown> = {}): TracingConfig => TracingConfigSchema.parse(section);
const resolve = (section: Record<string, unknown>, env: Record<string, string>) =>
  resolveTracingSettings(file(section), env, 'authzd');
const problems = (section: Record<string, unknown>, env: Record<string, string>): readonly string[] => {
  try {
    resolve(section, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('resolveTracingSettings', () => {
  it('is off by default: no section, no variables', () => {
    expect(resolve({}, {})).toBeUndefined();
    // Variables that configure tracing without turning it on change nothing, and are not even checked.
    expect(resolve({}, { OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'nonsense' })).toBeUndefined();
  });

  it('is on with tracing.enabled, OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint variable; the OpenTelemetry defaults apply', () => {
    const on = resolve({ enabled: true }, {});
    expect(on).toEqual({
      protocol: 'http/protobuf',
      endpoint: DEFAULT_TRACES_ENDPOINTS['http/protobuf'],
      serviceName: 'authzd',
      resourceAttributes: {},
      sampler: 'parentbased_always_on',
      samplerArg: 1,
      propagators: ['tracecontext', 'b3'],
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
      scheduleDelayMs: 5000,
      exportTimeoutMs: 10_000,
    });
    expect(Object.isFrozen(on)).toBe(true);
    expect(resolve({}, { OTEL_TRACES_EXPORTER: 'otlp' })?.endpoint).toBe(DEFAULT_TRACES_ENDPOINTS['http/protobuf']);
    expect(resolve({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })?.endpoint).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(resolve({}, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c.example/otlp/traces' })?.endpoint).toBe(
      'https://c.example/otlp/traces',
    );
  });

  it('OTLP/gRPC on request: its own default port, and the base endpoint used as it is', () => {
    expect(resolve({ enabled: true, protocol: 'grpc' }, {})).toMatchObject({
      protocol: 'grpc',
      endpoint: DEFAULT_TRACES_ENDPOINTS.grpc,
    });
    expect(
      resolve({}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' }),
    ).toMatchObject({ protocol: 'grpc', endpoint: 'http://collector:4317/' });
    // The traces-specific variable wins over the general one.
    expect(
      resolve(
        { enabled: true },
        { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' },
      )?.protocol,
    ).toBe('http/protobuf');
  });

  it('OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off whatever else says; empty variables are unset', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(resolve({ enabled: true }, { ...endpoint, OTEL_SDK_DISABLED: 'TRUE' })).toBeUndefined();
    expect(resolve({ enabled: true }, { ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(resolve({ enabled: true }, { OTEL_SDK_DISABLED: 'false' })).toBeDefined();
    expect(resolve({}, { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_TRACES_EXPORTER: ' ' })).toBeUndefined();
  });

  it('variables win over the file; the traces endpoint over the base one, which gets /v1/traces appended', () => {
    const section = {
      enabled: true,
      endpoint: 'http://file:4318/v1/traces',
      serviceName: 'from-file',
      sampler: 'always_off',
      samplerArg: 0.5,
      propagators: ['b3'],
      maxQueueSize: 100,
      maxExportBatchSize: 10,
      scheduleDelayMs: 50,
      exportTimeoutMs: 500,
    };
    expect(resolve(section, {})).toMatchObject({ endpoint: 'http://file:4318/v1/traces', serviceName: 'from-file' });
    expect(
      resolve(section, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318/',
        OTEL_SERVICE_NAME: 'from-env',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_PROPAGATORS: 'b3multi,tracecontext,baggage',
        OTEL_BSP_MAX_QUEUE_SIZE: '4096',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1024',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_BSP_EXPORT_TIMEOUT: '3000',
      }),
    ).toEqual({
      protocol: 'http/protobuf',
      endpoint: 'http://base:4318/v1/traces',
      serviceName: 'from-env',
      resourceAttributes: {},
      sampler: 'parentbased_traceidratio',
      samplerArg: 0.25,
      propagators: ['b3multi', 'tracecontext'],
      maxQueueSize: 4096,
      maxExportBatchSize: 1024,
      scheduleDelayMs: 200,
      exportTimeoutMs: 3000,
    });
    expect(
      resolve(section, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/custom',
      })?.endpoint,
    ).toBe('http://traces:4318/custom');
    // The exporter's own timeout variables, the traces one first, before the batch processor's.
    expect(
      resolve(section, { OTEL_BSP_EXPORT_TIMEOUT: '3000', OTEL_EXPORTER_OTLP_TIMEOUT: '4000' })?.exportTimeoutMs,
    ).toBe(4000);
    expect(
      resolve(section, { OTEL_EXPORTER_OTLP_TIMEOUT: '4000', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '5000' })
        ?.exportTimeoutMs,
    ).toBe(5000);
  });

  it('takes the service name from OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then the file, then the default', () => {
    const attributes = 'service.name=from-attributes,deployment.environment=prod,team=a%2Cb';
    expect(
      resolve({ enabled: true, serviceName: 'f' }, { OTEL_RESOURCE_ATTRIBUTES: attributes, OTEL_SERVICE_NAME: 'n' }),
    ).toMatchObject({ serviceName: 'n', resourceAttributes: { 'deployment.environment': 'prod', team: 'a,b' } });
    expect(resolve({ enabled: true, serviceName: 'f' }, { OTEL_RESOURCE_ATTRIBUTES: attributes })?.serviceName).toBe(
      'from-attributes',
    );
    expect(resolve({ enabled: true, serviceName: 'f' }, {})?.serviceName).toBe('f');
    expect(resolveTracingSettings(file({ enabled: true }), {}, 'authzd-control-plane')?.serviceName).toBe(
      'authzd-control-plane',
    );
  });

  it('OTEL_PROPAGATORS=none reads no trace context; so does an empty list in the file', () => {
    expect(resolve({ enabled: true }, { OTEL_PROPAGATORS: 'none' })?.propagators).toEqual([]);
    expect(resolve({ enabled: true, propagators: [] }, {})?.propagators).toEqual([]);
  });

  it('reports every bad variable at once, by name, and refuses what authzd cannot do', () => {
    expect(
      problems(
        { enabled: true },
        {
          OTEL_TRACES_EXPORTER: 'zipkin',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
          OTEL_TRACES_SAMPLER: 'jaeger_remote',
          OTEL_TRACES_SAMPLER_ARG: '1.5',
          OTEL_PROPAGATORS: 'tracecontext,xray',
          OTEL_BSP_MAX_QUEUE_SIZE: '-1',
          OTEL_BSP_SCHEDULE_DELAY: 'soon',
          OTEL_RESOURCE_ATTRIBUTES: 'novalue',
        },
      ),
    ).toEqual([
      'tracing: OTEL_TRACES_EXPORTER=zipkin: authzd exports traces over OTLP only (otlp, or none to turn tracing off)',
      'tracing: OTEL_EXPORTER_OTLP_PROTOCOL=http/json: authzd sends OTLP as http/protobuf or grpc (not http/json)',
      'tracing: OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318: expected an http:// or https:// URL',
      'tracing: OTEL_RESOURCE_ATTRIBUTES: "novalue" is not key=value (values percent-encoded)',
      'tracing: OTEL_TRACES_SAMPLER=jaeger_remote: expected one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio',
      'tracing: OTEL_TRACES_SAMPLER_ARG=1.5: expected a ratio from 0 to 1',
      'tracing: OTEL_PROPAGATORS=tracecontext,xray: authzd reads tracecontext, b3, b3multi (baggage is ignored, none reads nothing); not xray',
      'tracing: OTEL_BSP_MAX_QUEUE_SIZE=-1: expected a whole number from 1 to 1000000',
      'tracing: OTEL_BSP_SCHEDULE_DELAY=soon: expected a whole number from 1 to 600000',
    ]);
    expect(
      problems({ enabled: true }, { OTEL_BSP_MAX_QUEUE_SIZE: '10', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20' }),
    ).toEqual([
      'tracing: the export batch size (20) exceeds the queue size (10): OTEL_BSP_MAX_EXPORT_BATCH_SIZE / tracing.maxExportBatchSize must not exceed OTEL_BSP_MAX_QUEUE_SIZE / tracing.maxQueueSize',
    ]);
  });

  it('the file section is validated like every other: unknown keys and bad values are refused', () => {
    expect(TracingConfigSchema.safeParse({ enable: true }).success).toBe(false);
    expect(TracingConfigSchema.safeParse({ endpoint: 'grpc://collector:4317' }).success).toBe(false);
    expect(TracingConfigSchema.safeParse({ samplerArg: 2 }).success).toBe(false);
    expect(TracingConfigSchema.safeParse({ propagators: ['jaeger'] }).success).toBe(false);
    expect(TracingConfigSchema.safeParse({ maxQueueSize: 10, maxExportBatchSize: 11 }).success).toBe(false);
  });
});
