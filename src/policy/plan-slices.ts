import type { EntityUidJson, PolicyJson } from '../cedar/cedar.js';
import type { RequestMapping } from './compile-policy-model.js';
import { entityKey } from './entity-store.js';
import type { RouteTable } from './route-table.js';

/** The request shape a slice serves: every request with these three is evaluated against its policies. */
export interface SliceTarget {
  readonly principalType: string;
  /** The action's id; its type is the routes' action type (RequestMapping.actionType). */
  readonly action: string;
  readonly resourceType: string;
}

/** The part of a policy slicing looks at. */
export type PolicyScope = Pick<PolicyJson, 'principal' | 'action' | 'resource'>;

export type SlicePlan = ReadonlyMap<string, { readonly target: SliceTarget; readonly policyIds: readonly string[] }>;

/** `action` is the action's entityKey (type and id: action groups and actions may span namespaces). */
export const sliceKey = (principalType: string, action: string, resourceType: string): string =>
  `${principalType}\u0000${action}\u0000${resourceType}`;

/**
 * Which policies each kind of request needs. Cedar checks a policy's scope (principal, action, resource
 * constraints) as a short-circuiting conjunction before its conditions, and a scope check never errors,
 * so a policy whose scope cannot match a request can neither determine its decision nor error on it:
 * leaving it out changes nothing but the cost (each evaluation clones the whole preparsed set).
 * The test for "cannot match" is conservative: anything it cannot rule out from types alone stays in.
 */
export function planSlices(
  policies: ReadonlyMap<string, PolicyScope>,
  routes: RouteTable | undefined,
  mapping: RequestMapping | undefined,
  actionAncestors: ReadonlyMap<string, ReadonlySet<string>>,
): SlicePlan {
  const slices = new Map<string, { target: SliceTarget; policyIds: string[] }>();
  if (routes === undefined || mapping === undefined) return slices;
  const { network } = mapping;
  const targets: SliceTarget[] = routes.routes.flatMap((r) => {
    const user = { principalType: mapping.principal.qualifiedType, action: r.action, resourceType: r.resourceType };
    // Tokenless workloads on this route are a second kind of request: their own slice.
    return r.allowWorkloads
      ? [user, { principalType: network.principalType, action: r.action, resourceType: r.resourceType }]
      : [user];
  });
  targets.push({ principalType: network.principalType, action: network.action, resourceType: network.resourceType });
  for (const target of targets) {
    const action = entityKey({ type: mapping.actionType, id: target.action });
    const key = sliceKey(target.principalType, action, target.resourceType);
    if (slices.has(key)) continue;
    const ancestors = actionAncestors.get(action) ?? new Set<string>();
    const policyIds = [...policies]
      .filter(([, json]) => scopeCanMatch(json, target, action, ancestors))
      .map(([id]) => id);
    slices.set(key, { target, policyIds });
  }
  return slices;
}

/**
 * Whether a policy's scope can match requests of `target`'s kind. `action` is the request action's
 * entityKey and `actionAncestors` the entityKeys of every group it is in, transitively: memberships are
 * whole entity uids, since action groups may live in another namespace than the action.
 */
export function scopeCanMatch(
  policy: PolicyScope,
  target: Omit<SliceTarget, 'action'>,
  action: string,
  actionAncestors: ReadonlySet<string>,
): boolean {
  return (
    entityScopeCanMatch(policy.principal, target.principalType) &&
    actionScopeCanMatch(policy.action, action, actionAncestors) &&
    entityScopeCanMatch(policy.resource, target.resourceType)
  );
}

function uid(e: EntityUidJson): { type: string; id: string } {
  return '__entity' in e ? e.__entity : e;
}

function entityScopeCanMatch(constraint: PolicyJson['principal'], type: string): boolean {
  switch (constraint.op) {
    case 'All':
      return true;
    case '==':
      return 'entity' in constraint ? uid(constraint.entity).type === type : true;
    case 'is':
      return constraint.entity_type === type;
    case 'in':
      // `in` an entity of any type can hold (an entity is `in` itself, or in its ancestors).
      return true;
    default:
      return true;
  }
}

function actionScopeCanMatch(
  constraint: PolicyJson['action'],
  action: string,
  ancestors: ReadonlySet<string>,
): boolean {
  const matches = (e: EntityUidJson) => {
    const key = entityKey(uid(e));
    return key === action || ancestors.has(key);
  };
  switch (constraint.op) {
    case 'All':
      return true;
    case '==':
      return 'entity' in constraint ? matches(constraint.entity) : true;
    case 'in':
      return 'entities' in constraint ? constraint.entities.some(matches) : matches(constraint.entity);
    default:
      return true;
  }
}
