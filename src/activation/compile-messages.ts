import type { BundleInfo } from '../bundle/bundle-format.js';
import type { BundleRejection } from '../bundle/bundle-rejections.js';
import type { BundleTrust } from '../bundle/verify-with-trust.js';
import type { PolicyModel } from '../policy/compile-policy-model.js';
import type { IndexedEntity } from '../policy/entity-store.js';

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

/** A compiled model minus what cannot cross threads (the route matcher) or must come in chunks (entities). */
export type ModelParts = Omit<PolicyModel, 'entities' | 'routes'> & { readonly entityCount: number };

// Messages carry JSON text rather than object graphs: the receiving thread spends far less time in
// JSON.parse than in deserialising the same structured clone (1,000 policy scopes: ~1 ms against ~20 ms).
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

/**
 * The model as JSON text without a reviver: the few Map/Set fields are sent as arrays and rebuilt
 * explicitly, because JSON.parse with a reviver calls back for every node and costs the receiving
 * thread several times more than the parse itself.
 */
export function encodeModelParts(parts: ModelParts): string {
  return JSON.stringify({
    ...parts,
    policyInfo: [...parts.policyInfo],
    slicePlan: [...parts.slicePlan],
    policyScopes: [...parts.policyScopes],
    actionAncestors: [...parts.actionAncestors].map(([id, groups]) => [id, [...groups]]),
    entityReach: {
      ...parts.entityReach,
      attributes: parts.entityReach.attributes === 'all' ? 'all' : [...parts.entityReach.attributes],
    },
  });
}

export function decodeModelParts(json: string): ModelParts {
  const raw = JSON.parse(json) as Record<string, unknown>;
  const pairs = <V>(key: string) => raw[key] as [string, V][];
  const reach = raw.entityReach as Omit<ModelParts['entityReach'], 'attributes'> & { attributes: string[] | 'all' };
  return {
    ...(raw as unknown as ModelParts),
    policyInfo: new Map(
      pairs<ModelParts extends { policyInfo: ReadonlyMap<string, infer V> } ? V : never>('policyInfo'),
    ),
    slicePlan: new Map(pairs<ModelParts extends { slicePlan: ReadonlyMap<string, infer V> } ? V : never>('slicePlan')),
    policyScopes: new Map(
      pairs<ModelParts extends { policyScopes: ReadonlyMap<string, infer V> } ? V : never>('policyScopes'),
    ),
    actionAncestors: new Map(pairs<string[]>('actionAncestors').map(([id, groups]) => [id, new Set(groups)])),
    entityReach: { ...reach, attributes: reach.attributes === 'all' ? 'all' : new Set(reach.attributes) },
  };
}

export const encodeEntities = (chunk: readonly IndexedEntity[]): string => JSON.stringify(chunk);
export const decodeEntities = (json: string): IndexedEntity[] => JSON.parse(json) as IndexedEntity[];
