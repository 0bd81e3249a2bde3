import { describe, expect, it } from 'vitest';

import { cedar } from '../../src/cedar/cedar.js';
import { PolicyParseError } from '../../src/engine/native/ast.js';
import { parsePolicySet } from '../../src/engine/native/parse-policy.js';
import { policyFromJson } from '../../src/engine/native/policy-from-json.js';
import { CORPUS_DIR, handwrittenTestFiles, readConformanceTest, unpackCorpus } from '../helpers/cedar-conformance.js';
import { hasWideLiteral, normalizePolicy } from '../helpers/policy-ast.js';

// The native policy parser against cedar-wasm's: every policy of the conformance corpus parsed natively
// and through cedar-wasm (policySetTextToParts, policyToJson, then policyFromJson) gives the same AST.
// Policies with integer literals beyond 2^53 are compared natively only — policyToJson rounds them — and
// counted. Generated (and invalid) policies are compared in parse-policy.fuzz.test.ts.

function compareSet(
  text: string,
  where: string,
  tally: { policies: number; compared: number; wide: number; problems: string[] },
): void {
  const native = parsePolicySet(text);
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') {
    tally.problems.push(`${where}: cedar-wasm cannot split the set`);
    return;
  }
  if (parts.policies.length !== native.length) {
    tally.problems.push(`${where}: ${parts.policies.length} policies for cedar-wasm, ${native.length} natively`);
    return;
  }
  native.forEach((ast, i) => {
    tally.policies++;
    if (hasWideLiteral(ast)) {
      tally.wide++;
      return;
    }
    const json = cedar.policyToJson(parts.policies[i]!);
    if (json.type !== 'success') {
      tally.problems.push(`${where} policy${i}: policyToJson failed`);
      return;
    }
    tally.compared++;
    const a = JSON.stringify(normalizePolicy(ast));
    const b = JSON.stringify(normalizePolicy(policyFromJson(json.json)));
    if (a !== b) tally.problems.push(`${where} policy${i}:\n native ${a}\n wasm   ${b}`);
  });
}

describe('native policy parser vs cedar-wasm on the conformance corpus', () => {
  it('builds the same AST for every policy', () => {
    const tally = { policies: 0, compared: 0, wide: 0, problems: [] as string[] };
    for (const f of handwrittenTestFiles()) compareSet(readConformanceTest(CORPUS_DIR, f).policiesText, f, tally);
    const { root, files, cleanup } = unpackCorpus();
    try {
      for (const f of files) compareSet(readConformanceTest(root, f).policiesText, f, tally);
    } finally {
      cleanup();
    }
    console.log(
      `parser: ${tally.policies} policies, ${tally.compared} compared with cedar-wasm, ${tally.wide} with 64-bit literals parsed natively only`,
    );
    expect(tally.problems.slice(0, 10)).toEqual([]);
    expect(tally.compared + tally.wide).toBe(tally.policies);
    expect(tally.compared).toBeGreaterThan(7_000);
  }, 600_000);

  it('refuses what cedar-wasm refuses, with a parse error', () => {
    for (const bad of [
      'permit(principal, action, resource) when { 9223372036854775808 };',
      'permit(principal, action);',
      'permit(principal, action, resource) when { a < b < c };',
    ]) {
      expect(cedar.checkParsePolicySet({ staticPolicies: { p: bad } }).type).toBe('failure');
      expect(() => parsePolicySet(bad)).toThrow(PolicyParseError);
    }
  });
});
