// A compiled policy model as it crosses threads: the compile worker sends it to the serving thread, and the
// serving thread sends it to the shadow verifier (engine/shadow/).
import type { PolicyModel } from './compile-policy-model.js';
import type { EntityStore, IndexedEntity } from './entity-store.js';
import { qualifyType } from './qualify-type.js';
import { RouteTable } from './route-table.js';

/** A compiled model minus what cannot cross threads (the route matcher) or must come in chunks (entities). */
export type ModelParts = Omit<PolicyModel, 'entities' | 'routes'> & { readonly entityCount: number };

// Messages carry JSON text rather than object graphs: the receiving thread spends far less time in
// JSON.parse than in deserialising the same structured clone (1,000 policy scopes: ~1 ms against ~20 ms).

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

/** The model again, from its parts and its restored entity store; the route matcher is rebuilt from its specs. */
export function restoreModel(parts: ModelParts, entities: EntityStore): PolicyModel {
  const { entityCount: _count, ...rest } = parts;
  const routes = new RouteTable(parts.routeSpecs, (t) => qualifyType(parts.namespace, t));
  return { ...rest, routes, entities };
}

/** The model's parts as JSON text, and its entities in chunks of `chunk`: what restoreModel takes back. */
export function* exportModel(model: PolicyModel, chunk: number): Generator<{ parts: string } | { entities: string }> {
  const { entities, routes: _routes, ...rest } = model;
  yield { parts: encodeModelParts({ ...rest, entityCount: entities.size }) };
  let batch: IndexedEntity[] = [];
  for (const entry of entities.exportEntries()) {
    batch.push(entry);
    if (batch.length === chunk) {
      yield { entities: encodeEntities(batch) };
      batch = [];
    }
  }
  if (batch.length > 0) yield { entities: encodeEntities(batch) };
}
