import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';

import type { CheckRequestMessage } from '../../../src/contract/check-request.js';
import type { CheckOutcome } from '../../../src/contract/decision.js';
import { CheckTracer } from '../../../src/telemetry/check-tracer.js';
import { tracePropagator } from '../../../src/telemetry/trace-propagator.js';
import { traceSampler } from '../../../src/telemetry/trace-sampler.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

function setup(sampler = traceSampler('parentbased_always_on', 1), propagators = ['tracecontext', 'b3'] as const) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return { exporter, tracer: new CheckTracer(provider.getTracer('test'), tracePropagator([...propagators])) };
}
const message = (headers: Record<string, string>): CheckRequestMessage => ({
  attributes: { request: { http: { method: 'GET', path: '/accounts/acc-1', headers } } },
});
const allow: CheckOutcome = {
  kind: 'decision',
  decision: {
    id: 'd-1',
    allowed: true,
    reason: 'policy_allowed',
    policies: ['p1', 'p2'],
    policyVersion: 'sha256:abc',
    routeId: 'get-account',
    risk: 'low',
    source: 'cache',
  } as unknown as Extract<CheckOutcome, { kind: 'decision' }>['decision'],
};

describe('CheckTracer', () => {
  it('makes the Check a child of the forwarded traceparent, its stages children of the Check', () => {
    const { exporter, tracer } = setup();
    const span = tracer.start(
      message({ traceparent: `00-${TRACE}-${PARENT}-01`, authorization: 'Bearer x.y.z' }),
      'grpc',
    );
    const evaluate = span.stage('authzd.evaluate');
    const traceparent = evaluate.traceparent();
    evaluate.end();
    span.end(allow);
    const [stage, check] = exporter.getFinishedSpans();
    // What a stage sends along on a request of its own (the remote tier's): its own context, sampled.
    expect(traceparent).toBe(`00-${TRACE}-${stage!.spanContext().spanId}-01`);
    expect(check!.spanContext().traceId).toBe(TRACE);
    expect(check!.parentSpanContext?.spanId).toBe(PARENT);
    expect(stage!.name).toBe('authzd.evaluate');
    expect(stage!.parentSpanContext?.spanId).toBe(check!.spanContext().spanId);
    expect(check!.attributes).toMatchObject({
      'authzd.decision': 'allow',
      'authzd.policies': ['p1', 'p2'],
      'authzd.source': 'cache',
      'authzd.risk': 'low',
    });
    expect(JSON.stringify(check!.attributes)).not.toContain('x.y.z');
    expect(span.exemplar()).toEqual({ trace_id: TRACE, span_id: check!.spanContext().spanId });
  });

  it('reads b3 (single and multi) and, listed first, lets W3C win when both are present', () => {
    const { exporter, tracer } = setup();
    tracer.start(message({ b3: `${TRACE}-${PARENT}-1` }), 'http').end(allow);
    const other = 'a'.repeat(32);
    tracer
      .start(message({ traceparent: `00-${TRACE}-${PARENT}-01`, b3: `${other}-${'b'.repeat(16)}-1` }), 'grpc')
      .end(allow);
    const [b3, both] = exporter.getFinishedSpans();
    expect(b3!.spanContext().traceId).toBe(TRACE);
    expect(b3!.name).toBe('authzd.check');
    expect(both!.spanContext().traceId).toBe(TRACE);
  });

  it('a sampled-out call records nothing: no span exported, no stage spans, no exemplar', () => {
    const { exporter, tracer } = setup();
    const span = tracer.start(message({ traceparent: `00-${TRACE}-${PARENT}-00` }), 'grpc');
    const stage = span.stage('authzd.remote');
    expect(stage.traceparent()).toBeUndefined();
    stage.end();
    span.end(allow);
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(span.exemplar()).toBeUndefined();
  });

  it('ignores malformed or oversized trace headers: the span is a root', () => {
    const { exporter, tracer } = setup();
    tracer.start(message({ traceparent: 'garbage' }), 'grpc').end(allow);
    tracer
      .start(message({ traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: `k=${'v'.repeat(2000)}` }), 'grpc')
      .end(allow);
    const [garbage, oversized] = exporter.getFinishedSpans();
    expect(garbage!.parentSpanContext).toBeUndefined();
    // The oversized tracestate is dropped; the traceparent beside it still counts.
    expect(oversized!.parentSpanContext?.spanId).toBe(PARENT);
    expect(oversized!.spanContext().traceState).toBeUndefined();
  });

  it('marks an error outcome, not a deny, as an error span', () => {
    const { exporter, tracer } = setup();
    tracer.start(message({}), 'grpc').end({
      kind: 'error',
      failure: { id: 'e-1', reason: 'internal_error', policyVersion: undefined, detail: 'x' },
    } as CheckOutcome);
    expect(exporter.getFinishedSpans()[0]!.status).toMatchObject({ code: 2, message: 'internal_error' });
  });
});
