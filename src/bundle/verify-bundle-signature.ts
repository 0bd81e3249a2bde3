import { compactVerify, decodeProtectedHeader } from 'jose';

import {
  BUNDLE_ALGORITHMS,
  BUNDLE_JWS_TYPE,
  type BundleAlgorithm,
  SignaturesFileSchema,
  type SignedPayload,
  SignedPayloadSchema,
} from './bundle-format.js';
import type { BundleRejection } from './bundle-rejections.js';
import { quoteUntrusted } from './quote-untrusted.js';
import type { TrustedKey } from './verify-bundle.js';

export type SignatureResult =
  | { readonly ok: true; readonly payload: SignedPayload; readonly key: TrustedKey }
  | { readonly ok: false; readonly reason: BundleRejection; readonly detail: string };

// RFC 7515 §7.1 compact serialization with unpadded base64url parts; jose would also accept padding, and one
// signature should have exactly one spelling.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const HEADER_PARAMETERS = new Set(['alg', 'kid', 'typ']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks .signatures.json: exactly one compact JWS, of the bundle type, by a trusted key with that key's
 * algorithm, whose payload is a well-formed file list. Only the header's alg/kid/typ are read before the
 * signature verifies, and only to pick the key.
 */
export async function verifyBundleSignature(
  signaturesFile: Buffer | undefined,
  keys: readonly TrustedKey[],
): Promise<SignatureResult> {
  // OPA GHSA-g2pf-6v5v-qcc8: a bundle without signatures must not fall back to "unverified but accepted".
  if (signaturesFile === undefined) return reject('bundle_unsigned', '.signatures.json is missing');
  const parsed = SignaturesFileSchema.safeParse(parseJson(signaturesFile));
  if (!parsed.success)
    return reject('bundle_signature_invalid', '.signatures.json is not {"signatures": ["<compact JWS>"]}');
  const { signatures } = parsed.data;
  if (signatures.length === 0) return reject('bundle_unsigned', '.signatures.json lists no signature');
  if (signatures.length > 1)
    return reject(
      'bundle_signature_invalid',
      `.signatures.json lists ${signatures.length} signatures; exactly one is accepted`,
    );
  const jws = signatures[0]!;
  if (!COMPACT_JWS.test(jws)) return reject('bundle_signature_invalid', 'the signature is not a compact JWS');

  let header;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    return reject('bundle_signature_invalid', 'the JWS protected header is not valid base64url JSON');
  }
  const extra = Object.keys(header).filter((k) => !HEADER_PARAMETERS.has(k));
  if (extra.length > 0)
    return reject(
      'bundle_signature_invalid',
      `unexpected JWS header parameters: ${extra.map((k) => quoteUntrusted(k)).join(', ')}`,
    );
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string' || !BUNDLE_ALGORITHMS.includes(alg as BundleAlgorithm)) {
    return reject(
      'bundle_signature_invalid',
      `JWS alg ${quoteUntrusted(alg)} is not accepted; only ES256 and EdDSA are`,
    );
  }
  if (typ !== BUNDLE_JWS_TYPE)
    return reject('bundle_signature_invalid', `JWS typ ${quoteUntrusted(typ)} is not "${BUNDLE_JWS_TYPE}"`);
  if (typeof kid !== 'string') return reject('bundle_signature_invalid', 'the JWS header has no kid');

  const candidates = keys.filter((k) => k.kid === kid);
  if (candidates.length === 0)
    return reject('bundle_key_unknown', `signed by kid ${quoteUntrusted(kid)}, which is not a trusted key`);
  const matching = candidates.filter((k) => k.alg === alg);
  if (matching.length === 0)
    return reject(
      'bundle_signature_invalid',
      `JWS alg ${alg} does not match the trusted key ${quoteUntrusted(kid)} (${candidates[0]!.alg})`,
    );

  for (const key of matching) {
    let payloadBytes: Uint8Array;
    try {
      ({ payload: payloadBytes } = await compactVerify(jws, key.key, { algorithms: [key.alg] }));
    } catch {
      // Every jose failure here (bad signature, unusable key, malformed JWS) means the same to an operator: this
      // signature does not prove this key signed the bundle. The next key with the same kid may still.
      continue;
    }
    const payload = SignedPayloadSchema.safeParse(parseJson(payloadBytes));
    if (!payload.success) {
      const issue = payload.error.issues[0]!;
      return reject(
        'bundle_signature_invalid',
        `the signed payload is malformed: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
      );
    }
    return { ok: true, payload: payload.data, key };
  }
  return reject(
    'bundle_signature_invalid',
    `the signature does not verify with the trusted key ${quoteUntrusted(kid)}`,
  );
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}

function reject(reason: BundleRejection, detail: string): SignatureResult {
  return { ok: false, reason, detail };
}
