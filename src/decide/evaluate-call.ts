import type { CedarCall } from '../contract/cedar-call.js';
import type { DenyReason } from '../contract/reasons.js';
import type { DecisionEngine, PreparedSet } from '../engine/decision-engine.js';
import type { EngineAnswer } from '../engine/decision-engine.js';

/** The reasons an evaluation of policies can end with. */
export type EvaluationReason =
  | 'policy_allowed'
  | Extract<
      DenyReason,
      | 'policy_denied'
      | 'no_matching_permit'
      | 'policy_error'
      | 'schema_mismatch'
      | 'remote_unavailable'
      | 'resource_unknown'
      | 'entity_limit_exceeded'
    >;

/** The reasons the remote tier may answer with (what its engine can decide). */
export const REMOTE_REASONS: ReadonlySet<string> = new Set<EvaluationReason>([
  'policy_allowed',
  'policy_denied',
  'no_matching_permit',
  'policy_error',
  'schema_mismatch',
  'resource_unknown',
  'entity_limit_exceeded',
]);

export interface Evaluation {
  readonly allowed: boolean;
  readonly reason: EvaluationReason;
  /** Determining policies (allow: the permits; policy_denied: the forbids; policy_error: those that errored). */
  readonly policies: readonly string[];
  /** Every policy whose evaluation errored (Cedar skips them), whatever the decision. */
  readonly errors: readonly string[];
  readonly detail: string | undefined;
}

/**
 * Cedar's answer as a decision. Cedar skips a policy that errors, even a forbid, so with
 * onError "deny" any error denies: a broken forbid must not turn into an allow.
 * `resourceUnknown`: the request names a resource of a type the entity store holds, but not this one; a
 * deny no forbid determined is then the request's doing (an id that does not exist), not a defect of the
 * policies, and says so (resource_unknown).
 */
export function evaluationFromAnswer(
  answer: EngineAnswer,
  onError: 'deny' | 'ignore',
  resourceUnknown = false,
): Evaluation {
  if (answer.kind === 'invalid') {
    return { allowed: false, reason: 'schema_mismatch', policies: [], errors: [], detail: answer.messages.join('; ') };
  }
  if (answer.kind === 'too_many_entities') {
    return {
      allowed: false,
      reason: 'entity_limit_exceeded',
      policies: [],
      errors: [],
      detail: `more than ${answer.limit} entities are reachable from this request`,
    };
  }
  const errors = answer.errored.map((e) => e.policyId);
  const detail =
    answer.errored.length > 0 ? answer.errored.map((e) => `${e.policyId}: ${e.message}`).join('; ') : undefined;
  if (answer.allow && (errors.length === 0 || onError === 'ignore')) {
    return { allowed: true, reason: 'policy_allowed', policies: answer.determining, errors, detail };
  }
  if (!answer.allow && answer.determining.length > 0)
    return { allowed: false, reason: 'policy_denied', policies: answer.determining, errors, detail };
  if (resourceUnknown) return { allowed: false, reason: 'resource_unknown', policies: errors, errors, detail };
  if (errors.length > 0) return { allowed: false, reason: 'policy_error', policies: errors, errors, detail };
  return { allowed: false, reason: 'no_matching_permit', policies: [], errors, detail };
}

/**
 * One evaluation of `call` against `set`, as every decision path takes it (the Check pipeline, policy
 * tests, the control plane's /v1/authorize and replay), so a request decides the same wherever it is
 * evaluated.
 */
export function evaluateCall(
  engine: DecisionEngine,
  set: PreparedSet,
  call: CedarCall,
  onError: 'deny' | 'ignore',
): Evaluation {
  const store = set.model.entities;
  return evaluationFromAnswer(
    engine.authorize(set, call),
    onError,
    store.holdsType(call.resource.type) && store.get(call.resource) === undefined,
  );
}
