// The token attack corpus: hostile, forged and malformed bearer tokens, each with the exact reason authzd must
// answer, next to valid controls that must pass. Built fresh per run from keys generated here (no third-party
// files): the cases mirror Project Wycheproof's JWS/ECDSA/RSA/EdDSA edge cases and the JWT attack literature.
// Signatures are made with node:crypto directly, bypassing jose, so any header, payload or signature bytes can
// be expressed, including ones jose would refuse to produce.
import { constants, createHmac, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { TokenReason } from '../../src/contract/reasons.js';
import { AUDIENCE, ISSUER } from './issuer.js';

export type Expected = TokenReason | 'ok';

export interface AttackCase {
  /** Which class of attack (for reporting and sampling). */
  readonly family: string;
  readonly name: string;
  /** The whole credentials header value, scheme included. */
  readonly authorization: string;
  readonly expect: Expected;
}

export interface TokenAttackCorpus {
  readonly jwksFile: string;
  /** tokens.issuers[] entry trusting the corpus key set (default algorithms, typ at+jwt required). */
  readonly issuer: { issuer: string; audiences: string[]; jwksFile: string; requiredType: string };
  readonly cases: readonly AttackCase[];
  /** A valid ES256 token for the example policies' alice (allowed to read acc-1001). */
  readonly valid: string;
}

const b64 = (data: string | Uint8Array) => Buffer.from(data).toString('base64url');
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

// Order of the P-256 group and of the Ed25519 prime-order subgroup.
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

// Small-order Ed25519 public keys, written independently of src/: the all-zero placeholder, the identity,
// a point of order 8, -1 with the sign bit set, and the non-canonical y = p + 1.
const SMALL_ORDER_ED25519 = {
  'all zeros': '00'.repeat(32),
  identity: `01${'00'.repeat(31)}`,
  'order 8': '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'order 2, sign bit set': `ec${'ff'.repeat(31)}`,
  'y = p + 1 (non-canonical)': `ee${'ff'.repeat(30)}7f`,
};

const be32 = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');
const le32 = (x: bigint) => be32(x).reverse();
const fromBe = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
const fromLe = (b: Uint8Array) => fromBe(Buffer.from(b).reverse());

/** The same bytes with a non-zero trailing bit set in the last character (the text must not be a multiple of 3 bytes). */
function setSpareBits(part: string): string {
  const rest = part.length % 4;
  if (rest === 0) throw new Error('no spare bits in a part of whole 3-byte groups');
  const last = B64URL.indexOf(part.at(-1)!);
  return part.slice(0, -1) + B64URL[last | 1];
}

/** JSON text whose length leaves spare bits when base64url-encoded (JSON allows trailing whitespace). */
const withSpare = (text: string) => (Buffer.byteLength(text) % 3 === 0 ? `${text} ` : text);

type Signer = (input: Buffer) => Buffer;

export async function buildTokenAttackCorpus(options: {
  attackerUrl: string;
  nowSeconds?: number;
}): Promise<TokenAttackCorpus> {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-token-corpus-'));

  const es = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const rs = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ed = generateKeyPairSync('ed25519');
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  const jwk = (key: KeyObject) => key.export({ format: 'jwk' }) as Record<string, unknown>;
  const jwksFile = path.join(dir, 'jwks.json');
  writeFileSync(
    jwksFile,
    JSON.stringify({
      keys: [
        { ...jwk(es.publicKey), kid: 'k-es', alg: 'ES256', use: 'sig' },
        { ...jwk(rs.publicKey), kid: 'k-rs', alg: 'RS256', use: 'sig' },
        // No alg: usable for RS256 and PS256, so padding mix-ups reach the signature check.
        { ...jwk(rsa.publicKey), kid: 'k-rsa', use: 'sig' },
        { ...jwk(weak.publicKey), kid: 'k-weak', alg: 'RS256', use: 'sig' },
        { ...jwk(ed.publicKey), kid: 'k-ed', use: 'sig' },
        { ...jwk(p384.publicKey), kid: 'k-p384', use: 'sig' },
        ...Object.values(SMALL_ORDER_ED25519).map((hex, i) => ({
          kty: 'OKP',
          crv: 'Ed25519',
          x: b64(Buffer.from(hex, 'hex')),
          kid: `k-small-${i}`,
          use: 'sig',
        })),
      ],
    }),
  );

  const ecdsa =
    (key: KeyObject, hash = 'sha256'): Signer =>
    (input) =>
      sign(hash, input, { key, dsaEncoding: 'ieee-p1363' });
  const pkcs1 =
    (key: KeyObject, hash = 'sha256'): Signer =>
    (input) =>
      sign(hash, input, key);
  const pss =
    (key: KeyObject, saltLength = 32): Signer =>
    (input) =>
      sign('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
  const eddsa: Signer = (input) => sign(null, input, ed.privateKey);
  const signers = {
    es: ecdsa(es.privateKey),
    rs: pkcs1(rs.privateKey),
    rsaPkcs1: pkcs1(rsa.privateKey),
    rsaPss: pss(rsa.privateKey),
    weak: pkcs1(weak.privateKey),
    ed: eddsa,
    p384: ecdsa(p384.privateKey, 'sha384'),
    attacker: ecdsa(attacker.privateKey),
  };

  const claims = (extra: Record<string, unknown> = {}, omit: string[] = []) => {
    const c: Record<string, unknown> = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'alice',
      iat: now,
      exp: now + 600,
      tenant: 'acme',
      roles: ['customer'],
      scope: 'accounts:read',
      ...extra,
    };
    for (const name of omit) delete c[name];
    return c;
  };
  const header = (alg: string, kid: unknown, extra: Record<string, unknown> = {}) => ({
    alg,
    ...(kid === undefined ? {} : { kid }),
    typ: 'at+jwt',
    ...extra,
  });

  /** header.payload.signature from raw header and payload text (so duplicate members can be written). */
  const rawToken = (headerText: string | Uint8Array, payloadText: string | Uint8Array, signer: Signer) => {
    const input = `${b64(headerText)}.${b64(payloadText)}`;
    return `${input}.${b64(signer(Buffer.from(input)))}`;
  };
  const token = (h: object, p: object, signer: Signer) => rawToken(JSON.stringify(h), JSON.stringify(p), signer);
  /** A token whose signature bytes are replaced. */
  const withSignature = (t: string, signature: Uint8Array) => `${t.slice(0, t.lastIndexOf('.'))}.${b64(signature)}`;
  const sigOf = (t: string) => Buffer.from(t.slice(t.lastIndexOf('.') + 1), 'base64url');

  const cases: AttackCase[] = [];
  const add = (family: string, name: string, tokenOrHeader: string, expect: Expected, raw = false) =>
    cases.push({ family, name, authorization: raw ? tokenOrHeader : `Bearer ${tokenOrHeader}`, expect });

  // --- valid controls: the corpus proves nothing if good tokens fail too.
  const valid = token(header('ES256', 'k-es'), claims(), signers.es);
  add('control', 'ES256', valid, 'ok');
  add('control', 'RS256', token(header('RS256', 'k-rs'), claims(), signers.rs), 'ok');
  add('control', 'RS256 with a key that has no alg', token(header('RS256', 'k-rsa'), claims(), signers.rsaPkcs1), 'ok');
  add('control', 'PS256', token(header('PS256', 'k-rsa'), claims(), signers.rsaPss), 'ok');
  add('control', 'EdDSA', token(header('EdDSA', 'k-ed'), claims(), signers.ed), 'ok');
  add(
    'control',
    'Ed25519 (fully specified alg, RFC 9864)',
    token(header('Ed25519', 'k-ed'), claims(), signers.ed),
    'ok',
  );
  add(
    'control',
    'typ application/at+jwt',
    token(header('ES256', 'k-es', { typ: 'application/at+jwt' }), claims(), signers.es),
    'ok',
  );
  add('control', 'lower-case scheme, spaces around the token', `bearer   ${valid}  `, 'ok', true);
  add(
    'control',
    'exp 10 s ago (inside the 30 s tolerance)',
    token(header('ES256', 'k-es'), claims({ exp: now - 10 }), signers.es),
    'ok',
  );
  add(
    'control',
    'a large token under tokens.maxBytes',
    token(header('ES256', 'k-es'), claims({ note: 'x'.repeat(5000) }), signers.es),
    'ok',
  );
  add(
    'control',
    'one member name in two different objects',
    rawToken(
      JSON.stringify(header('ES256', 'k-es')),
      JSON.stringify(claims({ a: { x: 1 }, b: { x: 2 }, c: [{ x: 1 }, { x: 2 }] })),
      signers.es,
    ),
    'ok',
  );
  add(
    'control',
    'a string value that spells a duplicate member',
    rawToken(
      JSON.stringify(header('ES256', 'k-es')),
      JSON.stringify(claims({ note: '"sub":"admin","sub":"admin"' })),
      signers.es,
    ),
    'ok',
  );
  // ECDSA signatures are malleable: (r, n - s) verifies too. WebCrypto (OpenSSL) accepts either S, as JOSE
  // requires nothing else; it is not a forgery, only a second spelling of a signature the key holder made.
  const [r, s] = [fromBe(sigOf(valid).subarray(0, 32)), fromBe(sigOf(valid).subarray(32))];
  add(
    'control',
    'ES256 with the other S (s -> n - s: malleability, accepted)',
    withSignature(valid, Buffer.concat([be32(r), be32(P256_N - s)])),
    'ok',
  );

  // --- alg none in every casing: without a signature the compact form is already broken; with one, the
  // algorithm is not on the allow-list.
  const noneClaims = claims();
  for (let mask = 0; mask < 16; mask++) {
    const alg = [...'none'].map((c, i) => ((mask >> i) & 1 ? c.toUpperCase() : c)).join('');
    const unsigned = `${b64(JSON.stringify({ alg, typ: 'at+jwt' }))}.${b64(JSON.stringify(noneClaims))}`;
    add('alg-none', `alg ${JSON.stringify(alg)} without a signature`, `${unsigned}.`, 'token_malformed');
    add(
      'alg-none',
      `alg ${JSON.stringify(alg)} with a signature`,
      `${unsigned}.${b64('sig')}`,
      'token_algorithm_not_allowed',
    );
  }
  add(
    'alg-none',
    'alg none naming the trusted kid',
    withSignature(token(header('none', 'k-es'), claims(), signers.es), Buffer.from('x')),
    'token_algorithm_not_allowed',
  );
  add('alg-none', 'no alg at all', token({ kid: 'k-es', typ: 'at+jwt' }, claims(), signers.es), 'token_malformed');
  add('alg-none', 'an empty alg', token(header('', 'k-es'), claims(), signers.es), 'token_malformed');
  add(
    'alg-none',
    'alg that is not a string',
    token(header(['ES256'] as never, 'k-es'), claims(), signers.es),
    'token_malformed',
  );

  // --- key confusion: HMAC keyed with the public key, in every spelling a library might use as the secret.
  const spki = rs.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const secrets: [string, string | Buffer][] = [
    ['the SPKI PEM', spki],
    ['the SPKI PEM without its final newline', spki.trimEnd()],
    ['the PKCS#1 PEM', rs.publicKey.export({ format: 'pem', type: 'pkcs1' })],
    ['the DER bytes', rs.publicKey.export({ format: 'der', type: 'spki' })],
    ['the JWK JSON', JSON.stringify(jwk(rs.publicKey))],
    ['the P-256 key PEM', es.publicKey.export({ format: 'pem', type: 'spki' })],
  ];
  for (const [what, secret] of secrets) {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const hash = `sha${alg.slice(2)}`;
      add(
        'key-confusion',
        `${alg} keyed with ${what}`,
        token(header(alg, 'k-rs'), claims(), (input) => createHmac(hash, secret).update(input).digest()),
        'token_algorithm_not_allowed',
      );
    }
  }

  // --- keys carried by the token (CVE-2018-0114) or named by URL: never used, never fetched.
  const attackerJwk = jwk(attacker.publicKey);
  add(
    'embedded-key',
    'jwk header with the attacker key, no kid',
    token(header('ES256', undefined, { jwk: attackerJwk }), claims(), signers.attacker),
    'token_signature_invalid',
  );
  add(
    'embedded-key',
    'jwk header with the attacker key, trusted kid',
    token(header('ES256', 'k-es', { jwk: attackerJwk }), claims(), signers.attacker),
    'token_signature_invalid',
  );
  add(
    'embedded-key',
    'jwk header with the attacker key and its own kid',
    token(header('ES256', 'attacker-1', { jwk: { ...attackerJwk, kid: 'attacker-1' } }), claims(), signers.attacker),
    'token_key_unknown',
  );
  add(
    'embedded-key',
    'x5c header with a bogus chain, trusted kid',
    token(header('ES256', 'k-es', { x5c: [b64('not a certificate')] }), claims(), signers.attacker),
    'token_signature_invalid',
  );
  const keysUrl = `${options.attackerUrl}/jwks.json`;
  add(
    'key-url',
    'jku to the attacker, attacker kid',
    token(header('ES256', 'attacker-1', { jku: keysUrl }), claims(), signers.attacker),
    'token_key_unknown',
  );
  add(
    'key-url',
    'jku to the attacker, trusted kid',
    token(header('ES256', 'k-es', { jku: keysUrl }), claims(), signers.attacker),
    'token_signature_invalid',
  );
  add(
    'key-url',
    'x5u to the attacker, attacker kid',
    token(header('ES256', 'attacker-1', { x5u: `${options.attackerUrl}/cert.pem` }), claims(), signers.attacker),
    'token_key_unknown',
  );
  add(
    'key-url',
    'x5u to the attacker, no kid',
    token(header('ES256', undefined, { x5u: `${options.attackerUrl}/cert.pem` }), claims(), signers.attacker),
    'token_signature_invalid',
  );
  add(
    'key-url',
    'jku, x5u and jwk together',
    token(
      header('ES256', undefined, { jku: keysUrl, x5u: `${options.attackerUrl}/c.pem`, jwk: attackerJwk }),
      claims(),
      signers.attacker,
    ),
    'token_signature_invalid',
  );

  // --- kid as a path, a query, a terminal escape, a huge or a non-string value: only ever compared.
  const kids: [string, unknown][] = [
    ['path traversal ../../dev/null', '../../dev/null'],
    ['an absolute path /dev/null', '/dev/null'],
    ['path traversal to /etc/passwd', '../../../../../../etc/passwd'],
    ["SQL injection ' OR 1=1 --", "' OR 1=1 --"],
    ['SQL injection after the trusted kid', "k-es' OR '1'='1"],
    ['the trusted kid with a NUL', 'k-es\u0000'],
    ['the trusted kid with a newline', 'k-es\n'],
    ['a terminal escape sequence', '\u001b[2J\u001b[31mk-es'],
    ['the trusted kid with a trailing space', 'k-es '],
    ['the trusted kid in another case', 'K-ES'],
    ['4000 characters', 'k'.repeat(4000)],
    ['an empty string', ''],
    ['a number', 1],
    ['null', null],
    ['an array holding the trusted kid', ['k-es']],
    ['an object', { kid: 'k-es' }],
  ];
  for (const [what, kid] of kids)
    add('kid-injection', `kid: ${what}`, token(header('ES256', kid), claims(), signers.es), 'token_key_unknown');
  add(
    'kid-injection',
    'kid of 20000 characters (over the size cap)',
    token(header('ES256', 'k'.repeat(20_000)), claims(), signers.es),
    'token_too_large',
  );

  // --- ECDSA P-256 (Wycheproof ecdsa_secp256r1_sha256_p1363 style): r, s out of range, wrong encodings.
  const esInput = valid;
  const rs_ = (rv: bigint, sv: bigint) => withSignature(esInput, Buffer.concat([be32(rv), be32(sv)]));
  const MAX = 2n ** 256n - 1n;
  add('ecdsa', 'r = s = 0 (CVE-2022-21449, psychic signature)', rs_(0n, 0n), 'token_signature_invalid');
  add('ecdsa', 'r = 0', rs_(0n, s), 'token_signature_invalid');
  add('ecdsa', 's = 0', rs_(r, 0n), 'token_signature_invalid');
  add('ecdsa', 'r = s = 1', rs_(1n, 1n), 'token_signature_invalid');
  add('ecdsa', 'r = n', rs_(P256_N, s), 'token_signature_invalid');
  add('ecdsa', 's = n', rs_(r, P256_N), 'token_signature_invalid');
  add('ecdsa', 'r = s = n', rs_(P256_N, P256_N), 'token_signature_invalid');
  add('ecdsa', 'r = n + 1', rs_(P256_N + 1n, s), 'token_signature_invalid');
  add('ecdsa', 'r = s = 2^256 - 1', rs_(MAX, MAX), 'token_signature_invalid');
  add('ecdsa', 'r = n - 1, s = n - 1', rs_(P256_N - 1n, P256_N - 1n), 'token_signature_invalid');
  add('ecdsa', 'r and s swapped', rs_(s, r), 'token_signature_invalid');
  const der = sign('sha256', Buffer.from(esInput.slice(0, esInput.lastIndexOf('.'))), {
    key: es.privateKey,
    dsaEncoding: 'der',
  });
  add(
    'ecdsa',
    'a valid signature DER-encoded (JOSE wants r || s)',
    withSignature(esInput, der),
    'token_signature_invalid',
  );
  add(
    'ecdsa',
    'truncated to 63 bytes',
    withSignature(esInput, sigOf(esInput).subarray(0, 63)),
    'token_signature_invalid',
  );
  add(
    'ecdsa',
    'truncated to 32 bytes (r only)',
    withSignature(esInput, sigOf(esInput).subarray(0, 32)),
    'token_signature_invalid',
  );
  add(
    'ecdsa',
    'one zero byte appended (65 bytes)',
    withSignature(esInput, Buffer.concat([sigOf(esInput), Buffer.alloc(1)])),
    'token_signature_invalid',
  );
  add(
    'ecdsa',
    'one zero byte prepended (65 bytes)',
    withSignature(esInput, Buffer.concat([Buffer.alloc(1), sigOf(esInput)])),
    'token_signature_invalid',
  );
  add(
    'ecdsa',
    'r and s each zero-padded to 33 bytes',
    withSignature(esInput, Buffer.concat([Buffer.alloc(1), be32(r), Buffer.alloc(1), be32(s)])),
    'token_signature_invalid',
  );
  add(
    'ecdsa',
    'the signature twice (128 bytes)',
    withSignature(esInput, Buffer.concat([sigOf(esInput), sigOf(esInput)])),
    'token_signature_invalid',
  );
  add('ecdsa', 'a one-byte signature', withSignature(esInput, Buffer.from([0])), 'token_signature_invalid');
  add(
    'ecdsa',
    'ES256 header, signed over SHA-512',
    token(header('ES256', 'k-es'), claims(), ecdsa(es.privateKey, 'sha512')),
    'token_signature_invalid',
  );
  add(
    'ecdsa',
    'signed by another P-256 key under the trusted kid',
    token(header('ES256', 'k-es'), claims(), signers.attacker),
    'token_signature_invalid',
  );
  add(
    'ecdsa',
    'ES256 header naming a P-384 key',
    token(header('ES256', 'k-p384'), claims(), signers.p384),
    'token_key_unknown',
  );
  add(
    'ecdsa',
    'ES384 (not an allowed algorithm)',
    token(header('ES384', 'k-p384'), claims(), signers.p384),
    'token_algorithm_not_allowed',
  );
  add(
    'ecdsa',
    'ES256K (not an allowed algorithm)',
    token(header('ES256K', 'k-es'), claims(), signers.es),
    'token_algorithm_not_allowed',
  );
  add('ecdsa', 'empty signature', `${esInput.slice(0, esInput.lastIndexOf('.'))}.`, 'token_malformed');

  // --- RSA (Wycheproof rsa_signature / rsa_pss style): padding mix-ups, out-of-range values, weak keys.
  const rsaInput = token(header('RS256', 'k-rsa'), claims(), signers.rsaPkcs1);
  const rsaHeaderPs = token(header('PS256', 'k-rsa'), claims(), signers.rsaPss);
  const modulus = Buffer.from(jwk(rsa.publicKey).n as string, 'base64url');
  add(
    'rsa',
    'RS256 header over a PSS signature',
    token(header('RS256', 'k-rsa'), claims(), signers.rsaPss),
    'token_signature_invalid',
  );
  add(
    'rsa',
    'PS256 header over a PKCS#1 v1.5 signature',
    token(header('PS256', 'k-rsa'), claims(), signers.rsaPkcs1),
    'token_signature_invalid',
  );
  add(
    'rsa',
    'PS256 with salt length 0 (RFC 7518 §3.5 wants the hash length)',
    token(header('PS256', 'k-rsa'), claims(), pss(rsa.privateKey, 0)),
    'token_signature_invalid',
  );
  add(
    'rsa',
    'PS256 header naming a key whose alg is RS256',
    token(header('PS256', 'k-rs'), claims(), pss(rs.privateKey)),
    'token_key_unknown',
  );
  add(
    'rsa',
    'RS256 signed over SHA-1',
    token(header('RS256', 'k-rsa'), claims(), pkcs1(rsa.privateKey, 'sha1')),
    'token_signature_invalid',
  );
  add(
    'rsa',
    'signature truncated by one byte',
    withSignature(rsaInput, sigOf(rsaInput).subarray(1)),
    'token_signature_invalid',
  );
  add(
    'rsa',
    'signature with a zero byte prepended',
    withSignature(rsaInput, Buffer.concat([Buffer.alloc(1), sigOf(rsaInput)])),
    'token_signature_invalid',
  );
  add(
    'rsa',
    'PSS signature truncated by one byte',
    withSignature(rsaHeaderPs, sigOf(rsaHeaderPs).subarray(1)),
    'token_signature_invalid',
  );
  add('rsa', 'signature value 0', withSignature(rsaInput, Buffer.alloc(256)), 'token_signature_invalid');
  add(
    'rsa',
    'signature value 1',
    withSignature(rsaInput, Buffer.concat([Buffer.alloc(255), Buffer.from([1])])),
    'token_signature_invalid',
  );
  add('rsa', 'signature value n (the modulus)', withSignature(rsaInput, modulus), 'token_signature_invalid');
  add('rsa', 'signature value 2^2048 - 1', withSignature(rsaInput, Buffer.alloc(256, 0xff)), 'token_signature_invalid');
  add(
    'rsa',
    'a 1024-bit key in the key set',
    token(header('RS256', 'k-weak'), claims(), signers.weak),
    'token_key_unknown',
  );
  add(
    'rsa',
    'RS512 (not an allowed algorithm)',
    token(header('RS512', 'k-rsa'), claims(), pkcs1(rsa.privateKey, 'sha512')),
    'token_algorithm_not_allowed',
  );

  // --- EdDSA (Wycheproof eddsa_test style): non-canonical S, invalid R, wrong lengths, key-type mix-ups.
  const edInput = token(header('EdDSA', 'k-ed'), claims(), signers.ed);
  const edSig = sigOf(edInput);
  const S = fromLe(edSig.subarray(32));
  add(
    'eddsa',
    'non-canonical S (S + L)',
    withSignature(edInput, Buffer.concat([edSig.subarray(0, 32), le32(S + ED25519_L)])),
    'token_signature_invalid',
  );
  add(
    'eddsa',
    'S = L',
    withSignature(edInput, Buffer.concat([edSig.subarray(0, 32), le32(ED25519_L)])),
    'token_signature_invalid',
  );
  add(
    'eddsa',
    'S = 2^256 - 1',
    withSignature(edInput, Buffer.concat([edSig.subarray(0, 32), Buffer.alloc(32, 0xff)])),
    'token_signature_invalid',
  );
  add(
    'eddsa',
    'R not a curve point (all 0xff)',
    withSignature(edInput, Buffer.concat([Buffer.alloc(32, 0xff), edSig.subarray(32)])),
    'token_signature_invalid',
  );
  add('eddsa', 'all-zero signature', withSignature(edInput, Buffer.alloc(64)), 'token_signature_invalid');
  add('eddsa', 'truncated to 63 bytes', withSignature(edInput, edSig.subarray(0, 63)), 'token_signature_invalid');
  add(
    'eddsa',
    'one byte appended',
    withSignature(edInput, Buffer.concat([edSig, Buffer.alloc(1)])),
    'token_signature_invalid',
  );
  add(
    'eddsa',
    'signature of another message',
    withSignature(edInput, sigOf(token(header('EdDSA', 'k-ed'), claims({ sub: 'admin' }), signers.ed))),
    'token_signature_invalid',
  );
  add(
    'eddsa',
    'EdDSA header naming the P-256 key',
    token(header('EdDSA', 'k-es'), claims(), signers.ed),
    'token_key_unknown',
  );
  add(
    'eddsa',
    'ES256 header naming the Ed25519 key',
    token(header('ES256', 'k-ed'), claims(), signers.es),
    'token_key_unknown',
  );

  // A key set holding a small-order key: the forged signature R = identity, S = 0 really verifies (checked here
  // with node:crypto, grinding a claim until it does), so only refusing the key stops it.
  Object.entries(SMALL_ORDER_ED25519).forEach(([name, hex], i) => {
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: b64(Buffer.from(hex, 'hex')) },
      format: 'jwk',
    });
    const forged = Buffer.concat([Buffer.from(`01${'00'.repeat(31)}`, 'hex'), Buffer.alloc(32)]);
    for (let n = 0; n < 1_000; n++) {
      const input = `${b64(JSON.stringify(header('EdDSA', `k-small-${i}`)))}.${b64(JSON.stringify(claims({ sub: 'admin', roles: ['admin'], n })))}`;
      if (!verify(null, Buffer.from(input), publicKey, forged)) continue;
      add(
        'eddsa',
        `a small-order key in the key set (${name}), forged signature`,
        `${input}.${b64(forged)}`,
        'token_key_unknown',
      );
      return;
    }
    throw new Error(`no forgery found for the small-order key ${name}: the corpus would prove nothing`);
  });

  // --- JWS features authzd does not support, JWE and nesting.
  add(
    'jws-features',
    'b64:false, critical',
    token(header('ES256', 'k-es', { b64: false, crit: ['b64'] }), claims(), signers.es),
    'token_malformed',
  );
  add(
    'jws-features',
    'an unknown critical header',
    token(header('ES256', 'k-es', { crit: ['exp-ext'], 'exp-ext': 1 }), claims(), signers.es),
    'token_malformed',
  );
  add(
    'jws-features',
    'an empty crit list',
    token(header('ES256', 'k-es', { crit: [] }), claims(), signers.es),
    'token_malformed',
  );
  add(
    'jws-features',
    'crit naming a claim, not a header',
    token(header('ES256', 'k-es', { crit: ['exp'] }), claims(), signers.es),
    'token_malformed',
  );
  add(
    'jws-features',
    'JWE compact serialization (5 parts)',
    'eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ',
    'token_malformed',
  );
  add('jws-features', 'four parts', `${valid}.${b64('x')}`, 'token_malformed');
  add('jws-features', 'two parts', valid.slice(0, valid.lastIndexOf('.')), 'token_malformed');
  add(
    'jws-features',
    'a nested JWT (the payload is a JWT)',
    rawToken(JSON.stringify(header('ES256', 'k-es', { cty: 'JWT' })), valid, signers.es),
    'token_malformed',
  );
  add(
    'jws-features',
    'cty JWT over a claims set',
    token(header('ES256', 'k-es', { cty: 'JWT' }), claims(), signers.es),
    'token_malformed',
  );
  add(
    'jws-features',
    'cty application/jwt',
    token(header('ES256', 'k-es', { cty: 'application/jwt' }), claims(), signers.es),
    'token_malformed',
  );
  add(
    'jws-features',
    'cty jwt (lower case)',
    token(header('ES256', 'k-es', { cty: 'jwt' }), claims(), signers.es),
    'token_malformed',
  );

  // --- decoding: what reaches JSON.parse must be one UTF-8 JSON object, read the same by every parser.
  const h = JSON.stringify(header('ES256', 'k-es'));
  const p = JSON.stringify(claims());
  add('decoding', 'a header that is not JSON', rawToken('not json', p, signers.es), 'token_malformed');
  add('decoding', 'a header that is a JSON array', rawToken('[]', p, signers.es), 'token_malformed');
  add('decoding', 'a payload that is not JSON', rawToken(h, 'not json', signers.es), 'token_malformed');
  add('decoding', 'a payload that is a JSON array', rawToken(h, '[1]', signers.es), 'token_malformed');
  add('decoding', 'a payload that is null', rawToken(h, 'null', signers.es), 'token_malformed');
  add('decoding', 'a payload that is a string', rawToken(h, '"alice"', signers.es), 'token_malformed');
  add(
    'decoding',
    'invalid UTF-8 in the payload',
    rawToken(
      h,
      Buffer.concat([Buffer.from(p.slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      signers.es,
    ),
    'token_malformed',
  );
  add(
    'decoding',
    'invalid UTF-8 in the header',
    rawToken(
      Buffer.concat([Buffer.from(h.slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xff]), Buffer.from('"}')]),
      p,
      signers.es,
    ),
    'token_malformed',
  );
  add(
    'decoding',
    'a UTF-8 byte order mark before the payload',
    rawToken(h, `\uFEFF${p}`, signers.es),
    'token_malformed',
  );
  add(
    'decoding',
    'an overlong UTF-8 encoding of "/"',
    rawToken(
      h,
      Buffer.concat([Buffer.from(p.slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
      signers.es,
    ),
    'token_malformed',
  );

  // --- duplicate members: JSON.parse keeps the last, other parsers the first.
  const dupPayload = (tail: string) => rawToken(h, `${p.slice(0, -1)},${tail}}`, signers.es);
  add('duplicates', 'sub twice', dupPayload('"sub":"admin"'), 'token_malformed');
  add('duplicates', 'sub twice, the second escaped (\\u0073ub)', dupPayload('"\\u0073ub":"admin"'), 'token_malformed');
  add('duplicates', 'iss twice', dupPayload(`"iss":${JSON.stringify(ISSUER)}`), 'token_malformed');
  add('duplicates', 'aud twice', dupPayload('"aud":"other-api"'), 'token_malformed');
  add('duplicates', 'exp twice', dupPayload(`"exp":${now + 10 ** 8}`), 'token_malformed');
  add('duplicates', 'roles twice', dupPayload('"roles":["admin"]'), 'token_malformed');
  add(
    'duplicates',
    'a duplicate inside a nested object',
    dupPayload('"realm_access":{"roles":["customer"],"roles":["admin"]}'),
    'token_malformed',
  );
  add(
    'duplicates',
    'a duplicate inside an object in an array',
    dupPayload('"orgs":[{"id":"a"},{"id":"b","id":"c"}]'),
    'token_malformed',
  );
  add(
    'duplicates',
    'alg twice in the header (none first)',
    rawToken('{"alg":"none","alg":"ES256","kid":"k-es","typ":"at+jwt"}', p, signers.es),
    'token_malformed',
  );
  add(
    'duplicates',
    'kid twice in the header',
    rawToken('{"alg":"ES256","kid":"k-attacker","kid":"k-es","typ":"at+jwt"}', p, signers.es),
    'token_malformed',
  );
  add(
    'duplicates',
    'typ twice in the header',
    rawToken('{"alg":"ES256","kid":"k-es","typ":"JWT","typ":"at+jwt"}', p, signers.es),
    'token_malformed',
  );

  // --- canonical encoding: one signature, one token string.
  const [vh, vp, vs] = valid.split('.') as [string, string, string];
  const spare = rawToken(withSpare(h), withSpare(p), signers.es);
  const [sh, sp, ss] = spare.split('.') as [string, string, string];
  add('encoding', 'spare bits set in the signature', `${vh}.${vp}.${setSpareBits(vs)}`, 'token_malformed');
  add('encoding', 'spare bits set in the header', `${setSpareBits(sh)}.${sp}.${ss}`, 'token_malformed');
  add('encoding', 'spare bits set in the payload', `${sh}.${setSpareBits(sp)}.${ss}`, 'token_malformed');
  add(
    'encoding',
    'a signature part of 4k+1 characters',
    `${vh}.${vp}.${vs}${'A'.repeat((((1 - vs.length) % 4) + 4) % 4)}`,
    'token_malformed',
  );
  add('encoding', 'padding on the signature', `${valid}==`, 'token_malformed');
  add('encoding', 'padding on the payload', `${vh}.${vp}=.${vs}`, 'token_malformed');
  add('encoding', 'standard base64 alphabet (+)', `${vh}.${vp}.+${vs.slice(1)}`, 'token_malformed');
  add('encoding', 'standard base64 alphabet (/)', `${vh}.${vp}./${vs.slice(1)}`, 'token_malformed');
  add('encoding', 'a space inside the token', `${vh}. ${vp}.${vs}`, 'token_malformed');
  add('encoding', 'a tab inside the token', `${vh}.${vp}\t.${vs}`, 'token_malformed');
  add('encoding', 'a newline inside the token', `${vh}.${vp}.\n${vs}`, 'token_malformed');
  add('encoding', 'a non-ASCII character', `${vh}.${vp}.${vs}é`, 'token_malformed');
  add(
    'encoding',
    'two tokens in one header (Envoy joins repeats with ",")',
    `${valid},Bearer ${valid}`,
    'token_malformed',
  );
  add('encoding', 'the scheme alone', 'Bearer', 'token_malformed', true);

  // --- claims (RFC 7519 §4.1, RFC 9068): the signature is fine, the content is not acceptable.
  const claimsCase = (
    name: string,
    c: Record<string, unknown>,
    expect: Expected,
    h2: Record<string, unknown> = header('ES256', 'k-es'),
  ) => add('claims', name, token(h2, c, signers.es), expect);
  claimsCase('expired an hour ago', claims({ exp: now - 3600 }), 'token_expired');
  claimsCase('expired two minutes ago (beyond the tolerance)', claims({ exp: now - 120 }), 'token_expired');
  claimsCase('exp 0', claims({ exp: 0 }), 'token_expired');
  claimsCase('nbf in ten minutes', claims({ nbf: now + 600 }), 'token_not_yet_valid');
  claimsCase('iat in ten minutes', claims({ iat: now + 600 }), 'token_issued_in_future');
  claimsCase('no exp', claims({}, ['exp']), 'token_claims_invalid');
  claimsCase('exp a string', claims({ exp: String(now + 600) }), 'token_claims_invalid');
  add(
    'claims',
    'exp 1e400 (reads as Infinity)',
    rawToken(h, `${p.slice(0, -1).replace(/"exp":\d+/, '"exp":1e400')}}`, signers.es),
    'token_claims_invalid',
  );
  add(
    'claims',
    'nbf -1e400 (reads as -Infinity)',
    rawToken(h, `${p.slice(0, -1)},"nbf":-1e400}`, signers.es),
    'token_claims_invalid',
  );
  claimsCase('no sub', claims({}, ['sub']), 'token_claims_invalid');
  claimsCase('an empty sub', claims({ sub: '' }), 'token_claims_invalid');
  claimsCase('a numeric sub', claims({ sub: 42 }), 'token_claims_invalid');
  claimsCase('another issuer', claims({ iss: 'https://evil.example' }), 'token_issuer_unknown');
  claimsCase('the issuer with a trailing slash', claims({ iss: `${ISSUER}/` }), 'token_issuer_unknown');
  claimsCase('the issuer in upper case', claims({ iss: ISSUER.toUpperCase() }), 'token_issuer_unknown');
  claimsCase('the issuer with a trailing space', claims({ iss: `${ISSUER} ` }), 'token_issuer_unknown');
  claimsCase('the issuer in an array', claims({ iss: [ISSUER] }), 'token_issuer_unknown');
  claimsCase('no issuer', claims({}, ['iss']), 'token_issuer_unknown');
  claimsCase('another audience', claims({ aud: 'payments-api' }), 'token_audience_invalid');
  claimsCase('an empty audience list', claims({ aud: [] }), 'token_audience_invalid');
  claimsCase('an empty audience string', claims({ aud: '' }), 'token_audience_invalid');
  claimsCase('an audience object', claims({ aud: { aud: AUDIENCE } }), 'token_audience_invalid');
  claimsCase('no audience', claims({}, ['aud']), 'token_audience_invalid');
  claimsCase(
    'typ JWT where at+jwt is required',
    claims(),
    'token_type_invalid',
    header('ES256', 'k-es', { typ: 'JWT' }),
  );
  claimsCase('no typ', claims(), 'token_type_invalid', { alg: 'ES256', kid: 'k-es' });
  claimsCase(
    'typ at+jwt with a trailing space',
    claims(),
    'token_type_invalid',
    header('ES256', 'k-es', { typ: 'at+jwt ' }),
  );
  claimsCase('a numeric typ', claims(), 'token_type_invalid', header('ES256', 'k-es', { typ: 1 }));

  // --- size: the cap applies before any parsing.
  add(
    'size',
    'a signed token over tokens.maxBytes',
    token(header('ES256', 'k-es'), claims({ note: 'x'.repeat(9000) }), signers.es),
    'token_too_large',
  );
  add('size', '100 KB of base64url', `${'a'.repeat(50_000)}.${'b'.repeat(50_000)}.c`, 'token_too_large');
  add('size', '1 MB header value', `Bearer ${'x'.repeat(1 << 20)}`, 'token_too_large', true);

  return {
    jwksFile,
    issuer: { issuer: ISSUER, audiences: [AUDIENCE], jwksFile, requiredType: 'at+jwt' },
    cases,
    valid,
  };
}
