import type { PolicyModel } from '../policy/compile-policy-model.js';
import { judgeCase, type Mismatch } from './judge-case.js';
import { parsePolicyTestFile } from './parse-policy-test-file.js';
import { type CaseOutcome, createPolicyTestHarness, type HarnessOptions } from './policy-test-harness.js';
import type { Expectation, PolicyTestCase } from './policy-test-schema.js';
import type { PolicyTestFiles } from './read-policy-tests.js';
import { uncoveredPolicies } from './uncovered-policies.js';

export interface CaseResult {
  /** Relative to the policy directory: `tests/accounts.yaml`. */
  readonly file: string;
  readonly name: string;
  readonly passed: boolean;
  readonly expected: Expectation;
  readonly got: CaseOutcome;
  readonly mismatches: readonly Mismatch[];
  /** Hints for a failure, such as an expected policy id the set does not have. */
  readonly notes: readonly string[];
  /** For a failure that reached the policies: how each policy evaluated (formatExplanation). */
  readonly explanation?: readonly string[];
}

export interface PolicyTestReport {
  /** True when there are cases, every one passed and no file has a problem. */
  readonly ok: boolean;
  readonly policyVersion: string;
  /** Every test file read, including those with problems and those the filter left without a case. */
  readonly files: readonly string[];
  /** Test files that cannot be run (YAML or schema errors, with positions), and a run without cases. */
  readonly problems: readonly string[];
  /** The cases run, in file order. */
  readonly cases: readonly CaseResult[];
  readonly totals: { readonly files: number; readonly cases: number; readonly passed: number; readonly failed: number };
  /** Policy ids that determined no passing case: a warning, not a failure. */
  readonly uncovered: readonly string[];
  /** The policy set's compile warnings (a policy without @id, ...). */
  readonly warnings: readonly string[];
}

export interface PolicyTestOptions extends HarnessOptions {
  /** Runs only cases whose name or file contains this text. */
  readonly filter?: string;
}

/**
 * Runs a policy set's tests against its compiled model, through the sidecar's own Check pipeline (see
 * createPolicyTestHarness). A file with any problem runs no case; the others still run, so one report
 * says everything that is wrong.
 */
export async function runPolicyTests(
  model: PolicyModel,
  tests: PolicyTestFiles,
  options: PolicyTestOptions = {},
): Promise<PolicyTestReport> {
  const problems: string[] = [];
  const selected: { file: string; c: PolicyTestCase }[] = [];
  for (const [file, text] of tests) {
    const parsed = parsePolicyTestFile(file, text);
    problems.push(...parsed.problems);
    for (const c of parsed.cases) {
      if (options.filter === undefined || c.name.includes(options.filter) || file.includes(options.filter))
        selected.push({ file, c });
    }
  }
  if (selected.length === 0 && problems.length === 0) {
    problems.push(
      tests.size === 0 ? 'no test files (tests/*.yaml)' : `no case matches --filter ${JSON.stringify(options.filter)}`,
    );
  }

  const cases: CaseResult[] = [];
  if (selected.length > 0) {
    const harness = await createPolicyTestHarness(model, options);
    try {
      for (const { file, c } of selected) {
        const got = await harness.decide(c);
        const mismatches = judgeCase(c.expect, got);
        const notes = mismatches.includes('policies') ? unknownPolicyNotes(model, c.expect.policies ?? []) : [];
        const passed = mismatches.length === 0;
        const explanation = passed ? undefined : await harness.explain(c);
        cases.push({
          file,
          name: c.name,
          passed,
          expected: c.expect,
          got,
          mismatches,
          notes,
          ...(explanation !== undefined ? { explanation } : {}),
        });
      }
    } finally {
      harness.close();
    }
  }

  const passed = cases.filter((r) => r.passed);
  const failed = cases.length - passed.length;
  return {
    ok: problems.length === 0 && failed === 0 && cases.length > 0,
    policyVersion: model.version,
    files: [...tests.keys()],
    problems,
    cases,
    totals: { files: tests.size, cases: cases.length, passed: passed.length, failed },
    uncovered: uncoveredPolicies(model, passed),
    warnings: [...model.warnings],
  };
}

function unknownPolicyNotes(model: PolicyModel, ids: readonly string[]): string[] {
  return ids.filter((id) => !model.policyInfo.has(id)).map((id) => `"${id}" is not a policy id of this set`);
}
