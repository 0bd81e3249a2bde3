// The bundle format's names and the shapes of its two JSON documents (docs/bundles.md describes each field).
// Both shapes are closed: a field this version does not know is refused rather than ignored.
import { z } from 'zod';

import { isPolicyFile } from '../policy/policy-files.js';

export const MANIFEST_FILE = '.manifest';
export const SIGNATURES_FILE = '.signatures.json';
/** JWS `typ` of a bundle signature, so a signature made for another purpose by the same key is not accepted. */
export const BUNDLE_JWS_TYPE = 'authzd-bundle+jws';
export const MODEL_VERSION = 1;

export type BundleAlgorithm = 'ES256' | 'EdDSA';
export const BUNDLE_ALGORITHMS: readonly BundleAlgorithm[] = ['ES256', 'EdDSA'];

/**
 * The scope signed into a bundle and expected by a verifier when none is given, the same for every tool:
 * `control-plane --scope`, `serve --bundle-scope` (`bundle.scope`), `bundle build|verify --scope` and
 * `replay --scope`. It depends on nothing else (not a bundle name or a URL), so a bundle verifies wherever it
 * is copied to, under any file name.
 */
export const DEFAULT_SCOPE = 'authzd';

/** Printable ASCII without spaces: a scope and a kid end up in logs, metric labels and terminal output. */
export const SCOPE_PATTERN = /^[\x21-\x7e]{1,256}$/;
export const KID_PATTERN = /^[\x21-\x7e]{1,256}$/;
/** Metadata keys: short identifiers, so they print safely and cannot be `__proto__`. */
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

// Control characters (C0, DEL, C1) in a file name could rewrite a terminal that prints it.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why a name may not be an entry of a bundle, or undefined if it may. Bundles are flat: no directories, so no
 * path can point outside wherever a consumer puts the files.
 */
export function entryNameProblem(name: string): string | undefined {
  if (name === '') return 'has an empty name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'has an absolute path';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator (bundles are flat)';
  if (CONTROL.test(name)) return 'contains a control character';
  if (name !== MANIFEST_FILE && name !== SIGNATURES_FILE && !isPolicyFile(name)) {
    return 'is not a policy file (*.cedar, schema.cedarschema, entities.json, routes.yaml), .manifest or .signatures.json';
  }
  return undefined;
}

export const SignaturesFileSchema = z.strictObject({ signatures: z.array(z.string()) });

export const SignedFileSchema = z.strictObject({
  name: z.string(),
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256'),
  algorithm: z.literal('SHA-256'),
});

export const SignedPayloadSchema = z.strictObject({
  files: z.array(SignedFileSchema),
  scope: z.string(),
  // z.int() admits safe integers only: a revision must survive JSON and Cedar (2^53) unchanged.
  revision: z.int().positive(),
});
export type SignedPayload = z.infer<typeof SignedPayloadSchema>;

export const ManifestSchema = z.strictObject({
  revision: z.int().positive(),
  created: z.iso.datetime({ offset: true }),
  modelVersion: z.literal(MODEL_VERSION),
  scope: z.string(),
  // Checked by metadataProblem: zod's record drops a `__proto__` key silently instead of refusing it.
  metadata: z.unknown().optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** Why a metadata value is not a map of identifier-like keys to strings, or undefined if it is. */
export function metadataProblem(metadata: unknown): string | undefined {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    return 'metadata must be an object of strings';
  for (const [key, value] of Object.entries(metadata)) {
    if (!METADATA_KEY_PATTERN.test(key))
      return `metadata key ${JSON.stringify(key)} must match ${METADATA_KEY_PATTERN.source}`;
    if (typeof value !== 'string') return `metadata.${key} must be a string`;
  }
  return undefined;
}

/** What is known about a verified bundle. */
export interface BundleInfo {
  readonly revision: number;
  readonly digest: string;
  readonly kid: string;
  readonly created: string;
  readonly scope: string;
}
