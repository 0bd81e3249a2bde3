// The closed set of reasons a policy bundle is rejected. Each code is a `### \`code\`` heading in
// docs/bundles.md (test/unit/bundle/bundle-docs-sync.test.ts keeps the two in step, both ways). The text is
// the sentence `authzd bundle verify` prints after the code: it tells an operator what to do next.

export const BUNDLE_REJECTIONS = {
  bundle_too_large:
    'The bundle exceeds a size limit (compressed size, uncompressed size, one file, or number of files); shrink the policy set or raise the limit on the verifying side.',
  bundle_corrupt:
    'The bundle is not a well-formed gzip-compressed tar archive (garbage, truncated, bad checksum, data after the end); rebuild it with `authzd bundle build` and check the transfer.',
  bundle_entry_forbidden:
    'The archive holds an entry a bundle may not contain (a link, directory, device, path with a separator or "..", duplicate, or a name that is not a policy file); rebuild it with `authzd bundle build`.',
  bundle_unsigned:
    'The bundle carries no signature (.signatures.json is missing or lists none); unsigned bundles are always refused, so sign it with `authzd bundle build --signing-key`.',
  bundle_key_unknown:
    "The bundle is signed by a key whose kid is not among the trusted public keys; trust the signer's public key, or rebuild the bundle with a trusted signing key.",
  bundle_signature_invalid:
    'The signature is malformed, uses an algorithm other than ES256/EdDSA or one that does not match the key, or does not verify; the bundle was altered or signed with another key under a trusted kid.',
  bundle_files_mismatch:
    'The files in the archive are not exactly the files the signature lists (one was added or removed after signing); rebuild and re-sign the bundle.',
  bundle_hash_mismatch:
    'A file in the archive does not have the SHA-256 the signature lists: its content was changed after signing; rebuild and re-sign the bundle.',
  bundle_scope_mismatch:
    'The bundle is validly signed for another scope than the one this verifier expects; deliver the bundle built for this scope (--scope).',
  bundle_manifest_invalid:
    'The .manifest is missing or malformed, or its revision or scope differ from the signed ones; rebuild the bundle with `authzd bundle build`.',
  bundle_rollback:
    'The bundle is older than the minimum revision accepted (the active one); deliver a newer revision, or allow the rollback explicitly.',
} as const;

export type BundleRejection = keyof typeof BUNDLE_REJECTIONS;

export const BUNDLE_REJECTION_CODES = Object.keys(BUNDLE_REJECTIONS) as BundleRejection[];

/** A bundle failed verification: nothing of it was compiled. */
export class BundleRejectedError extends Error {
  override readonly name = 'BundleRejectedError';
  constructor(
    readonly reason: BundleRejection,
    readonly detail: string,
  ) {
    super(`bundle rejected (${reason}): ${detail}`);
  }
}
