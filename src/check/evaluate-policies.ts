import type { EngineAnswer } from '../policy/policy-engine.js';
import type { DenyReason } from './reasons.js';

export interface Evaluation {
  readonly allowed: boolean;
  readonly reason: 'policy_allowed' | Extract<DenyReason, 'policy_denied' | 'no_matching_permit' | 'policy_error' | 'schema_mismatch' | 'remote_unavailable'>;
  readonly policies: readonly string[];
  readonly detail: string | undefined;
}

/**
 * Cedar's answer as a decision. Cedar skips a policy that errors, even a forbid, so with
 * onError "deny" any error denies: a broken forbid must not turn into an allow.
 */
export function evaluationFromAnswer(answer: EngineAnswer, onError: 'deny' | 'ignore'): Evaluation {
  if (answer.kind === 'invalid') {
    return { allowed: false, reason: 'schema_mismatch', policies: [], detail: answer.messages.join('; ') };
  }
  const errored = answer.errored.map((e) => e.policyId);
  const detail = answer.errored.length > 0 ? answer.errored.map((e) => `${e.policyId}: ${e.message}`).join('; ') : undefined;
  if (answer.allow) {
    if (errored.length > 0 && onError === 'deny') return { allowed: false, reason: 'policy_error', policies: errored, detail };
    return { allowed: true, reason: 'policy_allowed', policies: answer.determining, detail };
  }
  if (answer.determining.length > 0) return { allowed: false, reason: 'policy_denied', policies: answer.determining, detail };
  if (errored.length > 0) return { allowed: false, reason: 'policy_error', policies: errored, detail };
  return { allowed: false, reason: 'no_matching_permit', policies: [], detail };
}
