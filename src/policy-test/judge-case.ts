import type { CaseOutcome } from './policy-test-harness.js';
import type { Expectation } from './policy-test-schema.js';

/** The parts of an expectation an outcome does not meet; empty when the case passes. */
export type Mismatch = 'decision' | 'reason' | 'policies';

export function judgeCase(expected: Expectation, got: CaseOutcome): Mismatch[] {
  const out: Mismatch[] = [];
  if (got.decision !== expected.decision) out.push('decision');
  if (expected.reason !== undefined && got.reason !== expected.reason) out.push('reason');
  if (expected.policies !== undefined && !sameSet(expected.policies, got.policies)) out.push('policies');
  return out;
}

// Cedar reports determining policies in no documented order, so only membership counts.
function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
}
