import type { StepUp } from '../contract/decision.js';
import type { PolicyModel } from '../policy/compile-policy-model.js';
import type { Evaluation } from './evaluate-call.js';

/**
 * RFC 9470 step-up: when a deny was determined only by forbids marked `@stepUp(...)`, a stronger login
 * would turn it into an allow, so the client is told which one (401 insufficient_user_authentication with
 * acr_values and max_age) instead of a flat 403. If any determining forbid is not a step-up forbid, a
 * stronger login would not help, and the deny stays a policy_denied.
 */
export function stepUpFor(
  evaluation: Pick<Evaluation, 'allowed' | 'reason' | 'policies'>,
  model: Pick<PolicyModel, 'policyInfo'>,
): StepUp | undefined {
  if (evaluation.allowed || evaluation.reason !== 'policy_denied' || evaluation.policies.length === 0) return undefined;
  let found: StepUp | undefined;
  for (const id of evaluation.policies) {
    const stepUp = model.policyInfo.get(id)?.stepUp;
    if (stepUp === undefined) return undefined;
    found ??= stepUp;
  }
  return found;
}
