import type { ActionConstraint, Expr, PatternElem, PolicyAst, ScopeConstraint } from './ast.js';
import { DateTime, Duration } from './datetime.js';
import type { EntityStore } from './entity-store.js';
import type { EntityView } from './entity-view.js';
import { EvalError } from './eval-error.js';
import { callExtension, EXTENSION_FUNCTIONS } from './extensions.js';
import { add, lessEq, lessThan, type Long, mul, neg, sub } from './i64.js';
import { CedarRecord, CedarSet, EntityRef, typeName, type Value, valueEquals } from './values.js';

/** What an expression is evaluated against: the request and the entities. */
export interface Env {
  readonly principal: EntityRef;
  readonly action: EntityRef;
  readonly resource: EntityRef;
  readonly context: CedarRecord;
  readonly view: EntityView;
}

/** A compiled expression: evaluates, or throws EvalError. */
export type Fn = (env: Env) => Value;

export class PolicyCompileError extends Error {
  override readonly name = 'PolicyCompileError';
}

function fail(node: Expr, message: string): never {
  const e = new EvalError(message);
  e.node = node;
  throw e;
}

const typeError = (node: Expr, expected: string, v: Value): never =>
  fail(node, `type error: expected ${expected}, got ${typeName(v)}`);

interface Compiled {
  readonly fn: Fn;
  /** The value when the expression is a constant (evaluated once, here). */
  readonly constant?: { readonly value: Value };
}

const constant = (value: Value): Compiled => ({ fn: () => value, constant: { value } });

/**
 * Compiles a Cedar expression into closures, once per activation. Semantics follow cedar-policy-core's
 * evaluator: operands of an operator are all evaluated (left to right) before it checks their types;
 * `&&`, `||` and `if` short-circuit and require booleans; arithmetic overflow is an error; `==` is never an
 * error. Constant sub-expressions (literals, sets and records of them, extension constructors on literal
 * strings) are evaluated here; a constant that errors becomes a closure that raises the same error.
 */
export class ExprCompiler {
  constructor(readonly store: EntityStore) {}

  compile(e: Expr): Fn {
    return this.#c(e).fn;
  }

  #c(e: Expr): Compiled {
    switch (e.kind) {
      case 'lit':
        return constant(e.value);
      case 'var':
        switch (e.name) {
          case 'principal':
            return { fn: (env) => env.principal };
          case 'action':
            return { fn: (env) => env.action };
          case 'resource':
            return { fn: (env) => env.resource };
          case 'context':
            return { fn: (env) => env.context };
        }
        throw new PolicyCompileError(`unknown variable ${String((e as { name: unknown }).name)}`);
      case 'not': {
        const A = this.#c(e.arg);
        const a = A.fn;
        return this.#fold(e, [A], (env) => {
          const v = a(env);
          return typeof v === 'boolean' ? !v : typeError(e, 'bool', v);
        });
      }
      case 'neg': {
        const a = this.#c(e.arg);
        return this.#fold(e, [a], (env) => {
          const v = a.fn(env);
          if (typeof v !== 'number' && typeof v !== 'bigint') return typeError(e, 'long', v);
          return neg(v) ?? fail(e, `integer overflow while attempting to negate the value \`${v}\``);
        });
      }
      case 'isEmpty': {
        const a = this.#c(e.arg).fn;
        return {
          fn: (env) => {
            const v = a(env);
            return v instanceof CedarSet ? v.size === 0 : typeError(e, 'set', v);
          },
        };
      }
      case 'and': {
        const l = this.#c(e.left).fn;
        const r = this.#c(e.right).fn;
        return {
          fn: (env) => {
            const a = l(env);
            if (typeof a !== 'boolean') return typeError(e, 'bool', a);
            if (!a) return false;
            const b = r(env);
            return typeof b === 'boolean' ? b : typeError(e, 'bool', b);
          },
        };
      }
      case 'or': {
        const l = this.#c(e.left).fn;
        const r = this.#c(e.right).fn;
        return {
          fn: (env) => {
            const a = l(env);
            if (typeof a !== 'boolean') return typeError(e, 'bool', a);
            if (a) return true;
            const b = r(env);
            return typeof b === 'boolean' ? b : typeError(e, 'bool', b);
          },
        };
      }
      case 'if': {
        const c = this.#c(e.cond).fn;
        const t = this.#c(e.then).fn;
        const f = this.#c(e.else).fn;
        return {
          fn: (env) => {
            const v = c(env);
            if (typeof v !== 'boolean') return typeError(e, 'bool', v);
            return v ? t(env) : f(env);
          },
        };
      }
      case 'binary':
        return this.#binary(e);
      case 'getAttr': {
        const a = this.#c(e.arg).fn;
        const attr = e.attr;
        return {
          fn: (env) => {
            const v = a(env);
            if (v instanceof CedarRecord) {
              const x = v.get(attr);
              return x !== undefined ? x : fail(e, `record does not have the attribute \`${attr}\``);
            }
            if (v instanceof EntityRef) {
              const attrs = env.view.attrsOf(v);
              if (attrs === undefined) return fail(e, `entity \`${v.toString()}\` does not exist`);
              const x = attrs.get(attr);
              return x !== undefined ? x : fail(e, `\`${v.toString()}\` does not have the attribute \`${attr}\``);
            }
            return typeError(e, 'record or entity', v);
          },
        };
      }
      case 'hasAttr': {
        const a = this.#c(e.arg).fn;
        const attr = e.attr;
        return {
          fn: (env) => {
            const v = a(env);
            if (v instanceof CedarRecord) return v.has(attr);
            if (v instanceof EntityRef) return env.view.attrsOf(v)?.has(attr) ?? false;
            return typeError(e, 'record or entity', v);
          },
        };
      }
      case 'like': {
        const a = this.#c(e.arg);
        const match = likeMatcher(e.pattern);
        return this.#fold(e, [a], (env) => {
          const v = a.fn(env);
          return typeof v === 'string' ? match(v) : typeError(e, 'string', v);
        });
      }
      case 'is': {
        const a = this.#c(e.arg).fn;
        const t = e.entityType;
        return {
          fn: (env) => {
            const v = a(env);
            return v instanceof EntityRef ? v.type === t : typeError(e, 'entity', v);
          },
        };
      }
      case 'set': {
        const parts = e.elems.map((x) => this.#c(x));
        const fns = parts.map((p) => p.fn);
        return this.#fold(e, parts, (env) => new CedarSet(fns.map((f) => f(env))));
      }
      case 'record': {
        const keys = e.entries.map(([k]) => k);
        const parts = e.entries.map(([, x]) => this.#c(x));
        const fns = parts.map((p) => p.fn);
        return this.#fold(
          e,
          parts,
          (env) =>
            new CedarRecord(
              keys,
              fns.map((f) => f(env)),
            ),
        );
      }
      case 'call': {
        const f = EXTENSION_FUNCTIONS.get(e.fn);
        if (f === undefined) {
          throw new PolicyCompileError(
            e.fn === 'unknown'
              ? "partial evaluation's unknown() is not supported"
              : `unknown extension function \`${e.fn}\``,
          );
        }
        const parts = e.args.map((x) => this.#c(x));
        const fns = parts.map((p) => p.fn);
        return this.#fold(e, parts, (env) => {
          const args = fns.map((g) => g(env));
          try {
            return callExtension(f, args);
          } catch (x) {
            if (x instanceof EvalError && x.node === undefined) x.node = e;
            throw x;
          }
        });
      }
    }
  }

  /** A pure operation whose inputs are all constants is evaluated once, here (or raises its error each time). */
  #fold(e: Expr, parts: readonly Compiled[], fn: Fn): Compiled {
    if (!parts.every((p) => p.constant !== undefined)) return { fn };
    try {
      return constant(fn(undefined as unknown as Env));
    } catch (x) {
      if (!(x instanceof EvalError)) throw x;
      const message = x.message;
      const node = x.node ?? e;
      return {
        fn: () => {
          const err = new EvalError(message);
          err.node = node;
          throw err;
        },
      };
    }
  }

  #binary(e: Expr & { kind: 'binary' }): Compiled {
    const L = this.#c(e.left);
    const R = this.#c(e.right);
    const l = L.fn;
    const r = R.fn;
    switch (e.op) {
      case '==':
      case '!=': {
        const negate = e.op === '!=';
        const k = R.constant?.value;
        if (k !== undefined && typeof k !== 'object')
          return { fn: negate ? (env) => l(env) !== k : (env) => l(env) === k };
        if (k instanceof EntityRef) {
          const key = k.key;
          return {
            fn: (env) => {
              const v = l(env);
              return (v instanceof EntityRef && v.key === key) !== negate;
            },
          };
        }
        return this.#fold(e, [L, R], (env) => {
          const a = l(env);
          return valueEquals(a, r(env)) !== negate;
        });
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const op = e.op;
        return this.#fold(e, [L, R], (env) => {
          const a = l(env);
          const b = r(env);
          if (typeof a === 'number' && typeof b === 'number')
            return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
          let x: Long;
          let y: Long;
          if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
            x = a;
            y = b;
          } else if (
            (a instanceof DateTime && b instanceof DateTime) ||
            (a instanceof Duration && b instanceof Duration)
          ) {
            x = a.ms;
            y = b.ms;
          } else
            return fail(
              e,
              `type error: expected one of [long, datetime, duration], got ${typeName(a)} and ${typeName(b)}`,
            );
          return op === '<' ? lessThan(x, y) : op === '<=' ? lessEq(x, y) : op === '>' ? lessThan(y, x) : lessEq(y, x);
        });
      }
      case '+':
      case '-':
      case '*': {
        const op = e.op === '+' ? add : e.op === '-' ? sub : mul;
        const sym = e.op;
        return this.#fold(e, [L, R], (env) => {
          const a = l(env);
          const b = r(env);
          if ((typeof a !== 'number' && typeof a !== 'bigint') || (typeof b !== 'number' && typeof b !== 'bigint')) {
            return typeError(e, 'long', typeof a !== 'number' && typeof a !== 'bigint' ? a : b);
          }
          return op(a, b) ?? fail(e, `integer overflow while attempting to apply \`${sym}\` to \`${a}\` and \`${b}\``);
        });
      }
      case 'in': {
        const k = R.constant?.value;
        if (k instanceof EntityRef) {
          const idx = this.store.indexOf(k.key) ?? -1;
          return {
            fn: (env) => {
              const v = l(env);
              return v instanceof EntityRef ? env.view.isIn(v, k, idx) : typeError(e, 'entity', v);
            },
          };
        }
        return {
          fn: (env) => {
            const v = l(env);
            const t = r(env);
            if (!(v instanceof EntityRef)) return typeError(e, 'entity', v);
            if (t instanceof EntityRef) return env.view.isIn(v, t);
            if (!(t instanceof CedarSet)) return typeError(e, 'set or entity', t);
            for (const x of t.items) if (!(x instanceof EntityRef)) typeError(e, 'entity', x);
            for (const x of t.items) if (env.view.isIn(v, x as EntityRef)) return true;
            return false;
          },
        };
      }
      case 'contains':
        return this.#fold(e, [L, R], (env) => {
          const s = l(env);
          const v = r(env);
          return s instanceof CedarSet ? s.has(v) : typeError(e, 'set', s);
        });
      case 'containsAll':
      case 'containsAny': {
        const all = e.op === 'containsAll';
        return this.#fold(e, [L, R], (env) => {
          const a = l(env);
          const b = r(env);
          if (!(a instanceof CedarSet)) return typeError(e, 'set', a);
          if (!(b instanceof CedarSet)) return typeError(e, 'set', b);
          return all ? a.containsAll(b) : a.containsAny(b);
        });
      }
      case 'getTag':
      case 'hasTag': {
        const get = e.op === 'getTag';
        return {
          fn: (env) => {
            const v = l(env);
            const t = r(env);
            if (!(v instanceof EntityRef)) return typeError(e, 'entity', v);
            if (typeof t !== 'string') return typeError(e, 'string', t);
            const tags = env.view.tagsOf(v);
            if (!get) return tags?.has(t) ?? false;
            if (tags === undefined) return fail(e, `entity \`${v.toString()}\` does not exist`);
            return tags?.get(t) ?? fail(e, `\`${v.toString()}\` does not have the tag \`${t}\``);
          },
        };
      }
    }
  }
}

/**
 * `like`: `*` matches any sequence of characters. Literal runs are matched greedily left to right between
 * the first (a prefix) and the last (a suffix), which is exact for patterns with only this wildcard.
 */
export function likeMatcher(pattern: readonly PatternElem[]): (s: string) => boolean {
  if (!pattern.includes(null)) {
    const lit = pattern.join('');
    return (s) => s === lit;
  }
  const segs: string[] = [];
  let cur = '';
  for (const p of pattern) {
    if (p === null) {
      segs.push(cur);
      cur = '';
    } else cur += p;
  }
  segs.push(cur);
  const prefix = segs[0]!;
  const suffix = segs[segs.length - 1]!;
  const middle = segs.slice(1, -1).filter((m) => m !== '');
  const fixed = prefix.length + suffix.length;
  return (s) => {
    if (s.length < fixed || !s.startsWith(prefix) || !s.endsWith(suffix)) return false;
    let pos = prefix.length;
    const end = s.length - suffix.length;
    for (const m of middle) {
      const at = s.indexOf(m, pos);
      if (at === -1 || at + m.length > end) return false;
      pos = at + m.length;
    }
    return true;
  };
}

/** A policy compiled for evaluation. */
export interface CompiledPolicy {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly ast: PolicyAst;
  /** Position in the policy set (the index keeps this order). */
  readonly order: number;
  /** The principal/resource type the scope requires, or null when any type can match. */
  readonly principalType: string | null;
  readonly resourceType: string | null;
  readonly principalScope: ((env: Env) => boolean) | null;
  readonly actionScope: ((env: Env) => boolean) | null;
  readonly resourceScope: ((env: Env) => boolean) | null;
  readonly conditions: readonly { readonly when: boolean; readonly fn: Fn }[];
}

export function compilePolicy(id: string, ast: PolicyAst, order: number, store: EntityStore): CompiledPolicy {
  const compiler = new ExprCompiler(store);
  return {
    id,
    effect: ast.effect,
    ast,
    order,
    principalType: scopeType(ast.principal),
    resourceType: scopeType(ast.resource),
    principalScope: compileScope(ast.principal, 'principal', store),
    actionScope: compileActionScope(ast.action, store),
    resourceScope: compileScope(ast.resource, 'resource', store),
    conditions: ast.conditions.map((c) => ({ when: c.kind === 'when', fn: compiler.compile(c.body) })),
  };
}

/**
 * Whether the policy is satisfied: its scope matches and every condition holds (when) or fails (unless).
 * A condition that is not a boolean is a type error (Cedar's `&&` chain over the clauses).
 */
export function isSatisfied(p: CompiledPolicy, env: Env): boolean {
  if (p.principalScope !== null && !p.principalScope(env)) return false;
  if (p.actionScope !== null && !p.actionScope(env)) return false;
  if (p.resourceScope !== null && !p.resourceScope(env)) return false;
  const conds = p.conditions;
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i]!;
    const v = c.fn(env);
    if (typeof v !== 'boolean') {
      const err = new EvalError(`type error: expected bool, got ${typeName(v)}`);
      err.node = p.ast.conditions[i]!.body;
      throw err;
    }
    if (v !== c.when) return false;
  }
  return true;
}

function scopeType(c: ScopeConstraint): string | null {
  if (c.op === '==') return typeof c.entity === 'string' ? null : c.entity.type;
  if (c.op === 'is') return c.entityType;
  return null;
}

function compileScope(
  c: ScopeConstraint,
  v: 'principal' | 'resource',
  store: EntityStore,
): ((env: Env) => boolean) | null {
  const get = v === 'principal' ? (env: Env) => env.principal : (env: Env) => env.resource;
  const target = (x: EntityRef | string): EntityRef => {
    if (typeof x === 'string') throw new PolicyCompileError('templates (policies with slots) are not supported');
    return x;
  };
  switch (c.op) {
    case 'any':
      return null;
    case '==': {
      const key = target(c.entity).key;
      return (env) => get(env).key === key;
    }
    case 'in': {
      const t = target(c.entity);
      const idx = store.indexOf(t.key) ?? -1;
      return (env) => env.view.isIn(get(env), t, idx);
    }
    case 'is': {
      const type = c.entityType;
      if (c.in === undefined) return (env) => get(env).type === type;
      const t = target(c.in);
      const idx = store.indexOf(t.key) ?? -1;
      return (env) => {
        const x = get(env);
        return x.type === type && env.view.isIn(x, t, idx);
      };
    }
  }
}

function compileActionScope(c: ActionConstraint, store: EntityStore): ((env: Env) => boolean) | null {
  switch (c.op) {
    case 'any':
      return null;
    case '==': {
      const key = c.entity.key;
      return (env) => env.action.key === key;
    }
    case 'in': {
      const targets = c.entities.map((t) => ({ t, idx: store.indexOf(t.key) ?? -1 }));
      return (env) => {
        for (const { t, idx } of targets) if (env.view.isIn(env.action, t, idx)) return true;
        return false;
      };
    }
  }
}
