import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  trace,
  type Tracer,
} from '@opentelemetry/api';

import type { CallTrace, StageSpan, TracedStage } from '../contract/call-trace.js';
import type { CheckRequestMessage, HttpMessage } from '../contract/check-request.js';
import type { CheckOutcome } from '../contract/decision.js';

/** Which listener a Check came in on. */
export type CheckTransport = 'grpc' | 'http';

/**
 * The attributes of a Check span (docs/observability.md lists the same; a test keeps them in step). What the
 * audit event says about a decision, less its principal, resource, tenant and request: the route and
 * the policies identify the decision, the decision id leads to the audit event for the rest. Never a token,
 * a header or a claim value.
 */
export const CHECK_SPAN_ATTRIBUTES = [
  'authzd.transport',
  'authzd.decision',
  'authzd.reason',
  'authzd.decision_id',
  'authzd.policies',
  'authzd.route',
  'authzd.risk',
  'authzd.source',
  'authzd.policy_version',
  'rpc.system',
  'rpc.service',
  'rpc.method',
] as const satisfies readonly string[];
type CheckSpanAttribute = (typeof CHECK_SPAN_ATTRIBUTES)[number];

/** Attributes of the stage spans (docs/observability.md). */
export const STAGE_SPAN_ATTRIBUTES = ['authzd.remote.result', 'authzd.remote.budget_ms'] as const;

// gRPC server spans are named after the method, as the OpenTelemetry RPC conventions do; the HTTP listener
// serves one endpoint, so its spans carry one name.
const SPAN_NAMES: Record<CheckTransport, string> = {
  grpc: 'envoy.service.auth.v3.Authorization/Check',
  http: 'authzd.check',
};
const START_ATTRIBUTES: Record<CheckTransport, Partial<Record<CheckSpanAttribute, string>>> = {
  grpc: {
    'authzd.transport': 'grpc',
    'rpc.system': 'grpc',
    'rpc.service': 'envoy.service.auth.v3.Authorization',
    'rpc.method': 'Check',
  },
  http: { 'authzd.transport': 'http' },
};

/** Header names some propagator reads; only these are looked at. */
const TRACE_HEADERS = new Set([
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
]);
// No valid trace header comes near this (tracestate, the longest, is at most 512 characters); a longer value
// is not trace context, and is not parsed.
const MAX_TRACE_HEADER = 1024;

/** The trace headers of a CheckRequest's HTTP attributes, from the header map or header_map's entries. */
function traceHeaders(http: HttpMessage): Map<string, string> {
  const out = new Map<string, string>();
  const list = http.header_map?.headers;
  if (list !== undefined && list.length > 0) {
    for (const h of list) {
      const key = h.key?.toLowerCase();
      if (key === undefined || !TRACE_HEADERS.has(key)) continue;
      const value =
        h.raw_value !== undefined && h.raw_value.length > 0 ? h.raw_value.toString('latin1') : (h.value ?? '');
      const prior = out.get(key);
      out.set(key, prior === undefined ? value : `${prior},${value}`);
    }
  } else if (http.headers !== undefined) {
    for (const key of TRACE_HEADERS) {
      if (Object.hasOwn(http.headers, key)) out.set(key, http.headers[key]!);
    }
  }
  for (const [key, value] of out) if (value.length > MAX_TRACE_HEADER) out.delete(key);
  return out;
}

const GETTER: TextMapGetter<Map<string, string>> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key.toLowerCase()),
};

const NOOP_STAGE: StageSpan = { setAttribute: () => undefined, end: () => undefined, traceparent: () => undefined };

/**
 * Starts the span of one Check call: a child of the trace context the proxy forwarded in the request's
 * headers (Envoy's `traceparent`/`tracestate` or B3), else a root, either way only if the sampler says so.
 * Used only when tracing is on: with it off nothing here runs, and no span exists.
 */
export class CheckTracer {
  readonly #tracer: Tracer;
  readonly #propagator: TextMapPropagator;

  constructor(tracer: Tracer, propagator: TextMapPropagator) {
    this.#tracer = tracer;
    this.#propagator = propagator;
  }

  start(message: CheckRequestMessage, transport: CheckTransport): CheckSpan {
    const http = message.attributes?.request?.http;
    const parent =
      http === undefined ? ROOT_CONTEXT : this.#propagator.extract(ROOT_CONTEXT, traceHeaders(http), GETTER);
    const span = this.#tracer.startSpan(
      SPAN_NAMES[transport],
      { kind: SpanKind.SERVER, attributes: START_ATTRIBUTES[transport] },
      parent,
    );
    return new CheckSpan(this.#tracer, span);
  }
}

/** One Check call's span: the pipeline's stages become its children; the outcome its attributes. */
export class CheckSpan implements CallTrace {
  readonly #tracer: Tracer;
  readonly #span: Span;
  /** Sampled (and so exported): decided when the span starts; an ended span no longer says. */
  readonly #recording: boolean;
  #context: Context | undefined;

  constructor(tracer: Tracer, span: Span) {
    this.#tracer = tracer;
    this.#span = span;
    this.#recording = span.isRecording();
  }

  stage(name: TracedStage): StageSpan {
    // A call the sampler left out gets no stage spans either (they would not be exported).
    if (!this.#recording) return NOOP_STAGE;
    this.#context ??= trace.setSpan(ROOT_CONTEXT, this.#span);
    const span = this.#tracer.startSpan(name, { kind: SpanKind.INTERNAL }, this.#context);
    return {
      setAttribute: (key, value) => span.setAttribute(key, value),
      end: () => span.end(),
      traceparent: () => {
        const { traceId, spanId, traceFlags } = span.spanContext();
        return `00-${traceId}-${spanId}-${(traceFlags & 1) === 1 ? '01' : '00'}`;
      },
    };
  }

  /** The OpenMetrics exemplar labels that lead from a latency sample to this trace; none when not sampled. */
  exemplar(): { trace_id: string; span_id: string } | undefined {
    if (!this.#recording) return undefined;
    const { traceId, spanId } = this.#span.spanContext();
    return { trace_id: traceId, span_id: spanId };
  }

  /** Records the outcome and ends the span. */
  end(outcome: CheckOutcome): void {
    if (this.#recording) this.#span.setAttributes(outcomeAttributes(outcome));
    // A deny is an answer, not a failure: only an error outcome (a gRPC error, an HTTP 5xx) marks the span.
    if (outcome.kind === 'error') this.#span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.failure.reason });
    this.#span.end();
  }
}

function outcomeAttributes(outcome: CheckOutcome): Attributes {
  const out: Partial<Record<CheckSpanAttribute, string | string[]>> = {};
  if (outcome.kind === 'error') {
    const f = outcome.failure;
    out['authzd.decision'] = 'error';
    out['authzd.reason'] = f.reason;
    out['authzd.decision_id'] = f.id;
    if (f.policyVersion !== undefined) out['authzd.policy_version'] = f.policyVersion;
    return out;
  }
  const d = outcome.decision;
  out['authzd.decision'] = d.allowed ? 'allow' : 'deny';
  out['authzd.reason'] = d.reason;
  out['authzd.decision_id'] = d.id;
  out['authzd.policies'] = [...d.policies];
  out['authzd.source'] = d.source;
  out['authzd.policy_version'] = d.policyVersion;
  if (d.routeId !== undefined) out['authzd.route'] = d.routeId;
  if (d.risk !== undefined) out['authzd.risk'] = d.risk;
  return out;
}
