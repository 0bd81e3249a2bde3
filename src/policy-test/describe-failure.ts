import { describeExpectation, describeOutcome } from './describe-outcome.js';
import type { CaseResult } from './run-policy-tests.js';

/** One line per failed case, as the control plane lists it: `tests/foo.yaml: case 'x': expected deny, got allow (account-owner-read)`. */
export function describeFailure(result: CaseResult): string {
  const notes = result.notes.length > 0 ? `; ${result.notes.join('; ')}` : '';
  return `${result.file}: case '${result.name}': expected ${describeExpectation(result.expected)}, got ${describeOutcome(result.got)}${notes}`;
}
