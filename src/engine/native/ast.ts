import type { EntityRef, Value } from './values.js';

/** Character offsets [start, end) into the policy's source text. */
export type Span = readonly [number, number];

export type Var = 'principal' | 'action' | 'resource' | 'context';

export type BinaryOp =
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'in'
  | '+'
  | '-'
  | '*'
  | 'contains'
  | 'containsAll'
  | 'containsAny'
  | 'getTag'
  | 'hasTag';

/** One piece of a `like` pattern: a literal run of characters, or null for the wildcard `*`. */
export type PatternElem = string | null;

/**
 * A Cedar expression. The shapes follow Cedar's own AST after parsing: `e is T in x` is `(e is T) && (e in x)`,
 * `e has a.b` is `e has a && e.a has b`, extension calls carry the receiver as first argument.
 */
export type Expr = (
  | { readonly kind: 'lit'; readonly value: boolean | number | bigint | string | EntityRef }
  | { readonly kind: 'var'; readonly name: Var }
  | { readonly kind: 'not' | 'neg' | 'isEmpty'; readonly arg: Expr }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'and' | 'or'; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'if'; readonly cond: Expr; readonly then: Expr; readonly else: Expr }
  | { readonly kind: 'getAttr' | 'hasAttr'; readonly arg: Expr; readonly attr: string }
  | { readonly kind: 'like'; readonly arg: Expr; readonly pattern: readonly PatternElem[] }
  | { readonly kind: 'is'; readonly arg: Expr; readonly entityType: string }
  | { readonly kind: 'set'; readonly elems: readonly Expr[] }
  | { readonly kind: 'record'; readonly entries: readonly (readonly [string, Expr])[] }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Expr[] }
) & { readonly span?: Span };

export type SlotName = '?principal' | '?resource';

/** The principal or resource part of a policy scope. */
export type ScopeConstraint =
  | { readonly op: 'any' }
  | { readonly op: '==' | 'in'; readonly entity: EntityRef | SlotName }
  | { readonly op: 'is'; readonly entityType: string; readonly in?: EntityRef | SlotName };

export type ActionConstraint =
  | { readonly op: 'any' }
  | { readonly op: '=='; readonly entity: EntityRef }
  | { readonly op: 'in'; readonly entities: readonly EntityRef[] };

export interface Condition {
  readonly kind: 'when' | 'unless';
  readonly body: Expr;
  readonly span?: Span;
}

export interface PolicyAst {
  readonly effect: 'permit' | 'forbid';
  readonly principal: ScopeConstraint;
  readonly action: ActionConstraint;
  readonly resource: ScopeConstraint;
  readonly conditions: readonly Condition[];
  readonly annotations: Readonly<Record<string, string | undefined>>;
  /** The policy's source text when it was parsed from Cedar text (spans index into it). */
  readonly source?: string;
  readonly span?: Span;
}

export class PolicyParseError extends Error {
  override readonly name = 'PolicyParseError';
}

/** Values an expression literal can hold. */
export type LiteralValue = Extract<Value, boolean | number | bigint | string | EntityRef>;
