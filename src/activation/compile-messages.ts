import type { BundleInfo } from '../bundle/bundle-format.js';
import type { BundleRejection } from '../bundle/bundle-rejections.js';
import type { BundleTrust } from '../bundle/verify-with-trust.js';

/** Where the compile worker takes the policy set from. The worker reads a directory itself, so a large set never has to be copied across threads. */
export type CompileSource =
  | { readonly directory: string }
  | { readonly files: readonly (readonly [string, string])[] }
  /** A signed bundle: verified first, compiled only if it passes. */
  | { readonly bundle: Uint8Array; readonly trust: BundleTrust };

/** One job for the compile worker. */
export interface CompileRequest {
  readonly type: 'compile';
  readonly source: CompileSource;
  readonly version: string | undefined;
}

// Messages carry JSON text (policy/model-parts.ts says why).
export type WorkerMessage =
  | { readonly type: 'model'; readonly json: string }
  | { readonly type: 'entities'; readonly json: string }
  | { readonly type: 'verified'; readonly bundle: BundleInfo }
  | { readonly type: 'bundle-rejected'; readonly reason: BundleRejection; readonly detail: string }
  | { readonly type: 'done' }
  | { readonly type: 'rejected'; readonly problems: readonly string[] }
  | { readonly type: 'crashed'; readonly message: string };

/** A job, or the serving thread asking for the next chunk once it has stored the last one. */
export type MainMessage = CompileRequest | { readonly type: 'next' };

/** Entities per message: small enough that storing one chunk is a few milliseconds of the serving thread. */
export const ENTITY_CHUNK = 250;
