import { readPublicKey } from './bundle-keys.js';
import { verifyBundle, type VerifyResult } from './verify-bundle.js';

/** How a sidecar decides whether to believe a bundle: configured key files, its scope, rollback rules. */
export interface BundleTrust {
  readonly keys: readonly { readonly file: string; readonly kid?: string | undefined }[];
  readonly scope: string;
  readonly minRevision: number | undefined;
  readonly allowRollback: boolean;
  readonly maxBytes: number;
}

/** verifyBundle with the trusted keys read from their PEM files (so it can run on any thread). */
export async function verifyWithTrust(bytes: Uint8Array, trust: BundleTrust): Promise<VerifyResult> {
  const keys = await Promise.all(trust.keys.map((k) => readPublicKey(k.file, k.kid)));
  return verifyBundle(bytes, {
    keys,
    scope: trust.scope,
    ...(trust.minRevision !== undefined ? { minRevision: trust.minRevision } : {}),
    allowRollback: trust.allowRollback,
    limits: { maxCompressedBytes: trust.maxBytes },
  });
}
