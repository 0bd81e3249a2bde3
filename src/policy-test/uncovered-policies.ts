import type { PolicyModel } from '../policy/compile-policy-model.js';

/**
 * Policy ids that determined no passing case, sorted. A permit counts when it allowed, a forbid when it
 * denied: a policy never seen deciding is one whose effect no test pins down.
 */
export function uncoveredPolicies(
  model: PolicyModel,
  passing: Iterable<{ readonly got: { readonly policies: readonly string[] } }>,
): string[] {
  const seen = new Set<string>();
  for (const result of passing) for (const id of result.got.policies) seen.add(id);
  return [...model.policyInfo.keys()].filter((id) => !seen.has(id)).sort();
}
