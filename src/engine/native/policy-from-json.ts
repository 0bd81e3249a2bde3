import type {
  ActionConstraint,
  BinaryOp,
  Condition,
  Expr,
  PatternElem,
  PolicyAst,
  ScopeConstraint,
  Var,
} from './ast.js';
import { PolicyParseError } from './ast.js';
import { fromBigInt, type Long } from './i64.js';
import { EXTENSION_FUNCTIONS, EXTENSION_METHODS } from './parse-policy.js';
import { EntityRef } from './values.js';

/**
 * Cedar's JSON policy format (cedar-wasm's policyToJson, "EST") to the same AST the text parser builds,
 * with the same desugaring (`has a.b`, `is … in`). Integer literals are only as exact as the JSON numbers
 * given: cedar-wasm's policyToJson rounds those beyond 2^53, which is why policies are parsed from text.
 */
export function policyFromJson(json: unknown): PolicyAst {
  const p = obj(json, 'policy');
  const effect = p.effect;
  if (effect !== 'permit' && effect !== 'forbid') bad(`invalid effect ${JSON.stringify(effect)}`);
  const conditions: Condition[] = (Array.isArray(p.conditions) ? p.conditions : []).map((c: unknown) => {
    const co = obj(c, 'condition');
    if (co.kind !== 'when' && co.kind !== 'unless') bad(`invalid condition kind ${JSON.stringify(co.kind)}`);
    return { kind: co.kind as 'when' | 'unless', body: expr(co.body) };
  });
  const annotations: Record<string, string | undefined> = Object.create(null);
  for (const [k, v] of Object.entries(p.annotations !== undefined ? obj(p.annotations, 'annotations') : {}))
    annotations[k] = v === null ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
  return {
    effect: effect as 'permit' | 'forbid',
    principal: scope(p.principal, 'principal'),
    action: actionScope(p.action),
    resource: scope(p.resource, 'resource'),
    conditions,
    annotations,
  };
}

type Obj = Record<string, unknown>;
const bad = (m: string): never => {
  throw new PolicyParseError(`policy JSON: ${m}`);
};
function obj(v: unknown, what: string): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : bad(`${what}: expected an object`);
}

function uid(v: unknown): EntityRef {
  const o = obj(v, 'entity');
  const inner = o.__entity !== undefined ? obj(o.__entity, 'entity') : o;
  if (typeof inner.type !== 'string' || typeof inner.id !== 'string') bad('entity: expected {type, id}');
  return new EntityRef(inner.type as string, inner.id as string);
}

function slotOrUid(o: Obj): EntityRef | '?principal' | '?resource' {
  if (o.slot !== undefined) {
    if (o.slot !== '?principal' && o.slot !== '?resource') bad(`invalid slot ${JSON.stringify(o.slot)}`);
    return o.slot as '?principal' | '?resource';
  }
  return uid(o.entity);
}

function scope(v: unknown, what: string): ScopeConstraint {
  const o = obj(v, what);
  switch (o.op) {
    case 'All':
      return { op: 'any' };
    case '==':
      return { op: '==', entity: slotOrUid(o) };
    case 'in':
      return { op: 'in', entity: slotOrUid(o) };
    case 'is': {
      if (typeof o.entity_type !== 'string') bad(`${what}: is without entity_type`);
      if (o.in === undefined) return { op: 'is', entityType: o.entity_type as string };
      return { op: 'is', entityType: o.entity_type as string, in: slotOrUid(obj(o.in, `${what}.in`)) };
    }
  }
  return bad(`${what}: invalid op ${JSON.stringify(o.op)}`);
}

function actionScope(v: unknown): ActionConstraint {
  const o = obj(v, 'action');
  switch (o.op) {
    case 'All':
      return { op: 'any' };
    case '==':
      return { op: '==', entity: uid(o.entity) };
    case 'in':
      if (Array.isArray(o.entities)) return { op: 'in', entities: o.entities.map(uid) };
      return { op: 'in', entities: [uid(o.entity)] };
  }
  return bad(`action: invalid op ${JSON.stringify(o.op)}`);
}

const BINARY: Record<string, BinaryOp> = {
  '==': '==',
  '!=': '!=',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
  in: 'in',
  '+': '+',
  '-': '-',
  '*': '*',
  contains: 'contains',
  containsAll: 'containsAll',
  containsAny: 'containsAny',
  getTag: 'getTag',
  hasTag: 'hasTag',
};

function long(n: unknown): Long {
  if (typeof n === 'bigint') return fromBigInt(n) ?? bad(`integer out of range: ${n}`);
  if (typeof n !== 'number' || !Number.isInteger(n)) return bad(`not an integer: ${String(n)}`);
  return Number.isSafeInteger(n) ? n + 0 : (fromBigInt(BigInt(n)) ?? bad(`integer out of range: ${n}`));
}

/** A `Value` node: a Cedar JSON value as an expression (escapes become literals or calls). */
function value(v: unknown): Expr {
  if (typeof v === 'boolean' || typeof v === 'string') return { kind: 'lit', value: v };
  if (typeof v === 'number' || typeof v === 'bigint') return { kind: 'lit', value: long(v) };
  if (Array.isArray(v)) return { kind: 'set', elems: v.map(value) };
  const o = obj(v, 'value');
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === '__entity') return { kind: 'lit', value: uid(o) };
  if (keys.length === 1 && keys[0] === '__extn') {
    const x = obj(o.__extn, '__extn');
    const args = x.arg !== undefined ? [x.arg] : Array.isArray(x.args) ? x.args : bad('__extn without arg');
    return { kind: 'call', fn: String(x.fn), args: args.map(value) };
  }
  return { kind: 'record', entries: keys.map((k) => [k, value(o[k])] as const) };
}

function expr(v: unknown): Expr {
  const o = obj(v, 'expression');
  const keys = Object.keys(o);
  if (keys.length !== 1) bad(`expression with keys ${JSON.stringify(keys)}`);
  const k = keys[0]!;
  const body = o[k];
  if (k === 'Value') return value(body);
  if (k === 'Var') {
    if (!['principal', 'action', 'resource', 'context'].includes(body as string))
      bad(`unknown variable ${JSON.stringify(body)}`);
    return { kind: 'var', name: body as Var };
  }
  if (k === 'Slot') return bad('slots in conditions are not supported');
  if (k === '!' || k === 'neg' || k === 'isEmpty') return { kind: k === '!' ? 'not' : k, arg: expr(obj(body, k).arg) };
  if (k === '&&' || k === '||') {
    const b = obj(body, k);
    return { kind: k === '&&' ? 'and' : 'or', left: expr(b.left), right: expr(b.right) };
  }
  const op = BINARY[k];
  if (op !== undefined) {
    const b = obj(body, k);
    return { kind: 'binary', op, left: expr(b.left), right: expr(b.right) };
  }
  switch (k) {
    case '.': {
      const b = obj(body, k);
      return { kind: 'getAttr', arg: expr(b.left), attr: String(b.attr) };
    }
    case 'has': {
      const b = obj(body, k);
      const lhs = expr(b.left);
      const attrs = Array.isArray(b.attr) ? b.attr.map(String) : [String(b.attr)];
      let acc: Expr = { kind: 'hasAttr', arg: lhs, attr: attrs[0]! };
      let path: Expr = lhs;
      for (let i = 1; i < attrs.length; i++) {
        path = { kind: 'getAttr', arg: path, attr: attrs[i - 1]! };
        acc = { kind: 'and', left: acc, right: { kind: 'hasAttr', arg: path, attr: attrs[i]! } };
      }
      return acc;
    }
    case 'like': {
      const b = obj(body, k);
      const pattern: PatternElem[] = [];
      for (const p of Array.isArray(b.pattern) ? b.pattern : bad('like without pattern')) {
        if (p === 'Wildcard') pattern.push(null);
        else {
          const lit = String(obj(p, 'pattern').Literal);
          const last = pattern.length - 1;
          if (last >= 0 && pattern[last] !== null) pattern[last] += lit;
          else pattern.push(lit);
        }
      }
      return { kind: 'like', arg: expr(b.left), pattern };
    }
    case 'is': {
      const b = obj(body, k);
      const lhs = expr(b.left);
      const is: Expr = { kind: 'is', arg: lhs, entityType: String(b.entity_type) };
      if (b.in === undefined) return is;
      return { kind: 'and', left: is, right: { kind: 'binary', op: 'in', left: lhs, right: expr(b.in) } };
    }
    case 'if-then-else': {
      const b = obj(body, k);
      return { kind: 'if', cond: expr(b.if), then: expr(b.then), else: expr(b.else) };
    }
    case 'Set':
      return { kind: 'set', elems: (Array.isArray(body) ? body : bad('Set: expected an array')).map(expr) };
    case 'Record': {
      const b = obj(body, k);
      return { kind: 'record', entries: Object.keys(b).map((key) => [key, expr(b[key])] as const) };
    }
  }
  if (EXTENSION_FUNCTIONS.has(k) || EXTENSION_METHODS.has(k)) {
    return {
      kind: 'call',
      fn: k,
      args: (Array.isArray(body) ? body : bad(`${k}: expected an argument array`)).map(expr),
    };
  }
  return bad(`unknown expression ${JSON.stringify(k)}`);
}
