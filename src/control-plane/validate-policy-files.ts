import { compilePolicyModel, PolicyModelError } from '../policy/compile-policy-model.js';
import type { PolicyFiles } from '../policy/policy-files.js';

/**
 * Every reason a policy set must not ship, or an empty list when it may. The gate every publication passes:
 * today it compiles the set (parse, schema validation, routes against the schema, entities); policy tests
 * join it later. Async so that later checks may run off the event loop.
 */
export async function validatePolicyFiles(files: PolicyFiles): Promise<string[]> {
  try {
    compilePolicyModel(files);
    return [];
  } catch (err) {
    if (err instanceof PolicyModelError) return [...err.problems];
    throw err;
  }
}
