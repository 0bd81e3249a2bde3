// The wire contract of POST /v1/authorize, both ways, in one place: the sidecar's remote tier encodes requests
// and parses answers with it, the control plane parses requests and writes answers with it, and an audit
// event's `input` is the same request shape (so `authzd replay` re-evaluates it the same way).
import type { CedarValueJson } from '../cedar/cedar.js';
import type { CedarCall, EntityUid } from '../contract/cedar-call.js';
import { type Evaluation, REMOTE_REASONS } from './evaluate-call.js';

/** The body of POST /v1/authorize: the Cedar request a sidecar built, minus the entities it would slice. */
export interface AuthorizeRequest {
  readonly principal: {
    readonly uid: EntityUid;
    readonly attrs: Record<string, CedarValueJson>;
    readonly parents: readonly EntityUid[];
  };
  readonly action: EntityUid;
  readonly resource: EntityUid;
  readonly context: Record<string, CedarValueJson>;
}

/** The request for `call`: the principal as the sidecar built it (claims, stored attributes, parents), no entities. */
export function encodeAuthorizeRequest(call: CedarCall): AuthorizeRequest {
  const entity = call.principalEntity;
  return {
    principal: { uid: call.principal, attrs: entity?.attrs ?? {}, parents: entity?.parents ?? [] },
    action: call.action,
    resource: call.resource,
    context: call.context,
  };
}

/** The answer of POST /v1/authorize. */
export interface AuthorizeAnswer {
  readonly decision: 'allow' | 'deny';
  readonly reason: Evaluation['reason'];
  readonly policies: readonly string[];
  readonly policyVersion: string;
  readonly decisionId: string;
}

/**
 * The remote tier's answer as an evaluation, or undefined when it is not one the control plane can give: a
 * decision that disagrees with its reason, a reason no engine decides, policies that are not ids.
 */
export function parseAuthorizeAnswer(
  body: unknown,
): { readonly evaluation: Evaluation; readonly policyVersion: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { decision?: unknown; reason?: unknown; policies?: unknown; policyVersion?: unknown };
  if (
    (b.decision !== 'allow' && b.decision !== 'deny') ||
    typeof b.reason !== 'string' ||
    !REMOTE_REASONS.has(b.reason) ||
    (b.decision === 'allow') !== (b.reason === 'policy_allowed') ||
    !Array.isArray(b.policies) ||
    !b.policies.every((p) => typeof p === 'string') ||
    typeof b.policyVersion !== 'string'
  ) {
    return undefined;
  }
  return {
    evaluation: {
      allowed: b.decision === 'allow',
      reason: b.reason as Evaluation['reason'],
      policies: b.policies,
      errors: [],
      detail: undefined,
    },
    policyVersion: b.policyVersion,
  };
}

export type ParsedAuthorizeRequest =
  { readonly ok: true; readonly value: AuthorizeRequest } | { readonly ok: false; readonly detail: string };

export const AUTHORIZE_LIMITS = {
  maxIdLength: 1024,
  maxParents: 256,
  /** Nesting of attribute and context values; Cedar records nest shallowly in practice. */
  maxDepth: 32,
  /** Values (every string, number, element and field) across attrs and context. */
  maxValues: 10_000,
} as const;

// Cedar's entity type names: identifiers joined by "::" (Namespace::Type).
const TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/;

class Invalid extends Error {}

/** Checks shape and types strictly; every refusal names the offending field by its path. */
export function parseAuthorizeRequest(body: unknown): ParsedAuthorizeRequest {
  try {
    const top = record(body, 'body');
    only(top, ['principal', 'action', 'resource', 'context'], 'body');
    const p = record(top.principal, 'principal');
    only(p, ['uid', 'attrs', 'parents'], 'principal');
    const budget = { values: AUTHORIZE_LIMITS.maxValues };
    const parents = p.parents === undefined ? [] : p.parents;
    if (!Array.isArray(parents)) throw new Invalid('principal.parents: expected an array of {"type","id"}');
    if (parents.length > AUTHORIZE_LIMITS.maxParents)
      throw new Invalid(`principal.parents: more than ${AUTHORIZE_LIMITS.maxParents} entries`);
    return {
      ok: true,
      value: {
        principal: {
          uid: uid(p.uid, 'principal.uid'),
          attrs:
            p.attrs === undefined
              ? {}
              : (cedarRecord(p.attrs, 'principal.attrs', 0, budget) as Record<string, CedarValueJson>),
          parents: parents.map((x, i) => uid(x, `principal.parents[${i}]`)),
        },
        action: uid(top.action, 'action'),
        resource: uid(top.resource, 'resource'),
        context:
          top.context === undefined
            ? {}
            : (cedarRecord(top.context, 'context', 0, budget) as Record<string, CedarValueJson>),
      },
    };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, detail: err.message };
    throw err;
  }
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Invalid(`${where}: expected an object`);
  return value as Record<string, unknown>;
}

function only(value: Record<string, unknown>, keys: readonly string[], where: string): void {
  for (const key of Object.keys(value))
    if (!keys.includes(key)) throw new Invalid(`${where}.${key}: unknown field (expected ${keys.join(', ')})`);
}

function uid(value: unknown, where: string): EntityUid {
  const v = record(value, where);
  only(v, ['type', 'id'], where);
  if (typeof v.type !== 'string' || !TYPE_NAME.test(v.type))
    throw new Invalid(`${where}.type: expected a Cedar entity type name like "Namespace::Type"`);
  if (typeof v.id !== 'string') throw new Invalid(`${where}.id: expected a string`);
  if (v.id.length > AUTHORIZE_LIMITS.maxIdLength)
    throw new Invalid(`${where}.id: longer than ${AUTHORIZE_LIMITS.maxIdLength} characters`);
  return { type: v.type, id: v.id };
}

function cedarRecord(
  value: unknown,
  where: string,
  depth: number,
  budget: { values: number },
): Record<string, unknown> {
  const r = record(value, where);
  for (const [key, child] of Object.entries(r)) {
    // JSON.parse makes "__proto__" an own key; copying it later would reach the prototype setter.
    if (key === '__proto__') throw new Invalid(`${where}: the key "__proto__" is not allowed`);
    cedarValue(child, `${where}.${key}`, depth + 1, budget);
  }
  return r;
}

/** A value Cedar's JSON form can carry faithfully: no null, no fractions, no integers beyond 2^53. */
function cedarValue(value: unknown, where: string, depth: number, budget: { values: number }): void {
  if (--budget.values < 0)
    throw new Invalid(`${where}: more than ${AUTHORIZE_LIMITS.maxValues} values in attrs and context`);
  if (depth > AUTHORIZE_LIMITS.maxDepth)
    throw new Invalid(`${where}: nested deeper than ${AUTHORIZE_LIMITS.maxDepth} levels`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isSafeInteger(value)) throw new Invalid(`${where}: Cedar numbers are integers within ±2^53`);
      return;
    case 'object':
      if (value === null) throw new Invalid(`${where}: null is not a Cedar value`);
      if (Array.isArray(value)) {
        value.forEach((v, i) => cedarValue(v, `${where}[${i}]`, depth + 1, budget));
        return;
      }
      cedarRecord(value, where, depth, budget);
      return;
    default:
      throw new Invalid(`${where}: not a Cedar value`);
  }
}
