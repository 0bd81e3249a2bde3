import { constants, KeyObject, verify, type webcrypto } from 'node:crypto';
import { types } from 'node:util';

import {
  errors,
  type FlattenedJWSInput,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  UnsecuredJWT,
} from 'jose';

type CryptoKey = webcrypto.CryptoKey;

/** What a CryptoKey jose imported for `alg` must look like, and how node:crypto checks a signature with it. */
interface AlgorithmSpec {
  readonly name: string;
  readonly hash?: string;
  readonly namedCurve?: string;
  /** node:crypto's digest name; null for Ed25519, which hashes internally. */
  readonly digest: string | null;
  readonly saltLength?: number;
  readonly ieeeP1363?: true;
  readonly minRsaBits?: number;
}

// Mirrors jose's own table (lib/jws_algorithms.js): the algorithm jose imported the key for must be exactly
// the one the token names, so a key stays pinned to one algorithm on this path as on jose's.
const SPECS: Readonly<Record<string, AlgorithmSpec>> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', digest: 'sha256', minRsaBits: 2048 },
  RS384: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384', digest: 'sha384', minRsaBits: 2048 },
  RS512: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512', digest: 'sha512', minRsaBits: 2048 },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256', digest: 'sha256', saltLength: 32, minRsaBits: 2048 },
  PS384: { name: 'RSA-PSS', hash: 'SHA-384', digest: 'sha384', saltLength: 48, minRsaBits: 2048 },
  PS512: { name: 'RSA-PSS', hash: 'SHA-512', digest: 'sha512', saltLength: 64, minRsaBits: 2048 },
  ES256: { name: 'ECDSA', namedCurve: 'P-256', digest: 'sha256', ieeeP1363: true },
  ES384: { name: 'ECDSA', namedCurve: 'P-384', digest: 'sha384', ieeeP1363: true },
  ES512: { name: 'ECDSA', namedCurve: 'P-521', digest: 'sha512', ieeeP1363: true },
  EdDSA: { name: 'Ed25519', digest: null },
  Ed25519: { name: 'Ed25519', digest: null },
};

/** The node:crypto view of each CryptoKey jose hands out (jose caches its imports, so these stay few). */
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/**
 * jwtVerify with the signature checked synchronously by node:crypto instead of WebCrypto, whose
 * asynchronous hop to the thread pool costs more than the signature itself (docs/BENCHMARKS.md, "Cold
 * tokens"). Everything else stays jose's: the key comes from the same getKey (JWK import, kid/alg
 * selection, the per-algorithm key cache), and the claims are checked by jose's own claim validation
 * (UnsecuredJWT.decode runs exactly jwtVerify's validateClaimsSet on the payload, with the token's `typ`).
 *
 * Returns undefined when the token is outside the shapes this path handles (an algorithm not allowed or not
 * in the table, a `crit` or `b64` header, a key jose would reject for the algorithm, a signature node:crypto
 * cannot read): the caller then runs jwtVerify itself, so every such answer is jose's. Throws what jwtVerify
 * would throw for the key lookup, a wrong signature and the claims.
 *
 * `header` is the token's decoded protected header (decodeTokenParts); the token is already known to be
 * three canonical base64url parts (extractBearer).
 */
export async function fastJwtVerify(
  token: string,
  header: Readonly<Record<string, unknown>>,
  getKey: JWTVerifyGetKey,
  options: JWTVerifyOptions & { readonly algorithms: readonly string[] },
): Promise<JWTPayload | undefined> {
  const alg = header.alg;
  if (typeof alg !== 'string' || !options.algorithms.includes(alg) || !Object.hasOwn(SPECS, alg)) return undefined;
  if (Object.hasOwn(header, 'crit') || Object.hasOwn(header, 'b64')) return undefined;
  const spec = SPECS[alg]!;
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  const jws: FlattenedJWSInput = {
    protected: token.slice(0, first),
    payload: token.slice(first + 1, second),
    signature: token.slice(second + 1),
  };
  // As in jwtVerify: the alg is allowed, so the key lookup comes next and its errors are the answer.
  const key: unknown = await getKey(header as JWTHeaderParameters, jws);
  if (!types.isCryptoKey(key) || !pinned(key, spec)) return undefined;
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    keyObject = KeyObject.from(key);
    keyObjects.set(key, keyObject);
  }
  let valid: boolean;
  try {
    valid = verify(
      spec.digest,
      Buffer.from(token.slice(0, second), 'latin1'),
      spec.ieeeP1363 !== undefined
        ? { key: keyObject, dsaEncoding: 'ieee-p1363' }
        : spec.saltLength !== undefined
          ? { key: keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.saltLength }
          : keyObject,
      Buffer.from(jws.signature, 'base64url'),
    );
  } catch {
    return undefined;
  }
  if (!valid) throw new errors.JWSSignatureVerificationFailed();
  // Only the typ of the verified header matters to the claim checks; alg "none" is what UnsecuredJWT.decode
  // requires of the stand-in header. The stand-in never leaves this function.
  const standIn = Buffer.from(
    JSON.stringify(header.typ === undefined ? { alg: 'none' } : { alg: 'none', typ: header.typ }),
  );
  return UnsecuredJWT.decode(`${standIn.toString('base64url')}.${jws.payload}.`, options).payload;
}

/** The checks jose makes of a CryptoKey before WebCrypto uses it (checkCryptoKey, checkModulusLength). */
function pinned(key: CryptoKey, spec: AlgorithmSpec): boolean {
  if (key.type !== 'public' || !key.usages.includes('verify')) return false;
  const algorithm = key.algorithm as {
    name: string;
    hash?: { name: string };
    namedCurve?: string;
    modulusLength?: number;
  };
  if (algorithm.name !== spec.name) return false;
  if (spec.hash !== undefined && algorithm.hash?.name !== spec.hash) return false;
  if (spec.namedCurve !== undefined && algorithm.namedCurve !== spec.namedCurve) return false;
  if (
    spec.minRsaBits !== undefined &&
    !(typeof algorithm.modulusLength === 'number' && algorithm.modulusLength >= spec.minRsaBits)
  )
    return false;
  return true;
}
