// The sidecar end to end over gRPC: requests encoded with Envoy's official protos against a running
// authzd on loopback, checking what Envoy acts on (status, headers, body, metadata), the audit log and
// the metrics.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PROTO_DIR } from '../../src/server/load-protos.js';
import { createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';

let issuer: TestIssuer;
let sidecar: Awaited<ReturnType<typeof startTestAuthzd>>;

beforeAll(async () => {
  issuer = await createTestIssuer();
  sidecar = await startTestAuthzd(issuer);
});
afterAll(async () => {
  await sidecar?.stop();
});

const header = (list: any[] | undefined, name: string) => list?.find((h) => h.header.key === name);
const meta = (res: any) =>
  Object.fromEntries(Object.entries<any>(res.dynamic_metadata?.fields ?? {}).map(([k, v]) => [k, v.stringValue]));

async function check(request: Record<string, unknown>) {
  const before = sidecar.auditEvents.length;
  const response = await sidecar.client.check(request);
  // The audit event is written after the response is computed; wait for it to land.
  for (let i = 0; i < 50 && sidecar.auditEvents.length === before; i++) await new Promise((r) => setTimeout(r, 5));
  expect(sidecar.auditEvents.length).toBe(before + 1);
  return { response, audit: sidecar.auditEvents.at(-1)! };
}

describe('allow', () => {
  it('answers OK with the decision headers, explicit append actions and dynamic metadata', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const { response, audit } = await check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
    expect(response.status.code ?? 0).toBe(0);
    expect(response.http_response).toBe('ok_response');
    const headers = response.ok_response.headers;
    expect(header(headers, 'x-authz-decision-id').header.value).toMatch(/^[0-9a-f-]{36}$/);
    expect(header(headers, 'x-authz-policy-version').header.value).toBe(sidecar.app.store.version);
    for (const h of headers) expect(h.append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    expect(meta(response)).toMatchObject({
      decision: 'allow',
      reason: 'policy_allowed',
      policies: 'account-owner-read',
      principal: 'Bank::User::"alice"',
      policy_version: sidecar.app.store.version,
      route: 'get-account',
      decision_id: header(headers, 'x-authz-decision-id').header.value,
    });
    expect(audit).toMatchObject({
      type: 'authz.decision',
      decision: 'allow',
      reason: 'policy_allowed',
      policies: ['account-owner-read'],
      route: 'get-account',
      principal: { type: 'Bank::User', id: 'alice' },
      action: 'readAccount',
      resource: { type: 'Bank::Account', id: 'acc-1001' },
      tenant: 'acme',
      source: 'engine',
      decision_id: meta(response).decision_id,
    });
    expect(audit.latency_us).toBeGreaterThan(0);
    expect(JSON.stringify(audit)).not.toContain(token.split('.')[2]);
  });

  it('lets a teller of the same tenant read through a role from the token', async () => {
    const token = await issuer.sign({ sub: 'bob', roles: ['teller'] });
    const { response } = await check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
    expect(response.http_response).toBe('ok_response');
    expect(meta(response).policies).toBe('teller-read');
  });

  it('follows the role hierarchy in entities.json (admin is a teller)', async () => {
    const token = await issuer.sign({ sub: 'carol', roles: ['admin'] });
    const { response } = await check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
    expect(meta(response).policies).toBe('teller-read');
  });

  it('reads raw header_map headers (encode_raw_headers) and ignores bodies and extensions it does not use', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const request: any = httpCheckRequest({ path: '/accounts/acc-1001' });
    const http = request.attributes.request.http;
    http.header_map = {
      headers: Object.entries({ ...http.headers, authorization: `Bearer ${token}` }).map(([key, value]) => ({
        key,
        raw_value: Buffer.from(value as string),
      })),
    };
    delete http.headers;
    http.raw_body = Buffer.from('{"amount": 10}');
    http.body = '{"amount": 10}';
    request.attributes.context_extensions = { virtual_host: 'bank' };
    request.attributes.metadata_context = {
      filter_metadata: { 'envoy.filters.http.jwt_authn': { fields: { k: { stringValue: 'v' } } } },
    };
    request.attributes.tls_session = { sni: 'bank.example.com' };
    const { response } = await check(request);
    expect(response.http_response).toBe('ok_response');
  });

  it('can remove the Authorization header before it reaches the upstream', async () => {
    const other = await startTestAuthzd(issuer, { responses: { removeAuthorizationHeader: true } });
    try {
      const token = await issuer.sign({ sub: 'alice' });
      const response = await other.client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
      expect(response.ok_response.headers_to_remove).toEqual(['authorization']);
    } finally {
      await other.stop();
    }
  });
});

describe('401', () => {
  it('without a token: plain Bearer challenge, reason token_missing', async () => {
    const { response, audit } = await check(httpCheckRequest({ path: '/accounts/acc-1001' }));
    expect(response.status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(response.denied_response.status.code).toBe('Unauthorized');
    expect(header(response.denied_response.headers, 'www-authenticate').header.value).toBe('Bearer');
    const body = JSON.parse(response.denied_response.body);
    expect(body).toEqual({ error: 'unauthorized', reason: 'token_missing', decision_id: audit.decision_id });
    expect(audit).toMatchObject({ decision: 'deny', reason: 'token_missing', source: 'authentication' });
  });

  const bad: [string, () => Promise<string>, string][] = [
    ['forged (signed by an untrusted key)', () => issuer.forge({ sub: 'alice' }), 'token_signature_invalid'],
    ['expired', () => issuer.sign({ exp: Math.floor(Date.now() / 1000) - 3600 }), 'token_expired'],
    ['from another issuer', () => issuer.sign({ iss: 'https://evil.example' }), 'token_issuer_unknown'],
    ['for another audience', () => issuer.sign({ aud: 'other-api' }), 'token_audience_invalid'],
    [
      'alg:none',
      async () => {
        const enc = (o: object) => base64url.encode(JSON.stringify(o));
        return `${enc({ alg: 'none', typ: 'at+jwt' })}.${enc({ iss: ISSUER, sub: 'alice', aud: 'bank-api', exp: 9999999999 })}.`;
      },
      'token_malformed',
    ],
    [
      'alg:none with a signature part',
      async () => {
        const enc = (o: object) => base64url.encode(JSON.stringify(o));
        return `${enc({ alg: 'none', typ: 'at+jwt' })}.${enc({ iss: ISSUER, sub: 'alice', aud: 'bank-api', exp: 9999999999 })}.c2ln`;
      },
      'token_algorithm_not_allowed',
    ],
    [
      'of the wrong type (typ JWT, at+jwt required)',
      () => issuer.sign({}, { header: { typ: 'JWT' } }),
      'token_type_invalid',
    ],
  ];
  for (const [name, make, reason] of bad) {
    it(`${name}: invalid_token, reason ${reason}`, async () => {
      const { response, audit } = await check(httpCheckRequest({ path: '/accounts/acc-1001', token: await make() }));
      expect(response.status.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(response.denied_response.status.code).toBe('Unauthorized');
      expect(header(response.denied_response.headers, 'www-authenticate').header.value).toBe(
        'Bearer error="invalid_token"',
      );
      expect(JSON.parse(response.denied_response.body).reason).toBe(reason);
      expect(audit.reason).toBe(reason);
    });
  }
});

describe('403', () => {
  it('a policy deny names the determining forbid policy', async () => {
    const token = await issuer.sign({ sub: 'erin', tenant: 'globex' });
    const { response, audit } = await check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
    expect(response.status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(response.denied_response.status.code).toBe('Forbidden');
    const body = JSON.parse(response.denied_response.body);
    expect(body).toEqual({
      error: 'forbidden',
      reason: 'policy_denied',
      policies: ['tenant-isolation'],
      decision_id: audit.decision_id,
    });
    expect(audit).toMatchObject({ reason: 'policy_denied', policies: ['tenant-isolation'], tenant: 'globex' });
    expect(header(response.denied_response.headers, 'www-authenticate')).toBeUndefined();
  });

  it('no permit: no_matching_permit', async () => {
    const token = await issuer.sign({ sub: 'mallory' });
    const { response } = await check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
    expect(JSON.parse(response.denied_response.body).reason).toBe('no_matching_permit');
  });

  it('an unknown route: route_not_found', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const { response, audit } = await check(httpCheckRequest({ method: 'DELETE', path: '/accounts/acc-1001', token }));
    expect(response.denied_response.status.code).toBe('Forbidden');
    expect(JSON.parse(response.denied_response.body).reason).toBe('route_not_found');
    expect(audit).toMatchObject({ reason: 'route_not_found', source: 'routing' });
  });
});

describe('400', () => {
  for (const path of ['/accounts/..%2Facc-1001', '/accounts/%2e%2e/x', '/accounts//acc-1001', '/accounts/acc%zz']) {
    it(`refuses the ambiguous path ${path}`, async () => {
      const token = await issuer.sign({ sub: 'alice' });
      const { response } = await check(httpCheckRequest({ path, token }));
      expect(response.status.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(response.denied_response.status.code).toBe('BadRequest');
      expect(JSON.parse(response.denied_response.body).reason).toBe('path_invalid');
    });
  }

  it('splits the query off before matching', async () => {
    const token = await issuer.sign({ sub: 'alice' });
    const { response } = await check(httpCheckRequest({ path: '/accounts/acc-1001?fields=balance', token }));
    expect(response.http_response).toBe('ok_response');
  });
});

describe('requests without HTTP attributes (network filter)', () => {
  const network = (source?: string, destination?: string) => ({
    attributes: {
      source: {
        address: { socket_address: { address: '10.1.2.3', port_value: 40000 } },
        ...(source ? { principal: source } : {}),
      },
      destination: {
        address: { socket_address: { address: '10.1.0.7', port_value: 8443 } },
        ...(destination ? { principal: destination } : {}),
      },
    },
  });

  it('decides a permitted workload by its SPIFFE identity', async () => {
    const { response, audit } = await check(
      network('spiffe://cluster.local/ns/bank/sa/ledger', 'spiffe://cluster.local/ns/bank/sa/core-banking'),
    );
    expect(response.status.code ?? 0).toBe(0);
    expect(audit).toMatchObject({
      decision: 'allow',
      policies: ['ledger-to-core'],
      principal: { type: 'Bank::Workload' },
    });
  });

  it('denies another workload (a decision, not an error)', async () => {
    const { response } = await check(
      network('spiffe://cluster.local/ns/bank/sa/frontend', 'spiffe://cluster.local/ns/bank/sa/core-banking'),
    );
    expect(response.status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(JSON.parse(response.denied_response.body).reason).toBe('no_matching_permit');
  });

  it('denies a peer without identity with peer_unauthenticated', async () => {
    const { response } = await check(network());
    expect(JSON.parse(response.denied_response.body).reason).toBe('peer_unauthenticated');
  });

  it('denies an entirely empty CheckRequest the same way', async () => {
    const { response } = await check({});
    expect(response.status.code).toBe(grpc.status.PERMISSION_DENIED);
  });
});

describe('health and metrics', () => {
  it('reports SERVING over grpc.health.v1 for the server and the Authorization service', async () => {
    const definition = protoLoader.loadSync('grpc/health/v1/authzd_health.proto', {
      includeDirs: [PROTO_DIR],
      enums: String,
    });
    const Health = (grpc.loadPackageDefinition(definition) as any).grpc.health.v1.Health;
    const client = new Health(`127.0.0.1:${sidecar.app.grpcPort}`, grpc.credentials.createInsecure());
    const call = (service: string) =>
      new Promise<any>((resolve, reject) =>
        client.Check({ service }, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))),
      );
    expect((await call('')).status).toBe('SERVING');
    expect((await call('envoy.service.auth.v3.Authorization')).status).toBe('SERVING');
    await expect(call('nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    client.close();
  });

  it('exports decisions by reason, latency histograms and the policy version', async () => {
    const text = await sidecar.metricsText();
    expect(text).toMatch(
      /authzd_decisions_total\{decision="allow",reason="policy_allowed",route="get-account",source="engine"\} [1-9]/,
    );
    expect(text).toMatch(
      /authzd_decisions_total\{decision="deny",reason="token_missing",route="",source="authentication"\} [1-9]/,
    );
    expect(text).toMatch(/authzd_token_validation_failures_total\{reason="token_expired"\} 1/);
    expect(text).toMatch(/authzd_check_duration_seconds_bucket\{le="0.0001",decision="allow",route="get-account"\}/);
    expect(text).toContain(`authzd_policy_info{version="${sidecar.app.store.version}"} 1`);
    expect(text).toMatch(/nodejs_eventloop_lag_seconds \d/);
    expect(text).toContain('authzd_ready 1');
    const readyz = await fetch(`http://127.0.0.1:${sidecar.app.adminPort}/readyz`);
    expect(readyz.status).toBe(200);
  });
});

describe('infrastructure failures become gRPC errors', () => {
  it('an unreachable JWKS answers UNAVAILABLE so Envoy applies its failure mode', async () => {
    const other = await startTestAuthzd(undefined, {
      tokens: {
        issuers: [
          { issuer: ISSUER, audiences: ['bank-api'], jwksUrl: 'http://127.0.0.1:9/jwks.json', jwksTimeoutMs: 500 },
        ],
      },
    });
    try {
      const token = await issuer.sign({ sub: 'alice' });
      await expect(other.client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }))).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
        details: 'jwks_unavailable',
      });
      await new Promise((r) => setTimeout(r, 20));
      expect(other.auditEvents.at(-1)).toMatchObject({ decision: 'error', reason: 'jwks_unavailable' });
    } finally {
      await other.stop();
    }
  });
});
