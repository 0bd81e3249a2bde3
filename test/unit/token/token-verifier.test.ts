import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigSchema } from '../../../src/config/config-schema.js';
import { TokenVerifier } from '../../../src/token/token-verifier.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../../helpers/issuer.js';

let issuer: TestIssuer;
let verifier: TokenVerifier;
const now = () => Date.now();

const tokens = (issuers: unknown[], extra: Record<string, unknown> = {}) =>
  ConfigSchema.parse({ tokens: { issuers, ...extra } }).tokens;

beforeAll(async () => {
  issuer = await createTestIssuer();
  verifier = new TokenVerifier(
    tokens([{ issuer: ISSUER, audiences: [AUDIENCE, 'other-api'], jwksFile: issuer.jwksFile, requiredType: 'at+jwt' }]),
    { now },
  );
});

const reason = async (token: string) => {
  const r = await verifier.verify(token);
  return r.ok ? 'ok' : r.reason;
};

describe('TokenVerifier', () => {
  it('accepts a valid token and returns its claims', async () => {
    const r = await verifier.verify(await issuer.sign({ sub: 'alice', tenant: 'acme' }));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.token.claims).toMatchObject({ sub: 'alice', tenant: 'acme', iss: ISSUER });
  });

  it('accepts any of the configured audiences, in a string or an array', async () => {
    expect(await reason(await issuer.sign({ aud: 'other-api' }))).toBe('ok');
    expect(await reason(await issuer.sign({ aud: ['x', AUDIENCE] }))).toBe('ok');
  });

  it.each([
    ['expired', { exp: Math.floor(Date.now() / 1000) - 120 }, {}, 'token_expired'],
    ['nbf in the future', { nbf: Math.floor(Date.now() / 1000) + 600 }, {}, 'token_not_yet_valid'],
    ['iat in the future', { iat: Math.floor(Date.now() / 1000) + 600 }, {}, 'token_issued_in_future'],
    ['missing exp', {}, { omit: ['exp'] }, 'token_claims_invalid'],
    ['missing sub', {}, { omit: ['sub'] }, 'token_claims_invalid'],
    ['non-numeric exp', { exp: 'tomorrow' }, {}, 'token_claims_invalid'],
    ['wrong audience', { aud: 'payments-api' }, {}, 'token_audience_invalid'],
    ['empty audience', { aud: [] }, {}, 'token_audience_invalid'],
    ['missing audience', {}, { omit: ['aud'] }, 'token_audience_invalid'],
    ['unknown issuer', { iss: 'https://evil.example' }, {}, 'token_issuer_unknown'],
    ['issuer with a trailing slash', { iss: `${ISSUER}/` }, {}, 'token_issuer_unknown'],
    ['no issuer', {}, { omit: ['iss'] }, 'token_issuer_unknown'],
    ['typ JWT where at+jwt is required', {}, { header: { typ: 'JWT' } }, 'token_type_invalid'],
    ['unknown kid', {}, { header: { kid: 'nope' } }, 'token_key_unknown'],
  ] as const)('%s -> %s', async (_name, claims, options, want) => {
    expect(await reason(await issuer.sign(claims as never, options as never))).toBe(want);
  });

  it('accepts the media-type form application/at+jwt (RFC 9068)', async () => {
    expect(await reason(await issuer.sign({}, { header: { typ: 'application/at+jwt' } }))).toBe('ok');
  });

  it('allows the clock tolerance either way', async () => {
    expect(await reason(await issuer.sign({ exp: Math.floor(Date.now() / 1000) - 10 }))).toBe('ok');
    expect(await reason(await issuer.sign({ nbf: Math.floor(Date.now() / 1000) + 10 }))).toBe('ok');
  });

  it('rejects a signature by another key under the trusted kid', async () => {
    expect(await reason(await issuer.forge())).toBe('token_signature_invalid');
  });

  it('rejects a valid token whose payload was swapped', async () => {
    const [h, , s] = (await issuer.sign({ sub: 'alice' })).split('.');
    const [, p] = (await issuer.sign({ sub: 'admin' })).split('.');
    expect(await reason(`${h}.${p}.${s}`)).toBe('token_signature_invalid');
  });

  it('rejects alg none and algorithms outside the allow-list', async () => {
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    const payload = enc({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: 9999999999 });
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      expect(await reason(`${enc({ alg, typ: 'at+jwt' })}.${payload}.AAAA`)).toBe('token_algorithm_not_allowed');
    }
    expect(await reason(`${enc({ alg: 'HS256', typ: 'at+jwt', kid: issuer.kid })}.${payload}.AAAA`)).toBe(
      'token_algorithm_not_allowed',
    );
  });

  it('rejects HS256 signed with the public key as the secret (key confusion)', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(rsa.publicKey);
    const { writeFileSync } = await import('node:fs');
    const file = `${issuer.dir}/rsa-jwks.json`;
    writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' }] }));
    const v = new TokenVerifier(tokens([{ issuer: ISSUER, audiences: [AUDIENCE], jwksFile: file }]), { now });
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    const signingInput = `${enc({ alg: 'HS256', kid: 'rsa' })}.${enc({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: 9999999999 })}`;
    const sig = createHmac('sha256', pem).update(signingInput).digest('base64url');
    const r = await v.verify(`${signingInput}.${sig}`);
    expect(r).toEqual({ ok: false, reason: 'token_algorithm_not_allowed' });
    const good = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(rsa.privateKey);
    expect((await v.verify(good)).ok).toBe(true);
  });

  it('rejects an unknown critical header and b64:false', async () => {
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 };
    const base = { alg: 'ES256', kid: issuer.kid, typ: 'at+jwt' };
    expect(await reason(await issuer.signRaw(base, claims))).toBe('ok');
    expect(await reason(await issuer.signRaw({ ...base, crit: ['exp-ext'], 'exp-ext': 1 }, claims))).toBe(
      'token_malformed',
    );
    expect(await reason(await issuer.signRaw({ ...base, b64: false, crit: ['b64'] }, claims))).toBe('token_malformed');
  });

  it('rejects a payload that is not JSON', async () => {
    const [h, , s] = (await issuer.sign()).split('.');
    expect(await reason(`${h}.${base64url.encode('not json')}.${s}`)).toBe('token_malformed');
  });
});

describe('remote JWKS', () => {
  let server: http.Server;
  let url: string;
  let body = '';
  let status = 200;
  let hits = 0;

  beforeAll(async () => {
    const { readFileSync } = await import('node:fs');
    body = readFileSync(issuer.jwksFile, 'utf8');
    server = http.createServer((_req, res) => {
      hits++;
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('fetches once, then serves from memory; unknown kids reload at most once per cooldown', async () => {
    hits = 0;
    const v = new TokenVerifier(
      tokens([{ issuer: ISSUER, audiences: [AUDIENCE], jwksUrl: url, jwksCooldownMs: 60_000 }]),
      { now },
    );
    const token = await issuer.sign();
    for (let i = 0; i < 5; i++) expect((await v.verify(token)).ok).toBe(true);
    expect(hits).toBe(1);
    const unknown = await issuer.sign({}, { header: { kid: 'rotated-away' } });
    for (let i = 0; i < 5; i++) expect(await v.verify(unknown)).toEqual({ ok: false, reason: 'token_key_unknown' });
    expect(hits).toBe(1); // still cooling down after the first fetch
    v.close();
  });

  it('keeps verifying with the last good key set while the endpoint fails', async () => {
    status = 200;
    let clock = Date.now();
    const v = new TokenVerifier(
      tokens([
        {
          issuer: ISSUER,
          audiences: [AUDIENCE],
          jwksUrl: url,
          jwksMaxAgeMs: 1_000,
          jwksCooldownMs: 0,
          jwksStaleIfErrorMs: 60_000,
        },
      ]),
      { now: () => clock },
    );
    const token = await issuer.sign();
    expect((await v.verify(token)).ok).toBe(true);
    status = 503;
    await new Promise((r) => setTimeout(r, 1_100)); // jose's own max-age uses the real clock
    clock = Date.now();
    expect((await v.verify(token)).ok).toBe(true);
    hits = 0;
    for (let i = 0; i < 5; i++) expect((await v.verify(token)).ok).toBe(true);
    expect(hits).toBe(0); // failing endpoint is not retried on every request
    status = 200;
    v.close();
  });

  it('reports jwks_unavailable when nothing was ever fetched', async () => {
    const v = new TokenVerifier(
      tokens([{ issuer: ISSUER, audiences: [AUDIENCE], jwksUrl: 'http://127.0.0.1:9/jwks', jwksTimeoutMs: 300 }]),
      { now },
    );
    const result = await v.verify(await issuer.sign());
    expect(result).toMatchObject({ ok: false, reason: 'jwks_unavailable' });
    // For the log: issuer, URL and cause (fetch refuses the discard port), never the token.
    expect(result.ok === false && result.reason === 'jwks_unavailable' && result.detail).toMatch(
      /^key set of .* \(http:\/\/127\.0\.0\.1:9\/jwks\) unavailable: fetch failed \(bad port\)$/,
    );
    expect(v.keySetProblems().get(ISSUER)).toMatch(
      /^no usable key set for issuer .* from http:\/\/127\.0\.0\.1:9\/jwks: fetch failed \(bad port\)$/,
    );
    v.close();
  });
});

describe('verified-token cache', () => {
  const cached = (clock: () => number, extra: Record<string, unknown> = {}) =>
    new TokenVerifier(tokens([{ issuer: ISSUER, audiences: [AUDIENCE], jwksFile: issuer.jwksFile }]), {
      now: clock,
      cache: { maxEntries: 1000, maxBytes: 1 << 20, negativeTtlMs: 10_000, ...extra },
    });

  it('verifies a token once and answers later requests from memory', async () => {
    const v = cached(Date.now);
    const token = await issuer.sign({ sub: 'alice' });
    expect((await v.verify(token)).ok).toBe(true);
    const again = v.verify(token);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ ok: true, token: { claims: { sub: 'alice' } } });
    expect(v.cacheStats).toMatchObject({ hits: 1, misses: 1, entries: 1 });
  });

  it('keys on the whole token: a different payload under the same signature is not a hit', async () => {
    const v = cached(Date.now);
    const good = await issuer.sign({ sub: 'alice' });
    await v.verify(good);
    const [h, , sig] = good.split('.');
    const [, p] = (await issuer.sign({ sub: 'admin' })).split('.');
    expect(await v.verify(`${h}.${p}.${sig}`)).toEqual({ ok: false, reason: 'token_signature_invalid' });
  });

  it('stops honouring a cached token once it expires', async () => {
    let clock = Date.now();
    const v = cached(() => clock);
    const token = await issuer.sign({ exp: Math.floor(clock / 1000) + 60 });
    expect((await v.verify(token)).ok).toBe(true);
    clock += 120_000; // beyond exp + 30 s tolerance
    expect(v.verify(token)).toEqual({ ok: false, reason: 'token_expired' });
  });

  it('remembers deterministic rejections briefly, but never "not yet valid"', async () => {
    let clock = Date.now();
    const v = cached(() => clock);
    const forged = await issuer.forge();
    await v.verify(forged);
    expect(v.verify(forged)).toEqual({ ok: false, reason: 'token_signature_invalid' });
    clock += 11_000;
    expect(v.verify(forged)).toBeInstanceOf(Promise); // the negative entry lapsed
    const early = await issuer.sign({ nbf: Math.floor(clock / 1000) + 600 });
    await v.verify(early);
    expect(v.verify(early)).toBeInstanceOf(Promise);
  });

  it('shares one verification among concurrent requests for the same token', async () => {
    const v = cached(Date.now);
    const token = await issuer.sign({ sub: 'concurrent' });
    const pending = Array.from({ length: 20 }, () => v.verify(token));
    expect(new Set(pending).size).toBe(1); // one verification, one promise, twenty callers
    const results = await Promise.all(pending.map((p) => Promise.resolve(p)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(v.cacheStats.entries).toBe(1);
  });

  it('drops entries when the issuer rotates its keys', async () => {
    const { exportJWK: exp, generateKeyPair: gen } = await import('jose');
    const { readFileSync } = await import('node:fs');
    let body = readFileSync(issuer.jwksFile, 'utf8');
    const server = http.createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(body),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
      const v = new TokenVerifier(
        tokens([{ issuer: ISSUER, audiences: [AUDIENCE], jwksUrl: url, jwksCooldownMs: 0 }]),
        {
          now: Date.now,
          cache: { maxEntries: 100, maxBytes: 1 << 20, negativeTtlMs: 0 },
        },
      );
      const token = await issuer.sign();
      expect((await v.verify(token)).ok).toBe(true);
      expect(v.verify(token)).toMatchObject({ ok: true });
      // The issuer drops the old key and publishes a new one; a token with the new kid makes jose reload.
      const next = await gen('ES256');
      body = JSON.stringify({ keys: [{ ...(await exp(next.publicKey)), kid: 'rotated', alg: 'ES256' }] });
      await v.verify(await issuer.sign({}, { header: { kid: 'rotated' } }));
      // The old token is no longer answered from the cache, and its key is gone.
      const after = v.verify(token);
      expect(after).toBeInstanceOf(Promise);
      expect(await after).toEqual({ ok: false, reason: 'token_key_unknown' });
      v.close();
    } finally {
      server.close();
    }
  });
});
