import { compilePolicyModel, type PolicyModel, PolicyModelError } from '../policy/compile-policy-model.js';
import type { PolicyEngine } from '../policy/policy-engine.js';
import type { PolicyFiles } from '../policy/policy-files.js';
import { describeFailure } from '../policy-test/describe-failure.js';
import type { PolicyTestFiles } from '../policy-test/read-policy-tests.js';
import { runPolicyTests } from '../policy-test/run-policy-tests.js';

export interface ValidateOptions {
  /** The set's policy tests (tests/*.yaml of the policy directory). When there are any, every case must pass. */
  readonly tests?: PolicyTestFiles;
  /**
   * The process's engine, for running the tests: cedar-wasm keeps preparsed sets per process under names
   * each engine numbers from 0, so a second engine would overwrite the sets of the first.
   */
  readonly engine?: PolicyEngine;
}

/**
 * Every reason a policy set must not ship, or an empty list when it may. The gate every publication passes:
 * the set must compile (parse, schema validation, routes against the schema, entities), and when it comes
 * with tests, their files must be valid and every case must pass (`tests/foo.yaml: case 'x': expected deny,
 * got allow (account-owner-read)`). Tests run only on a set that compiles.
 */
export async function validatePolicyFiles(files: PolicyFiles, options: ValidateOptions = {}): Promise<string[]> {
  let model: PolicyModel;
  try {
    model = compilePolicyModel(files);
  } catch (err) {
    if (err instanceof PolicyModelError) return [...err.problems];
    throw err;
  }
  if (options.tests === undefined || options.tests.size === 0) return [];
  const report = await runPolicyTests(model, options.tests, options.engine !== undefined ? { engine: options.engine } : {});
  return [...report.problems, ...report.cases.filter((c) => !c.passed).map(describeFailure)];
}
