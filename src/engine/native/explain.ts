import type { ActionConstraint, Expr, PolicyAst, ScopeConstraint } from './ast.js';
import { type CompiledPolicy, type Env } from './compile-policy.js';
import { EvalError } from './eval-error.js';
import type { NativeAnswer } from './native-engine.js';
import { showValue, type Value } from './values.js';

export interface ConditionExplanation {
  readonly kind: 'when' | 'unless';
  /** The clause as written (source text), or printed from the AST when the policy came as JSON. */
  readonly text: string;
  /** Evaluated to this value (in Cedar syntax), or not evaluated because an earlier clause decided. */
  readonly value?: string;
  readonly error?: { readonly message: string; readonly at: string; readonly span?: readonly [number, number] };
  readonly skipped?: true;
}

export interface PolicyExplanation {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly scope: { readonly principal: boolean; readonly action: boolean; readonly resource: boolean };
  /** satisfied, not satisfied (scope or a condition), or error (skipped by Cedar and reported). */
  readonly outcome: 'satisfied' | 'not-satisfied' | 'error';
  readonly conditions: readonly ConditionExplanation[];
}

export interface Explanation {
  readonly type: 'explanation';
  readonly answer: NativeAnswer;
  readonly policies: readonly PolicyExplanation[];
}

/**
 * Evaluates every policy (not only the index's candidates) clause by clause with the same compiled
 * closures the decision uses, recording each scope part, each condition's value, or the error and the
 * sub-expression that raised it.
 */
export function explainRequest(policies: readonly CompiledPolicy[], env: Env, answer: NativeAnswer): Explanation {
  const out: PolicyExplanation[] = [];
  for (const p of policies) {
    const scope = {
      principal: p.principalScope === null || p.principalScope(env),
      action: p.actionScope === null || p.actionScope(env),
      resource: p.resourceScope === null || p.resourceScope(env),
    };
    const conditions: ConditionExplanation[] = [];
    let outcome: PolicyExplanation['outcome'] =
      scope.principal && scope.action && scope.resource ? 'satisfied' : 'not-satisfied';
    p.ast.conditions.forEach((c, i) => {
      const text =
        c.span !== undefined && p.ast.source !== undefined
          ? sliceSource(p.ast, c.span)
          : `${c.kind} { ${printExpr(c.body)} }`;
      if (outcome !== 'satisfied') {
        conditions.push({ kind: c.kind, text, skipped: true });
        return;
      }
      try {
        const v: Value = p.conditions[i]!.fn(env);
        conditions.push({ kind: c.kind, text, value: showValue(v) });
        if (typeof v !== 'boolean') {
          outcome = 'error';
          conditions[conditions.length - 1] = {
            kind: c.kind,
            text,
            value: showValue(v),
            error: { message: 'type error: the condition is not a boolean', at: text },
          };
        } else if (v !== (c.kind === 'when')) outcome = 'not-satisfied';
      } catch (e) {
        if (!(e instanceof EvalError)) throw e;
        outcome = 'error';
        const node = e.node;
        const at =
          node === undefined
            ? text
            : node.span !== undefined && p.ast.source !== undefined
              ? sliceSource(p.ast, node.span)
              : printExpr(node);
        conditions.push({
          kind: c.kind,
          text,
          error: { message: e.message, at, ...(node?.span !== undefined ? { span: node.span } : {}) },
        });
      }
    });
    out.push({ id: p.id, effect: p.effect, scope, outcome, conditions });
  }
  return { type: 'explanation', answer, policies: out };
}

/** Spans are offsets in the text the policy was parsed from; `source` starts at the policy's own start. */
function sliceSource(p: PolicyAst, span: readonly [number, number]): string {
  const base = p.span?.[0] ?? 0;
  return p.source!.slice(span[0] - base, span[1] - base);
}

const q = (s: string) => JSON.stringify(s);

/** An expression in Cedar syntax (fully parenthesised where precedence could matter). */
export function printExpr(e: Expr): string {
  switch (e.kind) {
    case 'lit':
      return showValue(e.value);
    case 'var':
      return e.name;
    case 'not':
      return `!(${printExpr(e.arg)})`;
    case 'neg':
      return `-(${printExpr(e.arg)})`;
    case 'isEmpty':
      return `(${printExpr(e.arg)}).isEmpty()`;
    case 'and':
      return `(${printExpr(e.left)} && ${printExpr(e.right)})`;
    case 'or':
      return `(${printExpr(e.left)} || ${printExpr(e.right)})`;
    case 'if':
      return `(if ${printExpr(e.cond)} then ${printExpr(e.then)} else ${printExpr(e.else)})`;
    case 'binary':
      if (['contains', 'containsAll', 'containsAny', 'getTag', 'hasTag'].includes(e.op))
        return `(${printExpr(e.left)}).${e.op}(${printExpr(e.right)})`;
      return `(${printExpr(e.left)} ${e.op} ${printExpr(e.right)})`;
    case 'getAttr':
      return `(${printExpr(e.arg)})[${q(e.attr)}]`;
    case 'hasAttr':
      return `(${printExpr(e.arg)} has ${q(e.attr)})`;
    case 'like':
      return `(${printExpr(e.arg)} like "${e.pattern.map((p) => (p === null ? '*' : JSON.stringify(p).slice(1, -1).replace(/\*/g, '\\*'))).join('')}")`;
    case 'is':
      return `(${printExpr(e.arg)} is ${e.entityType})`;
    case 'set':
      return `[${e.elems.map(printExpr).join(', ')}]`;
    case 'record':
      return `{${e.entries.map(([k, v]) => `${q(k)}: ${printExpr(v)}`).join(', ')}}`;
    case 'call':
      return `${e.fn}(${e.args.map(printExpr).join(', ')})`;
  }
}

export function printScope(v: string, c: ScopeConstraint | ActionConstraint): string {
  switch (c.op) {
    case 'any':
      return v;
    case '==':
      return `${v} == ${String(c.entity)}`;
    case 'in':
      return 'entities' in c ? `${v} in [${c.entities.map(String).join(', ')}]` : `${v} in ${String(c.entity)}`;
    case 'is':
      return `${v} is ${c.entityType}${c.in !== undefined ? ` in ${String(c.in)}` : ''}`;
  }
}
