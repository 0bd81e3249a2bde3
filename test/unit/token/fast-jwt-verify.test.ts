// fastJwtVerify (node:crypto signature, jose for keys and claims) against jose's jwtVerify, the oracle, on
// generated tokens: valid ones, tampered headers, payloads and signatures, another alg in the header, a key
// of another pair under the same kid, unknown kids, crit/b64 headers, and claims that are expired, not yet
// valid, for another audience or issuer, of the wrong typ, or of the wrong JSON type. Both must give the
// same answer: the same payload, or a failure with the same jose error code (and failing claim).
import { constants, createPrivateKey, sign as nodeSign } from 'node:crypto';

import fc from 'fast-check';
import {
  base64url,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import { fastJwtVerify } from '../../../src/token/fast-jwt-verify.js';

const ALGS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] as const;
type Alg = (typeof ALGS)[number];
const ISS = 'https://issuer.test';
const AUD = 'api';
const NOW_S = 1_900_000_000;

interface Signer {
  readonly alg: Alg;
  readonly kid: string;
  readonly sign: (input: string) => string;
}
let signers: Signer[];
/** Same kid and alg as signers[i], another key pair: its signatures must not verify. */
let impostors: Signer[];
let getKey: JWTVerifyGetKey;

const options = (typ: string | undefined): JWTVerifyOptions & { algorithms: string[] } => ({
  issuer: ISS,
  audience: AUD,
  algorithms: ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'],
  clockTolerance: 30,
  currentDate: new Date(NOW_S * 1000),
  requiredClaims: ['exp'],
  ...(typ !== undefined ? { typ } : {}),
});

async function signer(alg: Alg, kid: string): Promise<Signer & { jwk: Record<string, unknown> }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const priv = createPrivateKey({ key: (await exportJWK(privateKey)) as never, format: 'jwk' });
  const params =
    alg === 'ES256' || alg === 'ES384'
      ? { key: priv, dsaEncoding: 'ieee-p1363' as const }
      : alg === 'PS256'
        ? { key: priv, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
        : priv;
  const digest = alg === 'EdDSA' ? null : alg === 'ES384' ? 'sha384' : 'sha256';
  return {
    alg,
    kid,
    jwk: { ...(await exportJWK(publicKey)), kid, alg },
    sign: (input) => nodeSign(digest, Buffer.from(input), params).toString('base64url'),
  };
}

beforeAll(async () => {
  const made = await Promise.all(ALGS.map((alg) => signer(alg, `k-${alg}`)));
  signers = made;
  impostors = await Promise.all(ALGS.map((alg) => signer(alg, `k-${alg}`)));
  getKey = createLocalJWKSet({ keys: made.map((s) => s.jwk) as never });
});

const json = (value: unknown) => base64url.encode(JSON.stringify(value));

/** A string that JSON must escape (quotes, backslashes, controls, non-BMP, lone surrogates excluded). */
const awkward = fc.oneof(fc.string(), fc.constantFrom('"', '\\', '\n\t', '\u0000', '😀', '</script>'));
const numericDate = fc.oneof(
  fc.integer({ min: NOW_S - 100_000, max: NOW_S + 100_000 }),
  fc.constantFrom(NOW_S - 31, NOW_S - 29, NOW_S + 29, NOW_S + 31),
  fc.constant('soon' as unknown as number),
);
const anyClaims = fc.record(
  {
    iss: fc.oneof(fc.constant(ISS), fc.constant(ISS), fc.constant('https://evil.test'), fc.constant(7)),
    aud: fc.oneof(fc.constant(AUD), fc.constant([AUD, 'x']), fc.constant('other'), fc.constant([])),
    sub: fc.oneof(fc.constant('alice'), awkward, fc.constant(42)),
    exp: numericDate,
    nbf: numericDate,
    iat: numericDate,
    jti: awkward,
    note: awkward,
  },
  { requiredKeys: ['iss', 'aud'] },
);
const anyHeaderExtras = fc.record(
  {
    typ: fc.constantFrom('JWT', 'at+jwt', 'application/at+jwt', 'other', 5),
    crit: fc.constantFrom(['b64'], ['exp'], 'b64'),
    b64: fc.constantFrom(true, false),
    cty: fc.constantFrom('json'),
    x: awkward,
  },
  { requiredKeys: [] },
);
const goodClaims = fc.record({
  iss: fc.constant(ISS),
  aud: fc.constantFrom(AUD, [AUD, 'x']),
  sub: awkward,
  exp: fc.integer({ min: NOW_S - 29, max: NOW_S + 100_000 }),
  iat: fc.integer({ min: NOW_S - 100_000, max: NOW_S + 29 }),
  note: awkward,
});
// Mostly well-formed, so that valid tokens (and single defects) are common, not only wholesale garbage.
const claims = fc.oneof({ weight: 3, arbitrary: goodClaims }, { weight: 2, arbitrary: anyClaims });
const headerExtras = fc.oneof(
  { weight: 3, arbitrary: fc.record({ typ: fc.constantFrom('JWT', 'at+jwt') }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: anyHeaderExtras },
);
const mutation = fc.constantFrom(
  'none',
  'none',
  'none',
  'tamper-payload',
  'tamper-header',
  'tamper-signature',
  'truncate-signature',
  'other-alg',
  'impostor-key',
  'unknown-kid',
  'no-kid',
);
const cases = fc.record({
  signer: fc.nat({ max: ALGS.length - 1 }),
  claims,
  header: headerExtras,
  mutation,
  otherAlg: fc.constantFrom('ES256', 'RS256', 'PS256', 'EdDSA', 'ES512', 'HS256', 'none', 'RS384'),
  requiredTyp: fc.constantFrom(undefined, 'at+jwt', 'JWT'),
  flip: fc.nat(),
});

type Case = typeof cases extends fc.Arbitrary<infer T> ? T : never;

function build(c: Case): string {
  const s = c.mutation === 'impostor-key' ? impostors[c.signer]! : signers[c.signer]!;
  const header: Record<string, unknown> = { alg: s.alg, kid: s.kid, ...c.header };
  if (c.mutation === 'unknown-kid') header.kid = 'nobody';
  if (c.mutation === 'no-kid') delete header.kid;
  if (c.mutation === 'other-alg') header.alg = c.otherAlg;
  const input = `${json(header)}.${json(c.claims)}`;
  let [h, p, sig] = [...input.split('.'), s.sign(input)] as [string, string, string];
  const flip = (part: string) => {
    if (part.length === 0) return part;
    const i = c.flip % part.length;
    return `${part.slice(0, i)}${part[i] === 'A' ? 'B' : 'A'}${part.slice(i + 1)}`;
  };
  if (c.mutation === 'tamper-payload') p = json({ ...c.claims, sub: 'mallory' });
  if (c.mutation === 'tamper-header') h = json({ ...header, kid: s.kid, typ: 'JWT', z: 1 });
  if (c.mutation === 'tamper-signature') sig = flip(sig);
  if (c.mutation === 'truncate-signature') sig = sig.slice(0, Math.max(0, sig.length - 4));
  return `${h}.${p}.${sig}`;
}

type Answer = { ok: true; payload: unknown } | { ok: false; code: unknown; claim: unknown; name: string };
const answer = async (run: () => Promise<{ payload: unknown } | undefined>): Promise<Answer> => {
  try {
    const r = await run();
    return { ok: true, payload: r?.payload };
  } catch (err) {
    const e = err as { code?: unknown; claim?: unknown; name: string };
    return { ok: false, code: e.code, claim: e.claim, name: e.name };
  }
};

describe('fastJwtVerify', () => {
  it('answers exactly as jose jwtVerify on generated tokens', async () => {
    let fastAccepted = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const token = build(c);
        const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
        const opts = options(c.requiredTyp);
        const oracle = await answer(() => jwtVerify(token, getKey, opts));
        let tookFastPath = false;
        const fast = await answer(async () => {
          const payload = await fastJwtVerify(token, header, getKey, opts);
          if (payload !== undefined) tookFastPath = true;
          return payload !== undefined ? { payload } : jwtVerify(token, getKey, opts);
        });
        expect(fast).toEqual(oracle);
        if (fast.ok && tookFastPath) fastAccepted++;
        if (!fast.ok) rejected++;
      }),
      { numRuns: 400, seed: 1515 },
    );
    // Not a vacuous comparison: both outcomes occur, and valid tokens do take the fast path.
    expect(fastAccepted).toBeGreaterThan(20);
    expect(rejected).toBeGreaterThan(100);
  });

  it('leaves to jose what it does not handle: algorithms outside the allow-list, crit and b64 headers', async () => {
    const s = signers[0]!;
    const input = `${json({ alg: s.alg, kid: s.kid, crit: ['b64'], b64: true })}.${json({ iss: ISS, aud: AUD, exp: NOW_S + 60 })}`;
    const token = `${input}.${s.sign(input)}`;
    const header = { alg: s.alg, kid: s.kid, crit: ['b64'], b64: true };
    expect(await fastJwtVerify(token, header, getKey, options(undefined))).toBeUndefined();
    const plain = `${json({ alg: s.alg, kid: s.kid })}.${json({ iss: ISS, aud: AUD, exp: NOW_S + 60 })}`;
    const only = { ...options(undefined), algorithms: ['RS256'] };
    expect(await fastJwtVerify(`${plain}.${s.sign(plain)}`, { alg: s.alg, kid: s.kid }, getKey, only)).toBeUndefined();
  });

  it('fails a valid signature over another payload with jose’s signature error, without jose', async () => {
    const s = signers[2]!;
    const good = `${json({ alg: s.alg, kid: s.kid })}.${json({ iss: ISS, aud: AUD, exp: NOW_S + 60 })}`;
    const forged = `${json({ alg: s.alg, kid: s.kid })}.${json({ iss: ISS, aud: AUD, exp: NOW_S + 60, admin: true })}`;
    await expect(
      fastJwtVerify(`${forged}.${s.sign(good)}`, { alg: s.alg, kid: s.kid }, getKey, options(undefined)),
    ).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });
});
