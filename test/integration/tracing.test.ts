// Traces end to end: a sidecar exporting over OTLP (HTTP/protobuf, and gRPC) to a real OTLP receiver
// (test/tools/otlp-receiver: the OpenTelemetry Collector's pdata decoding, built by npm test first), Check calls
// carrying the trace context Envoy forwards, and what arrives: the right parent, the right attributes, nothing
// for a request sampled out, and, with the receiver down or hung, every decision answered all the same, the
// lost spans counted.
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../helpers/free-port.js';
import { createTestIssuer, type TestIssuer } from '../helpers/issuer.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

const CHECK = 'envoy.service.auth.v3.Authorization/Check';
const SERVER = 2;
const INTERNAL = 1;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** A fresh W3C trace context: the trace id, the caller's span id, and the traceparent header. */
function traceparent(sampled = true) {
  const traceId = hex(16);
  const parentId = hex(8);
  return { traceId, parentId, header: `00-${traceId}-${parentId}-${sampled ? '01' : '00'}` };
}
const counter = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
};

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});

describe.each([
  ['http/protobuf', (r: OtlpReceiver) => r.httpUrl],
  ['grpc', (r: OtlpReceiver) => r.grpcUrl],
] as const)('spans exported over OTLP (%s) to a real receiver', (protocol, endpointOf) => {
  let receiver: OtlpReceiver;
  let sidecar: Awaited<ReturnType<typeof startTestAuthzd>>;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    sidecar = await startTestAuthzd(
      issuer,
      { tracing: { enabled: true, scheduleDelayMs: 20 } },
      {
        env: {
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpointOf(receiver),
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_SERVICE_NAME: 'authzd-under-test',
        },
      },
    );
  });
  afterAll(async () => {
    await sidecar?.stop();
    await receiver?.stop();
  });
  const spansOf = (traceId: string, count: number) =>
    until(`${count} spans of trace ${traceId}`, () => {
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      return spans.length >= count ? spans : undefined;
    });
  const named = (spans: readonly ReceivedSpan[], name: string) => spans.find((s) => s.name === name)!;

  it('a Check is a server span, child of the forwarded traceparent, with the decision and its stages as children', async () => {
    const ctx = traceparent();
    const token = await issuer.sign({ sub: 'alice', email: 'alice@bank.example' });
    const response = await sidecar.client.check(
      httpCheckRequest({ path: '/accounts/acc-1001', token, headers: { traceparent: ctx.header } }),
    );
    expect(response.http_response).toBe('ok_response');
    const decisionId = response.ok_response.headers.find((h: any) => h.header.key === 'x-authz-decision-id').header
      .value as string;
    // The Check span, the token's verification (not cached yet) and the engine's evaluation.
    const spans = await spansOf(ctx.traceId, 3);
    const check = named(spans, CHECK);
    expect(check).toMatchObject({ parentSpanId: ctx.parentId, kind: SERVER });
    expect(check.attributes).toEqual({
      'authzd.transport': 'grpc',
      'rpc.system': 'grpc',
      'rpc.service': 'envoy.service.auth.v3.Authorization',
      'rpc.method': 'Check',
      'authzd.decision': 'allow',
      'authzd.reason': 'policy_allowed',
      'authzd.decision_id': decisionId,
      'authzd.policies': ['account-owner-read'],
      'authzd.route': 'get-account',
      'authzd.risk': 'low',
      'authzd.source': 'engine',
      'authzd.policy_version': sidecar.app.store.version,
    });
    expect(check.status.code ?? 0).toBe(0);
    expect(check.resource).toMatchObject({ 'service.name': 'authzd-under-test', 'telemetry.sdk.language': 'nodejs' });
    for (const stage of ['authzd.authenticate', 'authzd.evaluate'])
      expect(named(spans, stage)).toMatchObject({ parentSpanId: check.spanId, kind: INTERNAL });
    // No token, no claim value, no header: the spans of this trace, as exported, hold none of them.
    const exported = receiver.requests.filter((r) => r.includes(ctx.traceId)).join('\n');
    for (const secret of [token, token.split('.')[2]!, 'alice', 'acc-1001', 'curl/8.5.0'])
      expect(exported).not.toContain(secret);
  });

  it('reads B3 (single header and X-B3-*) as well; a deny is an answer, not an error span', async () => {
    const traceId = hex(16);
    const parentId = hex(8);
    const denied = await sidecar.client.check(
      httpCheckRequest({ path: '/accounts/acc-1001', headers: { b3: `${traceId}-${parentId}-1` } }),
    );
    expect(denied.http_response).toBe('denied_response');
    const check = named(await spansOf(traceId, 1), CHECK);
    expect(check.parentSpanId).toBe(parentId);
    expect(check.attributes).toMatchObject({ 'authzd.decision': 'deny', 'authzd.reason': 'token_missing' });
    expect(check.status.code ?? 0).toBe(0);

    const multi = { traceId: hex(16), parentId: hex(8) };
    await sidecar.client.check(
      httpCheckRequest({
        path: '/accounts/acc-1001',
        headers: { 'x-b3-traceid': multi.traceId, 'x-b3-spanid': multi.parentId, 'x-b3-sampled': '1' },
      }),
    );
    expect(named(await spansOf(multi.traceId, 1), CHECK).parentSpanId).toBe(multi.parentId);
  });

  it('a request without trace context is a root span (the root sampler says yes); one sampled out exports nothing', async () => {
    const before = new Set(receiver.spans.map((s) => s.spanId));
    const out = traceparent(false);
    const token = await issuer.sign({ sub: 'alice' });
    const answered = await sidecar.client.check(
      httpCheckRequest({ path: '/accounts/acc-1001', token, headers: { traceparent: out.header } }),
    );
    expect(answered.http_response).toBe('ok_response');
    // No exemplar either: the latency sample of a call sampled out leads to no trace.
    const root = await sidecar.client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
    expect(root.http_response).toBe('ok_response');
    const fresh = await until('the root span', () => {
      const found = receiver.spans.find((s) => !before.has(s.spanId) && s.name === CHECK);
      return found;
    });
    expect(fresh.parentSpanId).toBeUndefined();
    // Spans leave in the order they ended: the later call's span arrived, so the earlier one would have.
    expect(receiver.spans.filter((s) => s.traceId === out.traceId)).toEqual([]);
    expect(receiver.requests.join('\n')).not.toContain(out.traceId);
  });

  it('the latency histogram carries the trace id as an OpenMetrics exemplar', async () => {
    const ctx = traceparent();
    await sidecar.client.check(
      httpCheckRequest({
        path: '/accounts/acc-1001',
        token: await issuer.sign({ sub: 'alice' }),
        headers: { traceparent: ctx.header },
      }),
    );
    const res = await fetch(`http://127.0.0.1:${sidecar.app.adminPort}/metrics`, {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
    });
    expect(res.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    const text = await res.text();
    expect(text.trimEnd().endsWith('# EOF')).toBe(true);
    const span = named(await spansOf(ctx.traceId, 1), CHECK);
    const bucket = text
      .split('\n')
      .find((l) => l.startsWith('authzd_check_duration_seconds_bucket') && l.includes(`trace_id="${ctx.traceId}"`));
    expect(bucket).toContain(`span_id="${span.spanId}"`);
    // The text format (what curl gets) has no exemplars, and still its _total names.
    const plain = await sidecar.metricsText();
    expect(plain).not.toContain('trace_id=');
    expect(plain).toContain('authzd_decisions_total{');
    expect(counter(plain, 'authzd_trace_spans_exported_total')).toBeGreaterThan(0);
  });
});

describe('a collector that is away costs no decision', () => {
  it('down (nothing listens): every call is answered, the lost spans are counted', async () => {
    const port = await freePort();
    const sidecar = await startTestAuthzd(
      issuer,
      { tracing: { enabled: true, scheduleDelayMs: 10, exportTimeoutMs: 500 } },
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } },
    );
    try {
      const token = await issuer.sign({ sub: 'alice' });
      for (let i = 0; i < 20; i++) {
        const r = await sidecar.client.check(
          httpCheckRequest({ path: '/accounts/acc-1001', token, headers: { traceparent: traceparent().header } }),
        );
        expect(r.http_response).toBe('ok_response');
      }
      await until('export failures counted', async () => {
        const n = counter(await sidecar.metricsText(), 'authzd_trace_spans_dropped_total{reason="export_failed"}');
        return n > 0 ? n : undefined;
      });
      expect(sidecar.logLines.some((l) => /trace export failed/.test(l.msg))).toBe(true);
    } finally {
      await sidecar.stop();
    }
  });

  it('hung (takes requests, never answers): calls do not wait for it; a full queue drops new spans and counts them', async () => {
    const hung = await startOtlpReceiver({ stall: true });
    const exportTimeoutMs = 15_000;
    const sidecar = await startTestAuthzd(
      issuer,
      { tracing: { enabled: true, scheduleDelayMs: 10, maxQueueSize: 8, maxExportBatchSize: 4, exportTimeoutMs } },
      { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: hung.httpUrl } },
    );
    try {
      const token = await issuer.sign({ sub: 'alice' });
      const started = Date.now();
      for (let i = 0; i < 100; i++) {
        const r = await sidecar.client.check(
          httpCheckRequest({ path: '/accounts/acc-1001', token, headers: { traceparent: traceparent().header } }),
        );
        expect(r.http_response).toBe('ok_response');
      }
      const elapsed = Date.now() - started;
      const text = await sidecar.metricsText();
      // Every call was answered while the first exports still hung (none has timed out yet): no call waited.
      expect(elapsed).toBeLessThan(exportTimeoutMs);
      expect(counter(text, 'authzd_trace_spans_dropped_total{reason="export_failed"}')).toBe(0);
      expect(counter(text, 'authzd_trace_spans_exported_total')).toBe(0);
      // 100 calls made at least 100 spans (a Check span each; the token's verification and the engine's
      // evaluation are traced until their answers are cached); at most 8 are held, queued or in an export:
      // the rest were dropped on arrival and counted.
      expect(counter(text, 'authzd_trace_spans_dropped_total{reason="queue_full"}')).toBeGreaterThanOrEqual(100 - 8);
    } finally {
      // Shutting down waits for the hung export up to its timeout, no longer.
      await sidecar.stop();
      await hung.stop();
    }
  }, 60_000);
});
