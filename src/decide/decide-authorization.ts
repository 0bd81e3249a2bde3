import type { CedarValueJson } from '../cedar/cedar.js';
import { type EntityUid } from '../contract/cedar-call.js';
import type { DecisionEngine, PreparedSet } from '../engine/decision-engine.js';
import { entityKey } from '../policy/entity-store.js';
import type { AuthorizeAnswer, AuthorizeRequest } from './authorize-codec.js';
import { evaluateCall } from './evaluate-call.js';

/**
 * Decides a Cedar request against the control plane's active set, as the sidecar's engine stage would:
 * the entity store is the truth about the principal (stored attributes win over the caller's, stored
 * parents join the caller's), and what Cedar sees of the store is what the request can reach
 * (reachable-entities.ts). A policy that errors denies.
 */
export function decideAuthorization(
  engine: DecisionEngine,
  set: PreparedSet,
  request: AuthorizeRequest,
  decisionId: string,
): { answer: AuthorizeAnswer; detail: string | undefined } {
  const store = set.model.entities;
  const principal = request.principal.uid;
  const stored = store.get(principal);
  const attrs: Record<string, CedarValueJson> = { ...request.principal.attrs, ...(stored?.attrs ?? {}) };
  const parents = dedupe([...(stored?.parents ?? []), ...request.principal.parents]);
  const principalEntity = {
    uid: principal,
    attrs,
    parents,
    ...(stored?.tags !== undefined ? { tags: stored.tags } : {}),
  };
  const evaluation = evaluateCall(
    engine,
    set,
    { principal, action: request.action, resource: request.resource, context: request.context, principalEntity },
    'deny',
  );
  return {
    answer: {
      decision: evaluation.allowed ? 'allow' : 'deny',
      reason: evaluation.reason,
      policies: evaluation.policies,
      policyVersion: set.model.version,
      decisionId,
    },
    detail: evaluation.detail,
  };
}

function dedupe(uids: readonly EntityUid[]): EntityUid[] {
  const seen = new Set<string>();
  return uids.filter((u) => {
    const key = entityKey(u);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
