import type { CaseOutcome } from './policy-test-harness.js';
import type { Expectation } from './policy-test-schema.js';

/**
 * `allow (account-owner-read)`, `deny policy_denied (tenant-isolation)`, `deny route_not_found`: the decision,
 * the reason when it says more than the decision (every deny and error), and the determining policies.
 */
export function describeOutcome(got: CaseOutcome): string {
  return describe(got.decision, got.reason, got.policies.length > 0 ? got.policies : undefined);
}

/** The same for an expectation: only what it states (`policies: []` reads `(none)`). */
export function describeExpectation(expected: Expectation): string {
  return describe(expected.decision, expected.reason, expected.policies);
}

function describe(decision: string, reason: string | undefined, policies: readonly string[] | undefined): string {
  const parts = [decision];
  if (reason !== undefined && reason !== 'policy_allowed') parts.push(reason);
  if (policies !== undefined) parts.push(`(${policies.length > 0 ? policies.join(', ') : 'none'})`);
  return parts.join(' ');
}
