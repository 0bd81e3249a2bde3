import type { CedarValueJson, EntityJson } from './cedar.js';
import type { PolicyModel } from './compile-policy-model.js';
import { type EntityUid, entityKey } from './entity-store.js';

/** The principal of a Cedar request as its caller built it (claims, stored attributes, parents). */
export interface PrincipalEntity {
  readonly uid: EntityUid;
  readonly attrs: Record<string, CedarValueJson>;
  readonly parents: readonly EntityUid[];
}

/**
 * The entity slice of one Cedar request: the principal entity as given, then from the model's store its
 * parents and their ancestors, the resource and its ancestors, and — without a schema, when Cedar takes
 * action groups from data — the action and its groups. Each entity once, the principal first.
 * The sidecar (build-cedar-call.ts), the control plane's /v1/authorize and `authzd replay` all slice this
 * way, so a request decides the same wherever it is evaluated.
 */
export function requestEntities(model: Pick<PolicyModel, 'entities' | 'schema'>, principal: PrincipalEntity, resource: EntityUid, action: EntityUid): EntityJson[] {
  const store = model.entities;
  const entities: EntityJson[] = [principal as EntityJson];
  const seen = new Set([entityKey(principal.uid)]);
  store.slice(principal.parents.map(entityKey), entities, seen);
  store.slice([entityKey(resource)], entities, seen);
  if (model.schema === undefined) store.slice([entityKey(action)], entities, seen);
  return entities;
}
