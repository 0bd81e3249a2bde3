// Property-based fuzzing of the Check pipeline over generated CheckRequests: random methods, unicode and
// percent-encoded paths, huge and repeated headers, raw header bytes that are not UTF-8, missing sections,
// absurd numbers, and now and then shapes gRPC could never deliver. Whatever comes in, the pipeline must not
// throw, must end in a decision or an error outcome with a reason of the right kind, must never allow
// without a determining permit policy, and must decide equal inputs equally, with and without its caches.
// AUTHZD_FUZZ_RUNS sets the number of generated requests (default 500, about 2 s; 20000 takes about 15 s).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

import { CheckPipeline } from '../../../src/check/check-pipeline.js';
import { DecisionCache } from '../../../src/check/decision-cache.js';
import type { CheckRequestMessage } from '../../../src/contract/check-request.js';
import type { CheckOutcome } from '../../../src/contract/decision.js';
import { REASONS } from '../../../src/contract/reasons.js';
import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../../../src/engine/policy-store.js';
import { compilePolicyModel, type PolicyModel } from '../../../src/policy/compile-policy-model.js';
import { TokenVerifier } from '../../../src/token/token-verifier.js';
import { testConfig } from '../../helpers/config.js';
import { createTestIssuer, type TestIssuer } from '../../helpers/issuer.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 500);

let issuer: TestIssuer;
let model: PolicyModel;
let cached: CheckPipeline;
let uncached: CheckPipeline;
let tokens: string[];

beforeAll(async () => {
  issuer = await createTestIssuer();
  const config = testConfig(issuer);
  model = compilePolicyModel(examplePolicyFiles());
  const build = (caches: boolean) => {
    const engine = new CedarWasmEngine({ validateRequests: true, slicing: caches });
    const store = new PolicyStore(engine);
    store.activate(model);
    const verifier = new TokenVerifier(config.tokens, {
      now: Date.now,
      ...(caches ? { cache: config.cache.tokens } : {}),
    });
    let n = 0;
    return new CheckPipeline({
      config,
      store,
      engine,
      verifier,
      now: Date.now,
      newId: () => `id-${++n}`,
      ...(caches ? { decisionCache: new DecisionCache(config.cache.decisions), epoch: () => 0 } : {}),
    });
  };
  cached = build(true);
  uncached = build(false);
  const now = Math.floor(Date.now() / 1000);
  tokens = await Promise.all([
    issuer.sign({ sub: 'alice' }),
    issuer.sign({
      sub: 'alice',
      scope: 'accounts:read payments:write',
      acr: 'mfa',
      auth_time: Math.floor(Date.now() / 1000),
    }),
    issuer.sign({ sub: 'bob', roles: ['teller'] }),
    issuer.sign({ sub: 'carol', roles: ['admin'] }),
    issuer.sign({ sub: 'dave', roles: ['tenant-admin'] }),
    issuer.sign({ sub: 'erin', tenant: 'globex' }),
    issuer.sign({ sub: 'mallory', roles: ['admin', 'teller', 'tenant-admin'], tenant: 'globex' }),
    issuer.sign({ sub: 'alice', exp: now - 3600 }),
    issuer.sign({ sub: 'alice', tenant: undefined }),
    issuer.forge({ sub: 'alice', roles: ['admin'] }),
  ]);
});

// ---- generators

const text = fc.string({ unit: 'binary', maxLength: 24 });
const segment = fc.oneof(
  fc.constantFrom(
    'accounts',
    'tenants',
    'acc-1001',
    'acc-1002',
    'acc-2001',
    'acme',
    'globex',
    'transfers',
    'customers',
    'export',
    'billing-plan',
    '',
    '.',
    '..',
    '%2e%2e',
    '%2F',
    '%00',
    '%zz',
    '%C3%A9',
    '%ff',
    'caf\u00e9',
    '\u{1F600}',
    '\\',
    ';x=1',
  ),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.uint8Array({ maxLength: 6 }).map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
);
const routedPath = fc.constantFrom(
  '/accounts/acc-1001',
  '/accounts/acc-1002',
  '/accounts/acc-2001',
  '/accounts/acc-1001/transfers',
  '/tenants/acme/customers/export',
  '/tenants/globex/billing-plan',
  '/tenants/acme/billing-plan',
);
const path = fc.oneof(
  { weight: 4, arbitrary: routedPath },
  { weight: 3, arbitrary: fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`) },
  {
    weight: 1,
    arbitrary: fc.tuple(routedPath, fc.string({ unit: 'grapheme', maxLength: 20 })).map(([p, q]) => `${p}?${q}`),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 8000, max: 70_000 }).map((n) => `/accounts/${'a'.repeat(n)}`) },
);
const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE') },
  { weight: 1, arbitrary: fc.constantFrom('get', 'HEAD', 'OPTIONS', 'CONNECT', 'G E T', '', 'GET\r\n', 'PO\u0000ST') },
  { weight: 1, arbitrary: text },
);
const credentials = fc.oneof(
  { weight: 6, arbitrary: fc.nat(9).map((i) => `Bearer ${tokens[i]}`) },
  { weight: 1, arbitrary: fc.nat(9).map((i) => `bearer  ${tokens[i]} `) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('Bearer', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l', 'Bearer a.b.c', '', 'Bearer eyJ.eyJ.sig'),
  },
  { weight: 1, arbitrary: text.map((t) => `Bearer ${t}`) },
  { weight: 1, arbitrary: fc.nat(9).map((i) => `Bearer ${tokens[i]}, Bearer ${tokens[(i + 1) % 10]}`) },
);
const headerName = fc.oneof(
  fc.constantFrom(
    'x-request-id',
    'x-forwarded-for',
    'x-forwarded-client-cert',
    'x-risk-score',
    'user-agent',
    'cookie',
    'authorization',
    ':authority',
  ),
  fc.string({ minLength: 1, maxLength: 12 }),
);
const headerValue = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 80_000 }).map((n) => 'v'.repeat(n)) },
);
const headerMap = fc
  .tuple(
    fc.dictionary(headerName, headerValue, { maxKeys: 8 }),
    fc.option(credentials, { nil: undefined }),
    fc.nat(300),
  )
  .map(([extra, auth, repeat]) => {
    const headers: Record<string, string> = { ...extra };
    if (auth !== undefined) headers.authorization = auth;
    // Now and then hundreds of distinct headers (a header-count bomb).
    if (repeat > 250) for (let i = 0; i < repeat; i++) headers[`x-h-${i}`] = String(i);
    return headers;
  });
const rawHeaders = fc
  .tuple(
    fc.array(
      fc.record({
        key: headerName,
        raw: fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc.string({ maxLength: 20 }).map((s) => new TextEncoder().encode(s)),
        ),
      }),
      { maxLength: 10 },
    ),
    fc.option(credentials, { nil: undefined }),
    fc.nat(3),
  )
  .map(([list, auth, copies]) => {
    // Invalid UTF-8 in raw values, and the credentials repeated (Envoy sends repeats as separate entries).
    const headers = list.map(({ key, raw }) => ({ key, raw_value: Buffer.from(raw) }));
    if (auth !== undefined)
      for (let i = 0; i <= copies % 2; i++)
        headers.push({ key: 'Authorization', raw_value: Buffer.from(auth, 'latin1') });
    return { headers };
  });
const peer = fc.record(
  {
    address: fc.record(
      {
        socket_address: fc.record(
          { address: fc.oneof(fc.ipV4(), fc.ipV6(), text), port_value: fc.oneof(fc.nat(65_535), fc.constant(2 ** 31)) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    principal: fc.oneof(
      fc.constantFrom(
        'spiffe://cluster.local/ns/bank/sa/ledger',
        'spiffe://cluster.local/ns/bank/sa/core-banking',
        'spiffe://cluster.local/ns/bank/sa/frontend',
        '',
      ),
      text,
    ),
  },
  { requiredKeys: [] },
);
const protoValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.record({ stringValue: fc.string({ maxLength: 10 }) }),
    fc.record({ numberValue: fc.double() }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ structValue: tie('struct') }),
  ),
  struct: fc.record({ fields: fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3 }) }),
})).struct;
const http = fc.record(
  {
    id: text,
    method,
    path,
    host: fc.oneof(fc.constant('bank.example.com'), text),
    scheme: fc.constantFrom('https', 'http', ''),
    headers: headerMap,
    header_map: rawHeaders,
    body: fc.string({ maxLength: 40 }),
    raw_body: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    protocol: fc.constantFrom('HTTP/1.1', 'HTTP/2', ''),
  },
  { requiredKeys: [] },
);
const wellTyped = fc.record(
  {
    attributes: fc.record(
      {
        source: peer,
        destination: peer,
        request: fc.record(
          {
            time: fc.record(
              {
                seconds: fc.oneof(
                  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
                  fc.constant(String(Math.floor(Date.now() / 1000))),
                ),
                nanos: fc.integer(),
              },
              { requiredKeys: [] },
            ),
            http,
          },
          { requiredKeys: [] },
        ),
        context_extensions: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
        metadata_context: fc.record({
          filter_metadata: fc.dictionary(fc.constantFrom('envoy.filters.http.jwt_authn', 'risk', 'x'), protoValue, {
            maxKeys: 2,
          }),
        }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
// Requests shaped like Envoy's, from a known client, with fuzz in the places an attacker controls: these
// reach authentication, routing and the engine.
const nearValid = fc
  .record({
    method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'PUT') }, { weight: 1, arbitrary: method }),
    path: fc.oneof({ weight: 8, arbitrary: routedPath }, { weight: 2, arbitrary: path }),
    auth: fc.oneof(
      { weight: 8, arbitrary: fc.nat(9).map((i) => `Bearer ${tokens[i]}`) },
      { weight: 2, arbitrary: credentials },
    ),
    extra: fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
    raw: fc.boolean(),
    principal: fc.option(
      fc.constantFrom('spiffe://cluster.local/ns/bank/sa/ledger', 'spiffe://cluster.local/ns/bank/sa/frontend'),
      { nil: undefined },
    ),
    ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('::ffff:10.1.2.3', '10.1.2.3')),
    withToken: fc.integer({ min: 0, max: 9 }),
  })
  .map(({ method: m, path: p, auth, extra, raw, principal, ip, withToken }) => {
    const headers: Record<string, string> = { ':authority': 'bank.example.com', ':method': m, ':path': p, ...extra };
    if (withToken > 0) headers.authorization = auth;
    const http: Record<string, unknown> = { method: m, path: p, host: 'bank.example.com', scheme: 'https' };
    if (raw)
      http.header_map = {
        headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })),
      };
    else http.headers = headers;
    return {
      attributes: {
        source: {
          address: { socket_address: { address: ip, port_value: 40_000 } },
          ...(principal !== undefined ? { principal } : {}),
        },
        destination: { address: { socket_address: { address: '10.1.0.7', port_value: 8080 } } },
        request: { time: { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 }, http },
      },
    };
  });
// Shapes the gRPC decoder never produces (wrong types anywhere): the pipeline must still answer, if only
// with an error outcome.
const illTyped = fc.record({
  attributes: fc.oneof(
    fc.anything(),
    fc.record({ request: fc.record({ http: fc.anything() }) }),
    fc.record({ request: fc.anything(), source: fc.anything() }),
  ),
});
const checkRequest = fc.oneof(
  { weight: 5, arbitrary: nearValid.map((request) => ({ request, wellTyped: true })) },
  { weight: 4, arbitrary: wellTyped.map((request) => ({ request, wellTyped: true })) },
  { weight: 1, arbitrary: illTyped.map((request) => ({ request, wellTyped: false })) },
);

// ---- properties

/** What must be equal between two decisions of the same input (not the id, nor whether a cache answered). */
function essence(outcome: CheckOutcome) {
  if (outcome.kind === 'error') return { error: outcome.failure.reason };
  const d = outcome.decision;
  return {
    allowed: d.allowed,
    reason: d.reason,
    policies: [...d.policies].sort(),
    route: d.routeId,
    principal: d.principal,
    action: d.action,
    resource: d.resource,
  };
}

function checkInvariants(outcome: CheckOutcome): void {
  expect(['decision', 'error']).toContain(outcome.kind);
  if (outcome.kind === 'error') {
    expect(REASONS[outcome.failure.reason].outcome).toBe('error');
    return;
  }
  const d = outcome.decision;
  expect(REASONS[d.reason].outcome).toBe(d.allowed ? 'allow' : 'deny');
  if (d.allowed) {
    // Never an allow without a determining permit: reason, policies, and every one of them a permit.
    expect(d.reason).toBe('policy_allowed');
    expect(d.policies.length).toBeGreaterThan(0);
    for (const id of d.policies) expect(model.policyInfo.get(id)?.effect).toBe('permit');
  }
}

describe('CheckPipeline under fuzzed CheckRequests', () => {
  it('never throws, always answers with a well-formed outcome, never allows without a permit, and is stable', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(checkRequest, async ({ request, wellTyped: typed }) => {
        const message = request as CheckRequestMessage;
        const first = await cached.check(message);
        const again = await cached.check(message);
        const fresh = await uncached.check(message);
        for (const outcome of [first, again, fresh]) checkInvariants(outcome);
        expect(essence(again)).toEqual(essence(first));
        expect(essence(fresh)).toEqual(essence(first));
        // Whatever gRPC can deliver is decided; only impossible shapes may end in internal_error.
        if (typed) expect(first.kind === 'error' ? first.failure.reason : 'decided').toBe('decided');
        const key = first.kind === 'error' ? `error:${first.failure.reason}` : first.decision.reason;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }),
      { numRuns: RUNS },
    );
    // The generators must reach deep into the pipeline, or the properties prove little.
    expect(seen.get('policy_allowed') ?? 0).toBeGreaterThan(0);
    for (const reason of [
      'request_invalid',
      'path_invalid',
      'request_too_large',
      'route_not_found',
      'token_malformed',
      'token_missing',
    ]) {
      expect(seen.get(reason) ?? 0, reason).toBeGreaterThan(0);
    }
    expect(seen.size).toBeGreaterThanOrEqual(12);
  });

  it('allows the requests the example policies permit (the generator controls)', async () => {
    const allowed = await cached.check({
      attributes: {
        request: {
          http: { method: 'GET', path: '/accounts/acc-1001', headers: { authorization: `Bearer ${tokens[0]}` } },
        },
      },
    });
    expect(allowed).toMatchObject({ kind: 'decision', decision: { allowed: true, policies: ['account-owner-read'] } });
  });
});
