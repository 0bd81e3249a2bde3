import { KeyObject, type webcrypto } from 'node:crypto';

import type { BundleAlgorithm } from './bundle-format.js';

/** A key as jose takes it: a WebCrypto CryptoKey (what jose's importers return) or a node:crypto KeyObject. */
export type BundleKey = webcrypto.CryptoKey | KeyObject;

/** The bundle algorithm a key is for (P-256 -> ES256, Ed25519 -> EdDSA), or undefined for any other key. */
export function keyAlgorithm(key: BundleKey): BundleAlgorithm | undefined {
  if (key instanceof KeyObject) {
    if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
    return undefined;
  }
  const algorithm = key.algorithm as { name: string; namedCurve?: string };
  if (algorithm.name === 'Ed25519') return 'EdDSA';
  if (algorithm.name === 'ECDSA' && algorithm.namedCurve === 'P-256') return 'ES256';
  return undefined;
}
