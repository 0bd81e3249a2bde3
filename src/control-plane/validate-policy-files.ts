import type { DecisionEngine } from '../engine/decision-engine.js';
import { compilePolicyModel, type PolicyModel, PolicyModelError } from '../policy/compile-policy-model.js';
import type { PolicyFiles } from '../policy/policy-files.js';
import { describeFailure } from '../policy-test/describe-failure.js';
import type { PolicyTestFiles } from '../policy-test/read-policy-tests.js';
import { runPolicyTests } from '../policy-test/run-policy-tests.js';
import type { PublishRejection } from './publish-rejections.js';

/** Why a policy set must not ship: the reason, every problem found, and how its policy tests went if they ran. */
export interface PolicyRejection {
  readonly reason: PublishRejection;
  readonly problems: readonly string[];
  /** Cases run and cases failed, when the set compiled and has tests. */
  readonly tests?: { readonly cases: number; readonly failed: number };
}

export interface ValidateOptions {
  /** The set's policy tests (tests/*.yaml of the policy directory). When there are any, every case must pass. */
  readonly tests?: PolicyTestFiles;
  /**
   * The process's engine, for running the tests: cedar-wasm keeps preparsed sets per process under names
   * each engine numbers from 0, so a second engine would overwrite the sets of the first.
   */
  readonly engine?: DecisionEngine;
}

/**
 * Why a policy set must not ship, or undefined when it may. The gate every publication passes: the set must
 * compile (parse, schema validation, routes against the schema, entities), and when it comes with tests,
 * their files must be valid and every case must pass (`tests/foo.yaml: case 'x': expected deny, got allow
 * (account-owner-read)`). Tests run only on a set that compiles.
 */
export async function validatePolicyFiles(
  files: PolicyFiles,
  options: ValidateOptions = {},
): Promise<PolicyRejection | undefined> {
  let model: PolicyModel;
  try {
    model = compilePolicyModel(files);
  } catch (err) {
    if (err instanceof PolicyModelError) return { reason: 'policy_invalid', problems: [...err.problems] };
    throw err;
  }
  if (options.tests === undefined || options.tests.size === 0) return undefined;
  const report = await runPolicyTests(
    model,
    options.tests,
    options.engine !== undefined ? { engine: options.engine } : {},
  );
  const failures = report.cases.filter((c) => !c.passed).map(describeFailure);
  if (report.problems.length === 0 && failures.length === 0) return undefined;
  return {
    reason: failures.length > 0 ? 'policy_tests_failed' : 'policy_tests_invalid',
    problems: [...report.problems, ...failures],
    tests: { cases: report.cases.length, failed: failures.length },
  };
}
