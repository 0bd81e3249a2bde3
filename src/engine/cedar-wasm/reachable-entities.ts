import type { CedarValueJson, EntityJson } from '../../cedar/cedar.js';
import type { PrincipalEntity } from '../../contract/cedar-call.js';
import { type EntityUid } from '../../contract/cedar-call.js';
import type { EntityReach } from '../../policy/entity-reach.js';
import { entityKey, type EntityStore } from '../../policy/entity-store.js';

/** More entities are reachable than policies.maxRequestEntities allows: the request is denied, never truncated. */
export class EntityLimitError extends Error {
  override readonly name = 'EntityLimitError';
  constructor(readonly limit: number) {
    super(`more than ${limit} entities are reachable from this request (policies.maxRequestEntities)`);
  }
}

/** The parts of a policy model reachability reads. */
export interface ReachInput {
  readonly entities: EntityStore;
  readonly entityReach: EntityReach;
  /** Without a schema, Cedar takes the action and its groups from the entity data. */
  readonly schema: string | undefined;
}

/**
 * Every entity Cedar can read while evaluating one request, so that evaluating against these gives the
 * answer evaluating against the whole store would: the principal as built (it replaces the stored one),
 * the resource, the action when actions come from data, entities in the context, entity literals the
 * policies dereference, and, transitively, every entity stored under an attribute (or tag) some policy
 * reads, with the ancestors of everything reached (`in` needs them all). Cedar does not fail on a missing
 * entity (`in` and `has` just become false), so leaving one out would silently change answers.
 * Each entity once, the principal first. Throws EntityLimitError past `limit` entities.
 */
export function reachableEntities(
  model: ReachInput,
  request: {
    readonly principal: PrincipalEntity | EntityUid;
    readonly action: EntityUid;
    readonly resource: EntityUid;
    readonly context: Record<string, CedarValueJson>;
  },
  limit: number,
): EntityJson[] {
  const { entities: store, entityReach: reach } = model;
  const out: EntityJson[] = [];
  const seen = new Set<string>();
  const pending: string[] = [];

  const reachKey = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    pending.push(key);
  };
  const reachValue = (value: CedarValueJson | undefined): void => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const v of value) reachValue(v);
      return;
    }
    const uid = entityUidIn(value);
    if (uid !== undefined) {
      reachKey(entityKey(uid));
      return;
    }
    if ('__extn' in value) return;
    for (const v of Object.values(value)) reachValue(v as CedarValueJson);
  };
  const follow = (entity: {
    readonly attrs: Readonly<Record<string, CedarValueJson>>;
    readonly tags?: Readonly<Record<string, CedarValueJson>>;
  }) => {
    const names = reach.attributes;
    for (const name in entity.attrs) if (names === 'all' || names.has(name)) reachValue(entity.attrs[name]);
    if (reach.tags && entity.tags !== undefined) for (const name in entity.tags) reachValue(entity.tags[name]);
  };

  const principal = request.principal;
  if ('attrs' in principal) {
    // The principal as built replaces any stored entity of the same uid.
    seen.add(entityKey(principal.uid));
    out.push(principal as EntityJson);
    follow(principal);
    for (const parent of principal.parents) reachKey(entityKey(parent));
  } else reachKey(entityKey(principal));
  reachKey(entityKey(request.resource));
  if (model.schema === undefined) reachKey(entityKey(request.action));
  for (const literal of reach.literals) reachKey(entityKey(literal));
  reachValue(request.context);

  while (pending.length > 0) {
    const key = pending.pop()!;
    const entity = store.getByKey(key);
    if (entity === undefined) continue;
    if (out.length >= limit) throw new EntityLimitError(limit);
    out.push(entity as EntityJson);
    for (const ancestor of store.ancestorKeysOf(key)) reachKey(ancestor);
    follow(entity);
  }
  return out;
}

/** `{"__entity": {type, id}}`, or (Cedar's schema-directed form) a bare `{type, id}` object. */
function entityUidIn(value: Record<string, unknown>): EntityUid | undefined {
  const inner = (value.__entity ?? value) as Record<string, unknown>;
  const keys = Object.keys(inner);
  if (keys.length === 2 && typeof inner.type === 'string' && typeof inner.id === 'string')
    return { type: inner.type, id: inner.id };
  return undefined;
}
