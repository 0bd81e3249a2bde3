/** Caps applied to an untrusted bundle before any of its bytes are trusted. */
export interface BundleLimits {
  /** Size of the gzip-compressed bundle as received. */
  maxCompressedBytes: number;
  /** Size of the tar stream once inflated, headers included; enforced while inflating (zip bombs). */
  maxUncompressedBytes: number;
  /** Size of any one file in the archive. */
  maxFileBytes: number;
  /** Number of entries in the archive, .manifest and .signatures.json included. */
  maxFiles: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_BUNDLE_LIMITS: Readonly<BundleLimits> = Object.freeze({
  maxCompressedBytes: 16 * MiB,
  maxUncompressedBytes: 64 * MiB,
  maxFileBytes: 32 * MiB,
  maxFiles: 1000,
});

/** The defaults with the given overrides; an override left undefined keeps its default. */
export function resolveLimits(overrides: Partial<BundleLimits> = {}): BundleLimits {
  const limits = { ...DEFAULT_BUNDLE_LIMITS };
  for (const key of Object.keys(limits) as (keyof BundleLimits)[]) {
    const value = overrides[key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}
