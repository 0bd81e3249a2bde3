// Verification of an untrusted policy bundle (docs/bundles.md, "Verification"). The transport is not trusted:
// the bytes are bounded, unpacked in memory under strict entry rules, and then believed only as far as the one
// signature, by a configured key, vouches for them. Each failure is a typed rejection, never an exception.
import { createHash } from 'node:crypto';

import { ConfigError } from '../config/config-error.js';
import { parseJson } from '../util/parse-json.js';
import {
  BUNDLE_ALGORITHMS,
  type BundleAlgorithm,
  MANIFEST_FILE,
  ManifestSchema,
  metadataProblem,
  SCOPE_PATTERN,
  SIGNATURES_FILE,
} from './bundle-format.js';
import { type BundleLimits, resolveLimits } from './bundle-limits.js';
import type { BundleRejection } from './bundle-rejections.js';
import { type BundleKey, keyAlgorithm } from './key-algorithm.js';
import { quoteUntrusted } from './quote-untrusted.js';
import { readBundleArchive } from './read-bundle-archive.js';
import { verifyBundleSignature } from './verify-bundle-signature.js';

export { type BundleLimits, DEFAULT_BUNDLE_LIMITS } from './bundle-limits.js';

export interface TrustedKey {
  kid: string;
  key: BundleKey;
  alg: BundleAlgorithm;
}

export interface VerifiedBundle {
  revision: number;
  scope: string;
  created: string;
  metadata: Record<string, string>;
  /** kid of the trusted key that signed the bundle. */
  kid: string;
  /** The policy files (every entry but .manifest and .signatures.json), decoded as UTF-8. */
  files: Map<string, string>;
  /** Name -> lowercase hex SHA-256 of every signed file: the policy files and .manifest. */
  hashes: Map<string, string>;
  /** Lowercase hex SHA-256 of the whole compressed bundle, as received. */
  digest: string;
}

export type VerifyResult =
  { ok: true; bundle: VerifiedBundle } | { ok: false; reason: BundleRejection; detail: string };

export interface VerifyBundleOptions {
  /** Public keys trusted to sign bundles; several during a key rotation. Selected by the JWS kid. */
  keys: readonly TrustedKey[];
  /** The scope this verifier serves: a bundle validly signed for another scope is refused. */
  scope: string;
  /** Revision of the active bundle: older ones are refused (equal is a re-delivery and passes). */
  minRevision?: number;
  /** Accept a revision older than minRevision, for a deliberate rollback. */
  allowRollback?: boolean;
  limits?: Partial<BundleLimits>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Verifies a bundle as received. Checks run in the documented order and the first failure is returned; bad
 * options (no keys, a key whose type does not match its alg, nonsensical limits) are a ConfigError, thrown.
 */
export async function verifyBundle(bytes: Uint8Array, options: VerifyBundleOptions): Promise<VerifyResult> {
  const limits = checkOptions(options);

  const archive = await readBundleArchive(bytes, limits);
  if (!archive.ok) return archive;
  const { entries } = archive;

  const signature = await verifyBundleSignature(entries.get(SIGNATURES_FILE), options.keys);
  if (!signature.ok) return signature;
  const { payload, key } = signature;

  const signed = new Map<string, string>();
  for (const file of payload.files) {
    if (signed.has(file.name))
      return reject('bundle_files_mismatch', `the signed file list names ${quoteUntrusted(file.name)} twice`);
    signed.set(file.name, file.hash);
  }
  const present = [...entries.keys()].filter((name) => name !== SIGNATURES_FILE);
  const unsigned = present.filter((name) => !signed.has(name));
  const missing = [...signed.keys()].filter((name) => !entries.has(name) || name === SIGNATURES_FILE);
  if (unsigned.length > 0 || missing.length > 0) {
    const parts = [];
    if (unsigned.length > 0) parts.push(`not signed: ${unsigned.join(', ')}`);
    if (missing.length > 0) parts.push(`signed but absent: ${missing.map((n) => quoteUntrusted(n)).join(', ')}`);
    return reject('bundle_files_mismatch', parts.join('; '));
  }

  const hashes = new Map<string, string>();
  for (const name of present) {
    const hash = sha256(entries.get(name)!);
    if (hash !== signed.get(name)) return reject('bundle_hash_mismatch', `${name} does not have the signed SHA-256`);
    hashes.set(name, hash);
  }

  if (payload.scope !== options.scope) {
    return reject(
      'bundle_scope_mismatch',
      `signed for scope ${quoteUntrusted(payload.scope)}, expected ${quoteUntrusted(options.scope)}`,
    );
  }

  const manifestBytes = entries.get(MANIFEST_FILE);
  if (manifestBytes === undefined) return reject('bundle_manifest_invalid', '.manifest is missing');
  const manifest = ManifestSchema.safeParse(parseJsonBytes(manifestBytes));
  if (!manifest.success) {
    const issue = manifest.error.issues[0]!;
    return reject('bundle_manifest_invalid', `.manifest: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const { revision, scope, created, metadata = {} } = manifest.data;
  const problem = metadataProblem(metadata);
  if (problem !== undefined) return reject('bundle_manifest_invalid', `.manifest: ${problem}`);
  if (revision !== payload.revision)
    return reject(
      'bundle_manifest_invalid',
      `.manifest revision ${revision} differs from the signed revision ${payload.revision}`,
    );
  if (scope !== payload.scope)
    return reject(
      'bundle_manifest_invalid',
      `.manifest scope differs from the signed scope ${quoteUntrusted(payload.scope)}`,
    );

  if (options.minRevision !== undefined && revision < options.minRevision && options.allowRollback !== true) {
    return reject('bundle_rollback', `revision ${revision} is older than the active revision ${options.minRevision}`);
  }

  const files = new Map<string, string>();
  for (const name of present) {
    if (name === MANIFEST_FILE) continue;
    try {
      files.set(name, utf8.decode(entries.get(name)));
    } catch {
      return reject('bundle_corrupt', `${name} is not valid UTF-8`);
    }
  }

  return {
    ok: true,
    bundle: {
      revision,
      scope,
      created,
      metadata: Object.fromEntries(Object.entries(metadata as Record<string, string>)),
      kid: key.kid,
      files,
      hashes,
      digest: sha256(bytes),
    },
  };
}

function checkOptions(options: VerifyBundleOptions): BundleLimits {
  const problems: string[] = [];
  if (options.keys.length === 0) problems.push('bundle verification needs at least one trusted public key');
  for (const key of options.keys) {
    if (!BUNDLE_ALGORITHMS.includes(key.alg))
      problems.push(`trusted key ${key.kid}: alg ${key.alg} is not ES256 or EdDSA`);
    else if (keyAlgorithm(key.key) !== key.alg)
      problems.push(`trusted key ${key.kid}: the key is not ${key.alg === 'ES256' ? 'a P-256' : 'an Ed25519'} key`);
    else if (key.key.type !== 'public')
      problems.push(`trusted key ${key.kid}: expected a public key, got a ${key.key.type} key`);
  }
  if (!SCOPE_PATTERN.test(options.scope))
    problems.push(`scope ${JSON.stringify(options.scope)} must be 1-256 printable ASCII characters without spaces`);
  if (options.minRevision !== undefined && !(Number.isSafeInteger(options.minRevision) && options.minRevision >= 0)) {
    problems.push(`minRevision ${options.minRevision} must be a non-negative integer`);
  }
  const limits = resolveLimits(options.limits);
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) problems.push(`limits.${name} must be a positive integer`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return limits;
}

function parseJsonBytes(bytes: Uint8Array): unknown {
  try {
    return parseJson(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function reject(reason: BundleRejection, detail: string): VerifyResult {
  return { ok: false, reason, detail };
}
