// The control plane's spans, exported to a real OTLP receiver (test/tools/otlp-receiver): a publication (the
// request and the publication inside it), a bundle long poll that a publication wakes, and a revocation added
// and fetched; each a child of the trace context its request carried, so that a slow propagation can be
// followed from the publish to the sidecars' fetches. No revoked value and no token reaches a span.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { generateSigningKeys } from '../../src/bundle/bundle-keys.js';
import { writeTar } from '../../src/bundle/write-tar.js';
import { type ControlPlaneOptions, DEFAULT_TIMING } from '../../src/control-plane/control-plane-options.js';
import { type ControlPlane, startControlPlane } from '../../src/control-plane/start-control-plane.js';
import { createLogger } from '../../src/telemetry/create-logger.js';
import { createTestIssuer } from '../helpers/issuer.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { EXAMPLE_POLICIES, examplePolicyFiles } from '../helpers/policy-files.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

const ADMIN = 'cp-trace-admin-token-0123456789abcdef';
const SERVER = 2;
let receiver: OtlpReceiver;
let cp: ControlPlane;
let base: string;
let dir: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-cp-tracing-'));
  cpSync(EXAMPLE_POLICIES, path.join(dir, 'policies'), { recursive: true });
  const keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'ES256', kid: 'trace-test' });
  const options: ControlPlaneOptions = {
    policies: path.join(dir, 'policies'),
    signingKeyFile: keys.privateKeyFile,
    kid: keys.kid,
    address: '127.0.0.1:0',
    store: { kind: 'directory', directory: path.join(dir, 'data') },
    bundleName: 'bank',
    scope: 'bank-prod',
    adminToken: ADMIN,
    readToken: undefined,
    history: 5,
    timing: { ...DEFAULT_TIMING, waitTickMs: 50 },
  };
  cp = await startControlPlane(options, {
    logger: createLogger('silent'),
    env: {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.httpUrl,
      OTEL_BSP_SCHEDULE_DELAY: '20',
      OTEL_SERVICE_NAME: 'cp-under-test',
    },
  });
  base = `http://127.0.0.1:${cp.port}`;
});
afterAll(async () => {
  await cp?.shutdown();
  await receiver?.stop();
});

const context = () => {
  const traceId = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const parentId = [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('');
  return { traceId, parentId, traceparent: `00-${traceId}-${parentId}-01` };
};
const spansOf = (traceId: string, names: string[]) =>
  until(`spans ${names.join(', ')} of ${traceId}`, () => {
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    return names.every((n) => spans.some((s) => s.name === n)) ? spans : undefined;
  });
const named = (spans: readonly ReceivedSpan[], name: string) => spans.find((s) => s.name === name)!;
const upload = (marker: string) =>
  gzipSync(
    writeTar(
      [
        ...examplePolicyFiles({
          'uploaded.cedar': `@id("${marker}") forbid (principal, action, resource) when { false };`,
        }),
      ].map(([n, t]) => [n, Buffer.from(t)] as const),
    ),
  );

it('a publication: the request span, child of the caller, and the publication inside it', async () => {
  const ctx = context();
  const res = await fetch(`${base}/v1/bundles/bank/publish`, {
    method: 'POST',
    body: upload('first-upload'),
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/gzip', traceparent: ctx.traceparent },
  });
  expect(res.status).toBe(200);
  const { revision } = (await res.json()) as { revision: number };
  const spans = await spansOf(ctx.traceId, ['POST /v1/bundles/{name}/publish', 'authzd.publish']);
  const request = named(spans, 'POST /v1/bundles/{name}/publish');
  expect(request).toMatchObject({ parentSpanId: ctx.parentId, kind: SERVER });
  expect(request.attributes).toMatchObject({
    'http.request.method': 'POST',
    'http.route': '/v1/bundles/{name}/publish',
    'http.response.status_code': 200,
    'authzd.cp.route': 'bundle_publish',
  });
  const publish = named(spans, 'authzd.publish');
  expect(publish.parentSpanId).toBe(request.spanId);
  expect(publish.attributes).toMatchObject({
    'authzd.publish.trigger': 'upload',
    'authzd.publish.result': 'published',
    'authzd.bundle.revision': revision,
  });
  expect(request.resource['service.name']).toBe('cp-under-test');
  expect(receiver.requests.join('\n')).not.toContain(ADMIN);
});

it('a bundle long poll woken by a publication: parked and woken events, and the revision it sent', async () => {
  const current = await fetch(`${base}/v1/bundles/bank`);
  const etag = current.headers.get('etag')!;
  const ctx = context();
  const polled = fetch(`${base}/v1/bundles/bank?wait=30`, {
    headers: { 'if-none-match': etag, traceparent: ctx.traceparent },
  });
  await until('the long poll parked', receiverParked);
  const published = await fetch(`${base}/v1/bundles/bank/publish`, {
    method: 'POST',
    body: upload('second-upload'),
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/gzip' },
  });
  const { revision } = (await published.json()) as { revision: number };
  const answer = await polled;
  expect(answer.status).toBe(200);
  const span = named(await spansOf(ctx.traceId, ['GET /v1/bundles/{name}']), 'GET /v1/bundles/{name}');
  expect(span.parentSpanId).toBe(ctx.parentId);
  expect(span.attributes).toMatchObject({
    'authzd.bundle.revision': revision,
    'authzd.bundle.sent': true,
    'http.response.status_code': 200,
  });
  expect(span.events.map((e) => e.name)).toEqual(['authzd.long_poll.parked', 'authzd.long_poll.woken']);
});

/** The long poll is parked once a waiter is registered (the control plane's own gauge of waiters). */
async function receiverParked(): Promise<true | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('authzd_cp_long_poll_waiters{feed="bundle"}'));
  return line !== undefined && Number(line.split(' ')[1]) > 0 ? true : undefined;
}

it('a revocation added and fetched: sequence and kind, never the revoked value', async () => {
  const add = context();
  const created = await fetch(`${base}/v1/revocations`, {
    method: 'POST',
    body: JSON.stringify({ kind: 'sid', value: 'mallory-session-0042', ttlSeconds: 600 }),
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', traceparent: add.traceparent },
  });
  expect(created.status).toBe(201);
  const { seq } = (await created.json()) as { seq: number };
  const added = named(await spansOf(add.traceId, ['POST /v1/revocations']), 'POST /v1/revocations');
  expect(added.parentSpanId).toBe(add.parentId);
  expect(added.attributes).toMatchObject({ 'authzd.revocation.seq': seq, 'authzd.revocation.kind': 'sid' });

  const feed = context();
  expect((await fetch(`${base}/v1/revocations?since=0`, { headers: { traceparent: feed.traceparent } })).status).toBe(
    200,
  );
  const fetched = named(await spansOf(feed.traceId, ['GET /v1/revocations']), 'GET /v1/revocations');
  expect(fetched.attributes).toMatchObject({ 'authzd.revocation.since': 0, 'authzd.revocation.seq': seq });
  expect(receiver.requests.join('\n')).not.toContain('mallory-session-0042');
});

it("a sidecar's remote-tier call continues its trace: the control plane's span is a child of authzd.remote", async () => {
  // The example policies with the high risk class decided remotely, by this control plane.
  const policies = path.join(dir, 'sidecar-policies');
  cpSync(EXAMPLE_POLICIES, policies, { recursive: true });
  const routes = readFileSync(path.join(policies, 'routes.yaml'), 'utf8');
  expect(routes).toContain('remote: false');
  writeFileSync(path.join(policies, 'routes.yaml'), routes.replace('remote: false', 'remote: true'));
  const issuer = await createTestIssuer();
  const sidecar = await startTestAuthzd(
    issuer,
    {
      policies: { directory: policies },
      remote: { url: `${base}/v1/authorize` },
      tracing: { enabled: true, scheduleDelayMs: 20 },
    },
    { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.httpUrl } },
  );
  try {
    const ctx = context();
    const token = await issuer.sign({
      sub: 'alice',
      scope: 'payments:write',
      acr: 'mfa',
      auth_time: Math.floor(Date.now() / 1000),
    });
    const response = await sidecar.client.check(
      httpCheckRequest({
        method: 'POST',
        path: '/accounts/acc-1001/transfers',
        token,
        headers: { traceparent: ctx.traceparent },
      }),
    );
    expect(response.http_response).toBe('ok_response');
    const spans = await spansOf(ctx.traceId, [
      'envoy.service.auth.v3.Authorization/Check',
      'authzd.remote',
      'POST /v1/authorize',
    ]);
    const check = named(spans, 'envoy.service.auth.v3.Authorization/Check');
    expect(check.attributes).toMatchObject({ 'authzd.source': 'remote', 'authzd.risk': 'high' });
    const remote = named(spans, 'authzd.remote');
    expect(remote.parentSpanId).toBe(check.spanId);
    expect(remote.attributes).toMatchObject({ 'authzd.remote.result': 'ok' });
    const served = named(spans, 'POST /v1/authorize');
    expect(served.parentSpanId).toBe(remote.spanId);
    expect(served.resource['service.name']).toBe('cp-under-test');
    expect(served.attributes).toMatchObject({ 'http.response.status_code': 200 });
  } finally {
    await sidecar.stop();
  }
});
