import type { Expr, PolicyAst } from '../../src/engine/native/ast.js';
import { EntityRef } from '../../src/engine/native/values.js';

/**
 * A policy AST as plain JSON for comparison: no source spans or text, entity references as `Type::"id"`,
 * Longs as strings (exact), record entries sorted (Cedar's records are maps).
 */
export function normalizePolicy(p: PolicyAst): unknown {
  const ref = (r: EntityRef | string) => (typeof r === 'string' ? r : r.toString());
  const scope = (c: PolicyAst['principal']) =>
    c.op === 'any'
      ? { op: 'any' }
      : c.op === 'is'
        ? { op: 'is', type: c.entityType, in: c.in === undefined ? null : ref(c.in) }
        : { op: c.op, entity: ref(c.entity) };
  const action =
    p.action.op === 'any'
      ? { op: 'any' }
      : p.action.op === '=='
        ? { op: '==', entity: ref(p.action.entity) }
        : { op: 'in', entities: p.action.entities.map(ref) };
  return {
    effect: p.effect,
    principal: scope(p.principal),
    action,
    resource: scope(p.resource),
    conditions: p.conditions.map((c) => ({ kind: c.kind, body: normalizeExpr(c.body) })),
    annotations: Object.fromEntries(Object.entries(p.annotations).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

export function normalizeExpr(e: Expr): unknown {
  switch (e.kind) {
    case 'lit':
      return {
        lit:
          e.value instanceof EntityRef
            ? e.value.toString()
            : typeof e.value === 'number' || typeof e.value === 'bigint'
              ? `long:${e.value}`
              : e.value,
      };
    case 'var':
      return { var: e.name };
    case 'not':
    case 'neg':
    case 'isEmpty':
      return { [e.kind]: normalizeExpr(e.arg) };
    case 'binary':
      return { [e.op]: [normalizeExpr(e.left), normalizeExpr(e.right)] };
    case 'and':
    case 'or':
      return { [e.kind]: [normalizeExpr(e.left), normalizeExpr(e.right)] };
    case 'if':
      return { if: [normalizeExpr(e.cond), normalizeExpr(e.then), normalizeExpr(e.else)] };
    case 'getAttr':
    case 'hasAttr':
      return { [e.kind]: [normalizeExpr(e.arg), e.attr] };
    case 'like':
      return { like: [normalizeExpr(e.arg), e.pattern] };
    case 'is':
      return { is: [normalizeExpr(e.arg), e.entityType] };
    case 'set':
      return { set: e.elems.map(normalizeExpr) };
    case 'record':
      return {
        record: [...e.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, normalizeExpr(v)]),
      };
    case 'call':
      return { call: [e.fn, ...e.args.map(normalizeExpr)] };
  }
}

/** Whether a policy holds an integer literal that JSON numbers cannot carry exactly. */
export function hasWideLiteral(p: PolicyAst): boolean {
  return (
    JSON.stringify(normalizePolicy(p))
      .match(/"long:(-?[0-9]+)"/g)
      ?.some((m) => !Number.isSafeInteger(Number(m.slice(6, -1)))) ?? false
  );
}
