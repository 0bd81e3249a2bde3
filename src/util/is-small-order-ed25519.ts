import { KeyObject, type webcrypto } from 'node:crypto';

// The Ed25519 points of small order (the identity, order 2, 4 and 8), and the non-canonical encodings
// y = p and y = p + 1 that decode to two of them, with the sign bit cleared; libsodium refuses the same set.
// OpenSSL's verification (so WebCrypto's, so jose's) accepts R = identity, S = 0 as a signature by any of
// these keys for a large share of messages: a key set holding one lets anybody mint tokens.
const SMALL_ORDER = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
]);

/** Whether a public key's 32 encoded bytes are a small-order Ed25519 point (in any encoding). */
export function isSmallOrderEd25519(encoded: Uint8Array): boolean {
  if (encoded.length !== 32) return false;
  const masked = Buffer.from(encoded);
  masked[31]! &= 0x7f;
  return SMALL_ORDER.has(masked.toString('hex'));
}

const verdicts = new WeakMap<object, boolean>();
// A global in Node 20, but not yet on node:crypto's webcrypto object there (the types say otherwise).
const CryptoKeyClass = (globalThis as unknown as { CryptoKey: webcrypto.CryptoKeyConstructor }).CryptoKey;

/** Whether a key jose resolved (a CryptoKey or KeyObject) is an Ed25519 public key of small order. Memoised per key object. */
export function isSmallOrderEd25519Key(key: unknown): boolean {
  if (typeof key !== 'object' || key === null) return false;
  const known = verdicts.get(key);
  if (known !== undefined) return known;
  let verdict = false;
  const object = key instanceof KeyObject ? key : key instanceof CryptoKeyClass ? KeyObject.from(key) : undefined;
  if (object?.type === 'public' && object.asymmetricKeyType === 'ed25519') {
    const { x } = object.export({ format: 'jwk' });
    verdict = typeof x === 'string' && isSmallOrderEd25519(Buffer.from(x, 'base64url'));
  }
  verdicts.set(key, verdict);
  return verdict;
}
