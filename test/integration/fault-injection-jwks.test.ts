// Fault injection on the issuers' JWKS endpoints: one in-process sidecar trusts five issuers, each with its
// own fake endpoint (test/helpers/fault-server.ts) that the tests break in a different way and whose
// requests they count. What must hold: an endpoint that never answered is an infrastructure failure (gRPC
// UNAVAILABLE jwks_unavailable, not a 401); a key set once fetched keeps verifying while the endpoint is
// down (for jwksStaleIfErrorMs); a hanging endpoint costs jwksTimeoutMs, not the hang; key rotation works
// both ways; and forged kids cannot make the sidecar hammer the endpoint. Every key set is first fetched at
// start-up (readiness depends on it), and while none is usable the sidecar retries on its own every
// min(jwksCooldownMs, 30 s), at least 1 s; test/integration/readiness.test.ts covers what readiness says.
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { faults, type FaultServer, type Handler, metricSum, startFaultServer } from '../helpers/fault-server.js';
import { AUDIENCE } from '../helpers/issuer.js';
import { EXAMPLE_POLICIES } from '../helpers/policy-files.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';
import { sleep, until } from '../helpers/until.js';

interface Key {
  readonly kid: string;
  readonly jwk: JWK;
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
}

async function newKey(kid: string): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }, privateKey };
}

/** A fresh token (own jti) of `iss`, signed with `key` under `kid` (the key's own by default). */
const sign = (iss: string, key: Key, kid = key.kid) =>
  new SignJWT({ tenant: 'acme', roles: ['customer'], scope: 'accounts:read', jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
    .setIssuer(iss)
    .setAudience(AUDIENCE)
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key.privateKey);

const jwks = (...keys: Key[]): Handler =>
  faults.bytes(200, JSON.stringify({ keys: keys.map((k) => k.jwk) }), { 'content-type': 'application/json' });

const ISS = {
  never: 'https://never.jwks.test',
  hanging: 'https://hanging.jwks.test',
  stale: 'https://stale.jwks.test',
  expiring: 'https://expiring.jwks.test',
  rotating: 'https://rotating.jwks.test',
};
const COOLDOWN_MS = 1_000;

let sidecar: Awaited<ReturnType<typeof startTestAuthzd>>;
let startedAt: number;
const servers = {} as Record<keyof typeof ISS, FaultServer>;
const keys = {} as Record<'k1' | 'k2' | 'k3' | 'other', Key>;
/** Figures for the report: requests the fake endpoints saw, how long answers took. */
const seen: Record<string, number> = {};

type Answer =
  { kind: 'allow' | 'deny'; reason: string; status?: string } | { kind: 'error'; code: number; details: string };

async function check(token: string): Promise<Answer> {
  try {
    const res = await sidecar.client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
    const reason = res.dynamic_metadata?.fields?.reason?.stringValue as string;
    return res.http_response === 'ok_response'
      ? { kind: 'allow', reason }
      : { kind: 'deny', reason, status: res.denied_response.status.code };
  } catch (err) {
    const { code, details } = err as { code: number; details: string };
    return { kind: 'error', code, details };
  }
}

const requestsOf = (name: keyof typeof ISS) => servers[name].total();

beforeAll(async () => {
  keys.k1 = await newKey('k1');
  keys.k2 = await newKey('k2');
  keys.k3 = await newKey('k3');
  keys.other = await newKey('other');
  servers.never = await startFaultServer(faults.reset());
  servers.hanging = await startFaultServer(faults.hang());
  servers.stale = await startFaultServer(jwks(keys.other));
  servers.expiring = await startFaultServer(jwks(keys.other));
  servers.rotating = await startFaultServer(jwks(keys.k1));
  const issuer = (name: keyof typeof ISS, extra: Record<string, number>) => ({
    issuer: ISS[name],
    audiences: [AUDIENCE],
    requiredType: 'at+jwt',
    jwksUrl: `${servers[name].url}/jwks.json`,
    // Several issuers must never be able to name the same principal.
    principal: { idPrefix: `${name}|` },
    ...extra,
  });
  // Five issuers may not name the same principals, so each has its own id prefix ("stale|alice"), and the
  // example set gets a permit every customer's token meets: what is tested here is the key sets, not policy.
  const policies = mkdtempSync(path.join(tmpdir(), 'authzd-jwks-policies-'));
  cpSync(EXAMPLE_POLICIES, policies, { recursive: true, filter: (src) => path.basename(src) !== 'tests' });
  writeFileSync(
    path.join(policies, 'customers.cedar'),
    '@id("customers-read") permit (principal in Bank::Role::"customer", action == Bank::Action::"readAccount", resource);\n',
  );
  startedAt = Date.now();
  sidecar = await startTestAuthzd(undefined, {
    policies: { directory: policies },
    tokens: {
      issuers: [
        issuer('never', { jwksTimeoutMs: 500 }),
        issuer('hanging', { jwksTimeoutMs: 300, jwksCooldownMs: 1_000 }),
        // Background refresh every second (80% of max age, at least 1 s), so "down" is noticed quickly.
        issuer('stale', { jwksMaxAgeMs: 1_000, jwksStaleIfErrorMs: 600_000, jwksCooldownMs: 1_000 }),
        issuer('expiring', { jwksMaxAgeMs: 1_000, jwksStaleIfErrorMs: 0, jwksCooldownMs: 1_000 }),
        issuer('rotating', { jwksCooldownMs: COOLDOWN_MS }),
      ],
    },
  });
});

afterAll(async () => {
  console.log(`jwks faults: ${JSON.stringify(seen)}`);
  await sidecar?.stop();
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

describe('a JWKS endpoint that was never reachable', () => {
  it('answers gRPC UNAVAILABLE jwks_unavailable (not a 401), and does not retry it per request', async () => {
    const tokens = await Promise.all(Array.from({ length: 40 }, () => sign(ISS.never, keys.other)));
    // 20 at once, then 20 one by one.
    const answers = await Promise.all(tokens.slice(0, 20).map(check));
    for (const t of tokens.slice(20)) answers.push(await check(t));
    expect(answers.every((a) => a.kind === 'error' && a.code === 14 && a.details === 'jwks_unavailable')).toBe(true);
    // At most one fetch for all of them, the one at start-up: a failure holds further attempts off for
    // min(jwksCooldownMs, 30 s). (On a loaded machine that first attempt can time out before it is sent.)
    expect(requestsOf('never')).toBeLessThanOrEqual(1);
    seen.neverChecks = answers.length;
    seen.neverRequests = requestsOf('never');
    const text = await sidecar.metricsText();
    expect(metricSum(text, 'authzd_decisions_total', { decision: 'error', reason: 'jwks_unavailable' })).toBe(40);
    expect(metricSum(text, 'authzd_token_validation_failures_total', { reason: 'token_key_unknown' })).toBe(0);
  });
});

describe('a JWKS endpoint that hangs', () => {
  it('fails the check after jwksTimeoutMs while the endpoint still holds the request, then recovers', async () => {
    const token = await sign(ISS.hanging, keys.other);
    const started = Date.now();
    const answer = await check(token);
    seen.hangingAnswerMs = Date.now() - started;
    // The endpoint never answered (it is still holding the requests), so the timeout ended the wait, or the
    // hold-off after an earlier timed-out attempt answered at once.
    expect(answer).toEqual({ kind: 'error', code: 14, details: 'jwks_unavailable' });
    // No request per check: the attempts so far are the one at start-up and one per hold-off (1 s) since.
    const heldOff = () => 1 + Math.ceil((Date.now() - startedAt) / 1_000);
    expect(requestsOf('hanging')).toBeLessThanOrEqual(heldOff());
    servers.hanging.handle(jwks(keys.other));
    // After the retry hold-off (min(cooldown, 30 s), at least 1 s) the key set is fetched again and verifies.
    const recovered = await until('the key set to be fetched again', async () => {
      const a = await check(await sign(ISS.hanging, keys.other));
      return a.kind === 'allow' ? a : undefined;
    });
    expect(recovered.reason).toBe('policy_allowed');
    expect(requestsOf('hanging')).toBeLessThanOrEqual(heldOff());
  });
});

describe('a JWKS endpoint that goes down after a successful fetch', () => {
  it('keeps verifying new tokens from the last good key set within jwksStaleIfErrorMs', async () => {
    expect(await check(await sign(ISS.stale, keys.other))).toMatchObject({ kind: 'allow' });
    servers.stale.handle(faults.reset());
    const downAt = requestsOf('stale');
    // Past the key set's max age (1 s), with at least one refresh having failed.
    await until('a failed background refresh', async () =>
      metricSum(await sidecar.metricsText(), 'authzd_jwks_refreshes_total', { issuer: ISS.stale, result: 'error' }) >=
        1 && requestsOf('stale') > downAt
        ? true
        : undefined,
    );
    await sleep(1_100);
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await check(await sign(ISS.stale, keys.other)));
    expect(answers.every((a) => a.kind === 'allow')).toBe(true);
    // A forged token is still refused on its signature, from the stale set.
    const forged = await sign(ISS.stale, keys.k3, keys.other.kid);
    expect(await check(forged)).toMatchObject({ kind: 'deny', reason: 'token_signature_invalid' });
  });

  it('stops verifying once the stale grace (here 0) is over: jwks_unavailable', async () => {
    expect(await check(await sign(ISS.expiring, keys.other))).toMatchObject({ kind: 'allow' });
    servers.expiring.handle(faults.reset());
    const answer = await until('the key set to expire', async () => {
      const a = await check(await sign(ISS.expiring, keys.other));
      return a.kind === 'error' ? a : undefined;
    });
    expect(answer).toEqual({ kind: 'error', code: 14, details: 'jwks_unavailable' });
  });
});

describe('a JWKS endpoint that rotates keys', () => {
  let cachedOld: string;

  it('a token with a new kid triggers one fetch that picks up the new key; old tokens keep working', async () => {
    cachedOld = await sign(ISS.rotating, keys.k1);
    expect(await check(cachedOld)).toMatchObject({ kind: 'allow' });
    expect(requestsOf('rotating')).toBe(1);
    servers.rotating.handle(jwks(keys.k1, keys.k2));
    await sleep(COOLDOWN_MS + 100);
    expect(await check(await sign(ISS.rotating, keys.k2))).toMatchObject({ kind: 'allow' });
    expect(requestsOf('rotating')).toBe(2);
    expect(await check(await sign(ISS.rotating, keys.k1))).toMatchObject({ kind: 'allow' });
    expect(await check(cachedOld)).toMatchObject({ kind: 'allow' });
    expect(requestsOf('rotating')).toBe(2);
  });

  it('a flood of tokens with unknown kids causes at most one fetch per jwksCooldownMs', async () => {
    // The property, stated so that a slow machine cannot break it: fetches are never closer together than
    // the cooldown, so a flood lasting T costs at most 1 + T / jwksCooldownMs fetches, however many tokens.
    const fetchedAt: number[] = [];
    const answer = jwks(keys.k1, keys.k2);
    servers.rotating.handle((req, res, body) => {
      fetchedAt.push(Date.now());
      answer(req, res, body);
    });
    const forged = await Promise.all(
      Array.from({ length: 300 }, () => sign(ISS.rotating, keys.k3, `forged-${randomUUID()}`)),
    );
    await sleep(COOLDOWN_MS + 100);
    const started = Date.now();
    const answers = await Promise.all(forged.slice(0, 100).map(check));
    for (const token of forged.slice(100)) answers.push(await check(token));
    while (Date.now() - started < 2 * COOLDOWN_MS + 200)
      answers.push(await check(await sign(ISS.rotating, keys.k3, `forged-${randomUUID()}`)));
    const elapsed = Date.now() - started;
    expect(
      answers.every((a) => a.kind === 'deny' && a.reason === 'token_key_unknown' && a.status === 'Unauthorized'),
    ).toBe(true);
    expect(fetchedAt.length).toBeGreaterThanOrEqual(1);
    expect(fetchedAt.length).toBeLessThanOrEqual(1 + Math.floor(elapsed / COOLDOWN_MS));
    // Timer granularity allows a few milliseconds either way.
    for (let i = 1; i < fetchedAt.length; i++)
      expect(fetchedAt[i] - fetchedAt[i - 1]).toBeGreaterThanOrEqual(COOLDOWN_MS - 20);
    seen.forgedKidTokens = answers.length;
    seen.forgedKidFetches = fetchedAt.length;
  });

  it('after the old key is removed and the set refreshed, old tokens fail with token_key_unknown', async () => {
    servers.rotating.handle(jwks(keys.k2));
    await sleep(COOLDOWN_MS + 100);
    const before = requestsOf('rotating');
    // Not refreshed yet: the held set still has k1.
    expect(await check(cachedOld)).toMatchObject({ kind: 'allow' });
    // An unknown kid after the cooldown refreshes the set.
    expect(await check(await sign(ISS.rotating, keys.k3, 'k9'))).toMatchObject({
      kind: 'deny',
      reason: 'token_key_unknown',
    });
    expect(requestsOf('rotating')).toBe(before + 1);
    // The verified-token cache is bound to the key set's generation: the cached old token is re-checked.
    expect(await check(cachedOld)).toMatchObject({ kind: 'deny', reason: 'token_key_unknown', status: 'Unauthorized' });
    expect(await check(await sign(ISS.rotating, keys.k1))).toMatchObject({ kind: 'deny', reason: 'token_key_unknown' });
    expect(await check(await sign(ISS.rotating, keys.k2))).toMatchObject({ kind: 'allow' });
    expect(requestsOf('rotating')).toBe(before + 1);
  });
});
