import type { PolicyJson } from '../cedar/cedar.js';
import type { EntityUid } from '../contract/cedar-call.js';

/**
 * What of the entity store evaluation can read, found once per policy set from the policies' JSON form.
 *
 * Cedar reads an entity's data (attributes, tags, parents) only where an expression dereferences it: the
 * left of `.attr`, `has`, `in`, `is ... in`, `getTag` and `hasTag`. An entity that is not passed to Cedar
 * does not make those fail loudly: `has` and `in` just become false. So every entity evaluation can reach
 * must be in what Cedar sees (see reachable-entities.ts), and this says how far that is:
 * - `attributes`: the names any policy reads or tests with `.`/`has`; an entity value stored under any
 *   other name can never be reached, so it is never followed.
 * - `tags`: whether any policy reads tags (tag keys are computed values, so then every tag is followed).
 * - `literals`: entities written in a policy at a place where their data may be read (`Bank::User::"root"
 *   .manager`, `Bank::User::"root" in ...`). Literals Cedar only compares (`principal == E`,
 *   `principal in E`, the right of `in`) need no data and are left out.
 * Conservative by construction: an expression it does not know makes it follow everything.
 */
export interface EntityReach {
  /** Attribute names that may be read on some entity or record; 'all' when that cannot be bounded. */
  readonly attributes: ReadonlySet<string> | 'all';
  readonly tags: boolean;
  readonly literals: readonly EntityUid[];
}

// Operators whose operands are never dereferenced as entities (they compare, combine or test values).
const PLAIN = new Set([
  '!',
  'neg',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '&&',
  '||',
  '+',
  '-',
  '*',
  'contains',
  'containsAll',
  'containsAny',
  'isEmpty',
  'like',
]);

export function entityReach(policies: Iterable<PolicyJson>): EntityReach {
  const attributes = new Set<string>();
  let all = false;
  let tags = false;
  const literals = new Map<string, EntityUid>();

  const collect = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) collect(v);
      return;
    }
    if (!isObject(value)) return;
    if (isObject(value.__entity)) {
      const { type, id } = value.__entity as { type?: unknown; id?: unknown };
      if (typeof type === 'string' && typeof id === 'string')
        literals.set(`${type}::${JSON.stringify(id)}`, { type, id });
      return;
    }
    for (const v of Object.values(value)) collect(v);
  };

  // `deref`: the value of `expr` may reach a place where its entities' data is read.
  const visit = (expr: unknown, deref: boolean): void => {
    if (!isObject(expr)) return;
    const keys = Object.keys(expr);
    if (keys.length !== 1) {
      all = true;
      return;
    }
    const op = keys[0]!;
    const body = expr[op];
    switch (op) {
      case 'Value':
        if (deref) collect(body);
        return;
      case 'Var':
      case 'Slot':
        return;
      case '.':
        attributes.add(String(body.attr));
        visit(body.left, true);
        return;
      case 'has':
        for (const a of Array.isArray(body.attr) ? body.attr : [body.attr]) attributes.add(String(a));
        visit(body.left, true);
        return;
      case 'in':
        visit(body.left, true);
        visit(body.right, false);
        return;
      case 'is':
        visit(body.left, true);
        if (body.in !== undefined) visit(body.in, false);
        return;
      case 'getTag':
      case 'hasTag':
        tags = true;
        visit(body.left, true);
        visit(body.right, false);
        return;
      case 'if-then-else':
        visit(body.if, false);
        visit(body.then, deref);
        visit(body.else, deref);
        return;
      case 'Set':
        for (const e of body as unknown[]) visit(e, deref);
        return;
      case 'Record':
        for (const e of Object.values(body as Record<string, unknown>)) visit(e, deref);
        return;
      default:
        if (PLAIN.has(op)) {
          for (const operand of operands(body)) visit(operand, false);
          return;
        }
        // Extension functions (ip, decimal, datetime, ... and their methods) take and return values that
        // are not entities; their arguments are visited for what they read.
        if (Array.isArray(body)) {
          for (const operand of body) visit(operand, false);
          return;
        }
        all = true;
    }
  };

  for (const policy of policies) for (const clause of policy.conditions) visit(clause.body, false);
  return { attributes: all ? 'all' : attributes, tags: tags || all, literals: [...literals.values()] };
}

function operands(body: unknown): unknown[] {
  if (!isObject(body)) return [];
  if ('arg' in body) return [body.arg];
  return [body.left, body.right, body.pattern].filter((x) => x !== undefined && typeof x === 'object');
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
