import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Registry } from 'prom-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { createAuditLog } from '../../../src/audit/audit-log.js';
import { CheckPipeline } from '../../../src/check/check-pipeline.js';
import { type ConfigInput, ConfigSchema } from '../../../src/config/config-schema.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { CheckRequestMessage } from '../../../src/contract/check-request.js';
import type { CheckOutcome, Decision } from '../../../src/contract/decision.js';
import { REASON_CODES, REASONS } from '../../../src/contract/reasons.js';
import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../../../src/engine/policy-store.js';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { createCheckRunner } from '../../../src/server/check-runner.js';
import { clientAddress } from '../../../src/server/client-address.js';
import {
  denyStatusOverHttp,
  type HttpAuthzServer,
  startHttpAuthzServer,
} from '../../../src/server/http-authz-server.js';
import {
  type HttpMappingOptions,
  httpToCheckRequest,
  type IncomingAuthzRequest,
} from '../../../src/server/http-to-check-request.js';
import { trustedProxyMatcher } from '../../../src/server/trusted-proxy-matcher.js';
import { createLogger } from '../../../src/telemetry/create-logger.js';
import { createThrottle } from '../../../src/telemetry/create-throttle.js';
import { createMetrics } from '../../../src/telemetry/metrics.js';
import { TokenVerifier } from '../../../src/token/token-verifier.js';
import { testConfig } from '../../helpers/config.js';
import { loadEnvoyRoot } from '../../helpers/envoy-protos.js';
import { createTestIssuer, type TestIssuer } from '../../helpers/issuer.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';
import { validateEnvoyConfig } from '../../helpers/validate-envoy-config.js';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await createTestIssuer();
});

const LOOPBACK = trustedProxyMatcher(['127.0.0.1/32', '::1/128']);

function incoming(
  over: Omit<Partial<IncomingAuthzRequest>, 'headers'> & { headers?: Record<string, string | string[]> } = {},
): IncomingAuthzRequest {
  const headers = Object.fromEntries(
    Object.entries(over.headers ?? { host: 'bank.example.com' }).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]),
  );
  return {
    method: 'GET',
    target: '/accounts/acc-1001',
    httpVersion: '1.1',
    peerAddress: '127.0.0.1',
    peerPort: 40123,
    ...over,
    headers,
  };
}

const mapping = (over: Partial<HttpMappingOptions> = {}): HttpMappingOptions => ({
  originalRequest: 'request',
  pathPrefix: '',
  isTrustedProxy: LOOPBACK,
  ...over,
});
const httpOf = (m: { message: CheckRequestMessage }) => m.message.attributes!.request!.http!;
const sourceOf = (m: { message: CheckRequestMessage }) => m.message.attributes!.source?.address?.socket_address;

describe('httpToCheckRequest: where the original request comes from', () => {
  it('request (Envoy http_service): method, path, host and headers from the request itself', () => {
    const m = httpToCheckRequest(
      incoming({
        method: 'POST',
        target: '/accounts/acc-1001/transfers?dry=1',
        headers: {
          host: 'bank.example.com',
          authorization: 'Bearer abc',
          'x-forwarded-proto': 'https',
          'x-request-id': 'r-1',
          accept: ['a/b', 'c/d'],
        },
      }),
      mapping(),
    );
    expect(m.problem).toBeUndefined();
    expect(httpOf(m)).toMatchObject({
      method: 'POST',
      path: '/accounts/acc-1001/transfers?dry=1',
      host: 'bank.example.com',
      scheme: 'https',
      protocol: 'HTTP/1.1',
    });
    // Repeated headers are joined with "," as Envoy does, so the pipeline sees one value per name.
    expect(httpOf(m).headers).toMatchObject({ authorization: 'Bearer abc', 'x-request-id': 'r-1', accept: 'a/b,c/d' });
  });

  it('request: strips http.pathPrefix and refuses a path outside it', () => {
    const opts = mapping({ pathPrefix: '/authz' });
    expect(httpOf(httpToCheckRequest(incoming({ target: '/authz/accounts/acc-1001?x=1' }), opts)).path).toBe(
      '/accounts/acc-1001?x=1',
    );
    expect(httpOf(httpToCheckRequest(incoming({ target: '/authz' }), opts)).path).toBe('/');
    expect(httpOf(httpToCheckRequest(incoming({ target: '/authz?x=1' }), opts)).path).toBe('/?x=1');
    for (const target of ['/authzfoo/accounts/acc-1001', '/accounts/acc-1001']) {
      const m = httpToCheckRequest(incoming({ target }), opts);
      expect(m.problem).toBe('request path outside http.pathPrefix');
      expect(httpOf(m)).toMatchObject({ method: '', path: '' });
    }
  });

  it('request: ignores X-Original-* and X-Forwarded-Method/Uri a client may have slipped through the proxy', () => {
    const m = httpToCheckRequest(
      incoming({
        method: 'DELETE',
        target: '/accounts/acc-1001',
        headers: {
          host: 'h',
          'x-original-method': 'GET',
          'x-original-uri': '/public',
          'x-forwarded-uri': '/public',
          'x-forwarded-method': 'GET',
        },
      }),
      mapping(),
    );
    expect(httpOf(m)).toMatchObject({ method: 'DELETE', path: '/accounts/acc-1001', host: 'h' });
  });

  it('x-original (nginx auth_request): X-Original-Method + X-Original-URI, host from X-Forwarded-Host, else Host', () => {
    const nginx = {
      host: 'authzd.internal',
      'x-original-method': 'PUT',
      'x-original-uri': '/tenants/acme/billing-plan?from=ui',
      'x-forwarded-proto': 'https',
      // Sent by the client through nginx; this convention never reads them.
      'x-forwarded-method': 'GET',
      'x-forwarded-uri': '/public',
    };
    const opts = mapping({ originalRequest: 'x-original' });
    const m = httpToCheckRequest(
      incoming({ method: 'GET', target: '/_authz', headers: { ...nginx, 'x-forwarded-host': 'bank.example.com' } }),
      opts,
    );
    expect(m.problem).toBeUndefined();
    expect(httpOf(m)).toMatchObject({
      method: 'PUT',
      path: '/tenants/acme/billing-plan?from=ui',
      host: 'bank.example.com',
      scheme: 'https',
    });
    expect(httpOf(httpToCheckRequest(incoming({ target: '/_authz', headers: nginx }), opts)).host).toBe(
      'authzd.internal',
    );
  });

  it('x-forwarded (Traefik forwardAuth, Caddy): X-Forwarded-Method, -Uri, -Host, -Proto; X-Original-* ignored', () => {
    const m = httpToCheckRequest(
      incoming({
        target: '/',
        headers: {
          host: 'authzd:9193',
          'x-forwarded-method': 'GET',
          'x-forwarded-uri': '/accounts/acc-2001',
          'x-forwarded-host': 'bank.example.com',
          'x-forwarded-proto': 'https',
          'x-original-uri': '/public',
          'x-original-method': 'HEAD',
        },
      }),
      mapping({ originalRequest: 'x-forwarded' }),
    );
    expect(httpOf(m)).toMatchObject({
      method: 'GET',
      path: '/accounts/acc-2001',
      host: 'bank.example.com',
      scheme: 'https',
    });
  });

  it('a missing or repeated original-request header is a problem, and blanks method and path (request_invalid)', () => {
    const opts = mapping({ originalRequest: 'x-original' });
    const missingMethod = httpToCheckRequest(
      incoming({ headers: { host: 'h', 'x-original-uri': '/accounts/acc-1001' } }),
      opts,
    );
    expect(missingMethod.problem).toBe('x-original-method header missing');
    const missingUri = httpToCheckRequest(incoming({ headers: { host: 'h', 'x-original-method': 'GET' } }), opts);
    expect(missingUri.problem).toBe('x-original-uri header missing');
    const repeated = httpToCheckRequest(
      incoming({
        headers: {
          host: 'h',
          'x-original-method': 'GET',
          'x-original-uri': ['/accounts/acc-2001', '/accounts/acc-1001'],
        },
      }),
      opts,
    );
    expect(repeated.problem).toBe('x-original-uri header repeated');
    for (const m of [missingMethod, missingUri, repeated]) expect(httpOf(m)).toMatchObject({ method: '', path: '' });
  });
});

describe('the client address', () => {
  const trusted10 = trustedProxyMatcher(['127.0.0.1/32', '::1/128', '10.0.0.0/8']);

  it('is the TCP peer, with its port, when the peer is not a trusted proxy; X-Forwarded-For is then ignored', () => {
    const m = httpToCheckRequest(
      incoming({
        peerAddress: '203.0.113.7',
        peerPort: 5555,
        headers: { host: 'h', 'x-forwarded-for': '198.51.100.1' },
      }),
      mapping(),
    );
    expect(sourceOf(m)).toEqual({ address: '203.0.113.7', port_value: 5555 });
  });

  it('from a trusted proxy: the rightmost X-Forwarded-For entry that is not a trusted proxy, without a port', () => {
    // The client prepended 6.6.6.6 itself; the proxy appended the address it saw.
    const m = httpToCheckRequest(
      incoming({ headers: { host: 'h', 'x-forwarded-for': '6.6.6.6, 198.51.100.1' } }),
      mapping(),
    );
    expect(sourceOf(m)).toEqual({ address: '198.51.100.1' });
    expect(clientAddress('127.0.0.1', ['6.6.6.6, 198.51.100.1, 10.1.2.3'], trusted10)).toBe('198.51.100.1');
    expect(clientAddress('127.0.0.1', ['6.6.6.6', '198.51.100.1'], trusted10)).toBe('198.51.100.1');
    expect(clientAddress('127.0.0.1', ['[2001:db8::5]:443, 198.51.100.1:8080'], trusted10)).toBe('198.51.100.1');
  });

  it('from a trusted proxy without X-Forwarded-For: the proxy itself', () => {
    expect(sourceOf(httpToCheckRequest(incoming({ peerAddress: '127.0.0.1', peerPort: 4000 }), mapping()))).toEqual({
      address: '127.0.0.1',
      port_value: 4000,
    });
  });

  it('treats an IPv4-mapped peer like its IPv4 address, and a Unix-socket peer as trusted', () => {
    expect(clientAddress('::ffff:127.0.0.1', ['198.51.100.1'], LOOPBACK)).toBe('198.51.100.1');
    expect(clientAddress('::ffff:203.0.113.7', ['198.51.100.1'], LOOPBACK)).toBe('203.0.113.7');
    expect(clientAddress(undefined, ['198.51.100.1'], LOOPBACK)).toBe('198.51.100.1');
    expect(clientAddress(undefined, undefined, LOOPBACK)).toBeUndefined();
  });

  it('is unknown, not the proxy, when the deciding X-Forwarded-For entry is not an address', () => {
    expect(clientAddress('127.0.0.1', ['198.51.100.1, garbage'], LOOPBACK)).toBeUndefined();
    expect(
      sourceOf(httpToCheckRequest(incoming({ headers: { host: 'h', 'x-forwarded-for': 'unknown' } }), mapping())),
    ).toBeUndefined();
    // An unparsable entry left of the client is never read.
    expect(clientAddress('127.0.0.1', ['garbage, 198.51.100.1'], LOOPBACK)).toBe('198.51.100.1');
  });

  it('every hop trusted: the leftmost', () => {
    expect(clientAddress('127.0.0.1', ['10.0.0.9, 10.0.0.5'], trusted10)).toBe('10.0.0.9');
  });
});

describe('http.* configuration', () => {
  it('defaults: off, request line, no prefix, loopback proxies only', () => {
    expect(ConfigSchema.parse({}).http).toEqual({
      originalRequest: 'request',
      pathPrefix: '',
      trustedProxies: ['127.0.0.1/32', '::1/128'],
    });
  });

  it('--http-addr sets http.address over the file', () => {
    expect(loadConfig(undefined, { httpAddress: 'unix:///run/authzd/http.sock' }).http.address).toBe(
      'unix:///run/authzd/http.sock',
    );
  });

  it('rejects bad CIDRs, prefixes and conventions with their paths', () => {
    const result = ConfigSchema.safeParse({
      http: {
        address: 'nope',
        trustedProxies: ['10.0.0.0/33', '::1/129', 'fe80::1', 'example.com'],
        pathPrefix: 'authz/',
        originalRequest: 'x-real',
      },
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'http.address',
        'http.trustedProxies.0',
        'http.trustedProxies.1',
        'http.trustedProxies.3',
        'http.pathPrefix',
        'http.originalRequest',
      ]),
    );
    expect(paths).not.toContain('http.trustedProxies.2');
  });
});

// ---------------------------------------------------------------------------------------------------------

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

function request(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string> },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const running: HttpAuthzServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close(1000)));
});

type Pipeline = { check(message: CheckRequestMessage): Promise<CheckOutcome> };

async function harness(
  overrides: ConfigInput = {},
  opts: { activate?: boolean; pipeline?: (real: CheckPipeline) => Pipeline } = {},
) {
  const config = testConfig(issuer, overrides);
  const engine = new CedarWasmEngine({ validateRequests: config.policies.validateRequests });
  const store = new PolicyStore(engine);
  if (opts.activate !== false) store.activate(compilePolicyModel(examplePolicyFiles()));
  const verifier = new TokenVerifier(config.tokens, { now: Date.now });
  const real = new CheckPipeline({ config, store, engine, verifier, now: Date.now, newId: randomUUID });
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const auditLines: string[] = [];
  const audit = createAuditLog(config.audit, { stream: { write: (line: string) => void auditLines.push(line) } });
  const logLines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) });
  const seen: CheckRequestMessage[] = [];
  const inner = opts.pipeline?.(real) ?? real;
  const pipeline = { check: (m: CheckRequestMessage) => (seen.push(m), inner.check(m)) };
  const observed: [CheckRequestMessage, CheckOutcome][] = [];
  const observe = (m: CheckRequestMessage, o: CheckOutcome) => void observed.push([m, o]);
  const sinks = { metrics, audit, logger, throttle: createThrottle(10_000) };
  const runner = createCheckRunner({ pipeline, sinks, version: () => store.version, observe });
  const server = await startHttpAuthzServer('127.0.0.1:0', config, { runner, sinks });
  running.push(server);
  return {
    server,
    seen,
    observed,
    auditLines,
    logLines,
    audit: () => auditLines.map((l) => JSON.parse(l)),
    send: (o: Parameters<typeof request>[1]) => request(server.port, o),
    metricsText: () => registry.metrics(),
  };
}

describe('startHttpAuthzServer: answers', () => {
  it('allow: 200, the upstream headers as response headers, no body; one audit event with the same decision id', async () => {
    const h = await harness({ responses: { removeAuthorizationHeader: true } });
    const token = await issuer.sign({ sub: 'alice' });
    const res = await h.send({
      path: '/accounts/acc-1001',
      headers: { host: 'bank.example.com', authorization: `Bearer ${token}`, 'x-forwarded-for': '198.51.100.1' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(res.headers['x-authz-decision-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-authz-policy-version']).toEqual(expect.any(String));
    expect(res.headers['cache-control']).toBe('no-store');
    // Envoy http_service's counterpart of OkHttpResponse.headers_to_remove.
    expect(res.headers['x-envoy-auth-headers-to-remove']).toBe('authorization');
    expect(h.audit()).toEqual([
      expect.objectContaining({
        decision_id: res.headers['x-authz-decision-id'],
        decision: 'allow',
        reason: 'policy_allowed',
        route: 'get-account',
        request: expect.objectContaining({ method: 'GET', host: 'bank.example.com', path: '/accounts/acc-1001' }),
      }),
    ]);
    // The peer (this test, on loopback) is a trusted proxy, so X-Forwarded-For names the client.
    expect(h.seen[0].attributes!.source!.address!.socket_address!.address).toBe('198.51.100.1');
    expect(await h.metricsText()).toMatch(
      /authzd_decisions_total\{decision="allow",reason="policy_allowed",route="get-account",source="engine"\} 1/,
    );
    // The observe hook (shadow evaluation in start-authzd) sees the same message and outcome, once.
    expect(h.observed).toHaveLength(1);
    expect(h.observed[0][0]).toBe(h.seen[0]);
    expect(h.observed[0][1]).toMatchObject({ kind: 'decision', decision: { id: res.headers['x-authz-decision-id'] } });
  });

  it('deny: 401 with WWW-Authenticate (plain Bearer without a token, invalid_token with one), 403 with the JSON body', async () => {
    const h = await harness();
    const none = await h.send({ path: '/accounts/acc-1001', headers: { host: 'bank.example.com' } });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(none.body)).toEqual({
      error: 'unauthorized',
      reason: 'token_missing',
      decision_id: none.headers['x-authz-decision-id'],
    });

    const forged = await h.send({
      path: '/accounts/acc-1001',
      headers: { host: 'h', authorization: `Bearer ${await issuer.forge({ sub: 'alice' })}` },
    });
    expect(forged.status).toBe(401);
    expect(forged.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(JSON.parse(forged.body)).toMatchObject({ reason: 'token_signature_invalid' });

    const denied = await h.send({
      path: '/accounts/acc-2001',
      headers: { host: 'h', authorization: `Bearer ${await issuer.sign({ sub: 'alice' })}` },
    });
    expect(denied.status).toBe(403);
    expect(denied.headers['content-type']).toBe('application/json');
    expect(JSON.parse(denied.body)).toEqual({
      error: 'forbidden',
      reason: 'policy_denied',
      policies: ['tenant-isolation'],
      decision_id: denied.headers['x-authz-decision-id'],
    });
    // Envoy and Traefik relay the body itself: no copy in the request convention.
    expect(denied.headers['x-authz-deny-body']).toBeUndefined();
    expect(h.audit().map((e) => [e.decision, e.reason])).toEqual([
      ['deny', 'token_missing'],
      ['deny', 'token_signature_invalid'],
      ['deny', 'policy_denied'],
    ]);
  });

  it('400: an ambiguous path (path_invalid), and an original request the proxy did not describe (request_invalid, logged once)', async () => {
    const h = await harness({ http: { originalRequest: 'x-original' } });
    const token = await issuer.sign({ sub: 'alice' });
    const bad = await h.send({
      path: '/_authz',
      headers: {
        host: 'h',
        authorization: `Bearer ${token}`,
        'x-original-method': 'GET',
        'x-original-uri': '/accounts/..%2Fadmin',
      },
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: 'bad_request', reason: 'path_invalid' });
    // nginx's auth_request drops the body; in the header conventions a copy travels in a header.
    expect(bad.headers['x-authz-deny-body']).toBe(bad.body);
    for (let i = 0; i < 2; i++) {
      const missing = await h.send({
        path: '/_authz',
        headers: { host: 'h', authorization: `Bearer ${token}`, 'x-original-uri': '/accounts/acc-1001' },
      });
      expect(missing.status).toBe(400);
      expect(JSON.parse(missing.body)).toMatchObject({ reason: 'request_invalid' });
    }
    expect(h.logLines.filter((l) => l.includes('original request not recoverable'))).toHaveLength(1);
    expect(h.logLines.find((l) => l.includes('original request not recoverable'))).toContain(
      'x-original-method header missing',
    );
    expect(h.audit().map((e) => e.reason)).toEqual(['path_invalid', 'request_invalid', 'request_invalid']);
  });

  it('503 for policy_unavailable and jwks_unavailable, 500 for internal_error: {error, reason, decision_id} and nothing more', async () => {
    const idle = await harness({}, { activate: false });
    const unavailable = await idle.send({ path: '/accounts/acc-1001', headers: { host: 'h' } });
    expect(unavailable.status).toBe(503);
    expect(JSON.parse(unavailable.body)).toEqual({
      error: 'service_unavailable',
      reason: 'policy_unavailable',
      decision_id: unavailable.headers['x-authz-decision-id'],
    });
    expect(idle.audit()).toEqual([
      expect.objectContaining({
        decision: 'error',
        reason: 'policy_unavailable',
        decision_id: unavailable.headers['x-authz-decision-id'],
      }),
    ]);

    const jwks: CheckOutcome = {
      kind: 'error',
      failure: {
        id: 'f-1',
        reason: 'jwks_unavailable',
        policyVersion: 'v1',
        detail: 'GET https://login.internal/jwks: ECONNREFUSED',
      },
    };
    const noKeys = await harness({}, { pipeline: () => ({ check: async () => jwks }) });
    const keyless = await noKeys.send({ path: '/accounts/acc-1001', headers: { host: 'h' } });
    expect(keyless.status).toBe(503);
    expect(JSON.parse(keyless.body)).toEqual({
      error: 'service_unavailable',
      reason: 'jwks_unavailable',
      decision_id: 'f-1',
    });
    expect(keyless.body).not.toContain('login.internal');

    const broken = await harness(
      {},
      { pipeline: () => ({ check: async () => Promise.reject(new Error('boom at secret-internals.ts:42')) }) },
    );
    const failed = await broken.send({ path: '/accounts/acc-1001', headers: { host: 'h' } });
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body)).toEqual({
      error: 'internal_server_error',
      reason: 'internal_error',
      decision_id: failed.headers['x-authz-decision-id'],
    });
    expect(failed.body).not.toContain('secret-internals');
    expect(broken.audit()).toEqual([expect.objectContaining({ decision: 'error', reason: 'internal_error' })]);
    expect(await broken.metricsText()).toMatch(
      /authzd_decisions_total\{decision="error",reason="internal_error",route="",source="error"\} 1/,
    );
  });

  it('never puts the token in a response, the diagnostic log or the audit log', async () => {
    const h = await harness();
    const valid = await issuer.sign({ sub: 'alice' });
    const forged = await issuer.forge({ sub: 'alice' });
    const expired = await issuer.sign({ sub: 'alice' }, { expiresIn: -3600 });
    const answers: Answer[] = [];
    for (const [path, token] of [
      ['/accounts/acc-1001', valid],
      ['/accounts/acc-2001', valid],
      ['/accounts/acc-1001', forged],
      ['/accounts/acc-1001', expired],
      ['/nowhere', valid],
    ] as const) {
      answers.push(await h.send({ path, headers: { host: 'h', authorization: `Bearer ${token}` } }));
    }
    expect(answers.map((a) => a.status)).toEqual([200, 403, 401, 401, 403]);
    const everything = JSON.stringify(answers) + h.logLines.join('') + h.auditLines.join('');
    expect(h.logLines.length).toBeGreaterThan(0);
    for (const token of [valid, forged, expired]) {
      expect(everything).not.toContain(token);
      // Not even the signature part on its own.
      expect(everything).not.toContain(token.split('.')[2]);
    }
    expect(h.auditLines).toHaveLength(5);
  });

  it('limits: a header block over 16 KiB is refused with 431 before any decision; many small headers are all kept', async () => {
    const h = await harness();
    const big = await h.send({ path: '/accounts/acc-1001', headers: { host: 'h', 'x-pad': 'a'.repeat(17 * 1024) } });
    expect(big.status).toBe(431);
    expect(h.auditLines).toHaveLength(0);
    // Node would drop headers beyond maxHeadersCount silently; the listener keeps all of them instead.
    const many: Record<string, string> = { host: 'h' };
    for (let i = 0; i < 2100; i++) many[`x-${i}`] = '1';
    many['x-forwarded-for'] = '198.51.100.77';
    const res = await h.send({ path: '/accounts/acc-1001', headers: many });
    // All of them reach the pipeline, whose limits.maxHeaders (200) then refuses the request as a whole.
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).reason).toBe('request_too_large');
    expect(h.seen.at(-1)!.attributes!.source!.address!.socket_address!.address).toBe('198.51.100.77');
  });
});

describe('startHttpAuthzServer: Envoy http_service', () => {
  it('with pathPrefix: the original path behind the prefix is decided, a path outside it is request_invalid', async () => {
    const h = await harness({ http: { pathPrefix: '/authz' } });
    const token = await issuer.sign({ sub: 'alice' });
    const allowed = await h.send({
      path: '/authz/accounts/acc-1001',
      headers: { host: 'bank.example.com', authorization: `Bearer ${token}`, 'x-request-id': 'req-77' },
    });
    expect(allowed.status).toBe(200);
    const outside = await h.send({
      path: '/accounts/acc-1001',
      headers: { host: 'bank.example.com', authorization: `Bearer ${token}` },
    });
    expect(outside.status).toBe(400);
    expect(JSON.parse(outside.body).reason).toBe('request_invalid');
    expect(h.audit()).toEqual([
      expect.objectContaining({
        decision: 'allow',
        request: expect.objectContaining({ id: 'req-77', method: 'GET', path: '/accounts/acc-1001' }),
      }),
      expect.objectContaining({ decision: 'deny', reason: 'request_invalid' }),
    ]);
  });

  it('never answers a deny with a 5xx, which Envoy would treat as an authz failure (failure_mode_allow)', async () => {
    expect([500, 503, 429, 403, 401, 400].map(denyStatusOverHttp)).toEqual([403, 403, 429, 403, 401, 400]);
    // Every deny reason whose gRPC answer carries a 5xx status, through the listener.
    const fiveHundreds = REASON_CODES.filter(
      (r) =>
        REASONS[r].outcome === 'deny' && typeof REASONS[r].status === 'number' && (REASONS[r].status as number) >= 500,
    );
    for (const reason of fiveHundreds) {
      const decision = {
        id: 'd-1',
        allowed: false,
        reason,
        source: 'engine',
        policies: [],
        policyVersion: 'v1',
        routeId: 'get-account',
        principal: undefined,
        action: undefined,
        resource: undefined,
        tenant: undefined,
        issuer: undefined,
        tokenPresented: true,
        request: undefined,
        detail: undefined,
        input: undefined,
      } as unknown as Decision;
      const h = await harness({}, { pipeline: () => ({ check: async () => ({ kind: 'decision', decision }) }) });
      const res = await h.send({ path: '/accounts/acc-1001', headers: { host: 'h' } });
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).reason).toBe(reason);
    }
  });
});

describe('docs/http-interface.md', () => {
  const doc = readFileSync(new URL('../../../docs/http-interface.md', import.meta.url), 'utf8');
  const blocks = (marker: string) =>
    [...doc.matchAll(new RegExp(`<!-- tested: ${marker}(?: (\\S+))? -->\n\`\`\`\\w+\n([\\s\\S]*?)\`\`\``, 'g'))].map(
      (m) => ({ type: m[1], text: m[2] }),
    );

  it("its Envoy http_service filter and cluster are valid against Envoy's protos", () => {
    const root = loadEnvoyRoot([
      'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
      'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
      'envoy/config/cluster/v3/cluster.proto',
    ]);
    const envoy = blocks('envoy');
    expect(envoy.map((b) => b.type)).toEqual([
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter',
      'envoy.config.cluster.v3.Cluster',
    ]);
    for (const block of envoy) expect(validateEnvoyConfig(root, block.type, parseYaml(block.text))).toEqual([]);
    // The validator is strict (so the check above can fail): a misspelt field is reported.
    const filter = parseYaml(envoy[0].text);
    filter.typed_config.http_service.path_prefx = '/authz';
    expect(validateEnvoyConfig(root, envoy[0].type, filter)).toEqual([
      expect.stringContaining('path_prefx: unknown field'),
    ]);
  });

  it('the Envoy filter copies the headers an allow carries, under the prefix the authzd example strips', () => {
    const filter = parseYaml(blocks('envoy')[0].text).typed_config;
    const upstream = filter.http_service.authorization_response.allowed_upstream_headers.patterns.map(
      (p: { exact: string }) => p.exact,
    );
    expect(upstream.sort()).toEqual(['x-authz-decision-id', 'x-authz-policy-version']);
    const configs = blocks('authzd-config').map((b) => ConfigSchema.parse(parseYaml(b.text)));
    expect(configs).toHaveLength(2);
    expect(configs[1].http).toMatchObject({
      originalRequest: 'request',
      pathPrefix: filter.http_service.path_prefix,
      address: '127.0.0.1:9193',
    });
    expect(configs[0].http.originalRequest).toBe('x-original');
  });
});

describe('startHttpAuthzServer: the deny-body header', () => {
  it('repeats the deny body in x-forwarded too, and never on an allow', async () => {
    const h = await harness({ http: { originalRequest: 'x-forwarded' } });
    const token = await issuer.sign({ sub: 'alice' });
    const ask = (uri: string) =>
      h.send({
        path: '/',
        headers: { host: 'h', authorization: `Bearer ${token}`, 'x-forwarded-method': 'GET', 'x-forwarded-uri': uri },
      });
    const denied = await ask('/accounts/acc-2001');
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.headers['x-authz-deny-body'] as string)).toEqual(JSON.parse(denied.body));
    const allowed = await ask('/accounts/acc-1001');
    expect(allowed.status).toBe(200);
    expect(allowed.headers['x-authz-deny-body']).toBeUndefined();
  });
});

describe('startHttpAuthzServer: on a Unix socket', () => {
  it('answers there, and takes the client from X-Forwarded-For (a socket peer counts as trusted)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-http-sock-'));
    const socketPath = path.join(dir, 'authz.sock');
    const config = testConfig(issuer, {});
    const engine = new CedarWasmEngine({ validateRequests: true });
    const store = new PolicyStore(engine);
    store.activate(compilePolicyModel(examplePolicyFiles()));
    const real = new CheckPipeline({
      config,
      store,
      engine,
      verifier: new TokenVerifier(config.tokens, { now: Date.now }),
      now: Date.now,
      newId: randomUUID,
    });
    const seen: CheckRequestMessage[] = [];
    const audit = createAuditLog(config.audit, { stream: { write: () => {} } });
    const sinks = {
      metrics: createMetrics(new Registry()),
      audit,
      logger: createLogger('silent'),
      throttle: createThrottle(10_000),
    };
    const runner = createCheckRunner({
      pipeline: { check: (m) => (seen.push(m), real.check(m)) },
      sinks,
      version: () => store.version,
    });
    const server = await startHttpAuthzServer(`unix://${socketPath}`, config, { runner, sinks });
    running.push(server);
    expect(server.port).toBe(0);
    const res = await new Promise<number>((resolve, reject) => {
      http
        .request(
          { socketPath, path: '/accounts/acc-1001', headers: { host: 'h', 'x-forwarded-for': '198.51.100.9' } },
          (r) => (r.resume(), resolve(r.statusCode!)),
        )
        .on('error', reject)
        .end();
    });
    expect(res).toBe(401);
    expect(seen[0].attributes!.source!.address!.socket_address).toEqual({ address: '198.51.100.9' });
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('startHttpAuthzServer: shutdown', () => {
  it('close() lets an in-flight check answer (with Connection: close) and record before it resolves', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const h = await harness({}, { pipeline: (real) => ({ check: async (m) => (await gate, real.check(m)) }) });
    running.splice(running.indexOf(h.server), 1);
    const pending = h.send({ path: '/accounts/acc-1001', headers: { host: 'h' } });
    while (h.seen.length === 0) await new Promise((r) => setImmediate(r));
    let closed = false;
    let recordedWhenClosed = -1;
    const closing = h.server.close(10_000).then(() => {
      closed = true;
      recordedWhenClosed = h.auditLines.length;
    });
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    release();
    const answer = await pending;
    await closing;
    expect(answer.status).toBe(401);
    expect(answer.headers.connection).toBe('close');
    expect(recordedWhenClosed).toBe(1);
    await expect(request(h.server.port, { path: '/accounts/acc-1001', headers: { host: 'h' } })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});
