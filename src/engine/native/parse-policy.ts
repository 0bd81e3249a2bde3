import {
  type ActionConstraint,
  type BinaryOp,
  type Condition,
  type Expr,
  type PatternElem,
  type PolicyAst,
  PolicyParseError,
  type ScopeConstraint,
  type SlotName,
  type Span,
  type Var,
} from './ast.js';
import { type Token, tokenize, unescapeCedar } from './cedar-lexer.js';
import { fromBigInt, I64_MAX } from './i64.js';
import { EntityRef } from './values.js';

/**
 * A native parser for Cedar policy text, following cedar-policy-core's grammar (grammar.lalrpop) and its
 * conversion to the AST (cst_to_ast.rs) rule for rule, so that it accepts exactly the policies Cedar
 * accepts and builds the same expression tree — including the 64-bit integer literals that cedar-wasm's
 * JSON interface cannot carry. test/unit/engine/native/parse-policy.test.ts holds it to cedar-wasm's
 * policyToJson on the conformance corpus and on generated policies.
 */

const RESERVED = new Set(['if', 'true', 'false', 'then', 'else', 'in', 'is', 'has', 'like']);
const VARS = new Set(['principal', 'action', 'resource', 'context']);
/** Methods built into Cedar (parsed with their arity checked) and extension methods (arity checked when called). */
const BUILTIN_METHODS: Record<string, number> = {
  contains: 1,
  containsAll: 1,
  containsAny: 1,
  isEmpty: 0,
  getTag: 1,
  hasTag: 1,
};
export const EXTENSION_METHODS = new Set([
  'isIpv4',
  'isIpv6',
  'isLoopback',
  'isMulticast',
  'isInRange',
  'lessThan',
  'lessThanOrEqual',
  'greaterThan',
  'greaterThanOrEqual',
  'offset',
  'durationSince',
  'toDate',
  'toTime',
  'toMilliseconds',
  'toSeconds',
  'toMinutes',
  'toHours',
  'toDays',
]);
/** Function-style extension calls: the four constructors, and partial evaluation's `unknown`. */
export const EXTENSION_FUNCTIONS = new Set(['ip', 'decimal', 'datetime', 'duration', 'unknown']);

/** The grammar's levels below Relation, kept as syntax until Cedar's conversion rules are applied. */
type Primary =
  | { k: 'lit'; value: boolean | bigint; span: Span }
  | { k: 'str'; raw: string; span: Span }
  | { k: 'ref'; path: string[]; raw: string; span: Span }
  | { k: 'name'; path: string[]; span: Span }
  | { k: 'slot'; name: string; span: Span }
  | { k: 'paren'; inner: Special; span: Span }
  | { k: 'list'; elems: Expr[]; span: Span }
  | { k: 'record'; inits: [Special, Expr][]; span: Span };
type Access =
  | { k: 'field'; name: string; span: Span }
  | { k: 'call'; args: Expr[]; span: Span }
  | { k: 'index'; arg: Special; span: Span };
interface Member {
  prim: Primary;
  access: Access[];
  span: Span;
}
interface Unary {
  op: { bang: boolean; count: number } | undefined;
  member: Member;
  span: Span;
}
interface Mult {
  first: Unary;
  rest: { op: string; arg: Unary }[];
  span: Span;
}
interface Add {
  first: Mult;
  rest: { op: string; arg: Mult }[];
  span: Span;
}

/** cst_to_ast's ExprOrSpecial: names, variables, string and bool literals keep their syntax a while. */
type Special =
  | { t: 'expr'; e: Expr; span: Span }
  | { t: 'var'; v: Var; span: Span }
  | { t: 'name'; path: string[]; span: Span }
  | { t: 'str'; raw: string; span: Span }
  | { t: 'bool'; v: boolean; span: Span };

const fail = (msg: string, at?: Span | Token): never => {
  const where = at === undefined ? '' : ` (at ${'start' in at ? at.start : at[0]})`;
  throw new PolicyParseError(`${msg}${where}`);
};

function validName(path: string[], span: Span): string[] {
  for (const id of path) {
    if (RESERVED.has(id)) fail(`\`${id}\` is a reserved identifier`, span);
    if (id === '__cedar') fail('the name `__cedar` is reserved', span);
  }
  return path;
}

class Parser {
  #i = 0;
  constructor(
    readonly src: string,
    readonly toks: Token[],
  ) {}

  get peek(): Token {
    return this.toks[this.#i]!;
  }
  peekAt(k: number): Token {
    return this.toks[Math.min(this.#i + k, this.toks.length - 1)]!;
  }
  next(): Token {
    const t = this.toks[this.#i]!;
    if (t.kind !== 'eof') this.#i++;
    return t;
  }
  is(text: string, k = 0): boolean {
    const t = this.peekAt(k);
    return (t.kind === 'punct' || t.kind === 'ident') && t.text === text;
  }
  isPunct(text: string, k = 0): boolean {
    const t = this.peekAt(k);
    return t.kind === 'punct' && t.text === text;
  }
  expect(text: string): Token {
    const t = this.next();
    if (t.kind === 'eof' || t.text !== text || t.kind === 'string')
      fail(`expected \`${text}\`, found ${t.kind === 'eof' ? 'end of input' : `\`${t.text}\``}`, t);
    return t;
  }
  ident(): Token {
    const t = this.next();
    if (t.kind !== 'ident')
      fail(`expected an identifier, found ${t.kind === 'eof' ? 'end of input' : `\`${t.text}\``}`, t);
    return t;
  }
  get pos(): number {
    return this.peek.start;
  }
  get lastEnd(): number {
    return this.toks[Math.max(0, this.#i - 1)]!.end;
  }

  // ---- policies ----

  policies(): PolicyAst[] {
    const out: PolicyAst[] = [];
    while (this.peek.kind !== 'eof') out.push(this.policy());
    return out;
  }

  policy(): PolicyAst {
    const start = this.pos;
    const annotations: Record<string, string | undefined> = Object.create(null);
    while (this.isPunct('@')) {
      const at = this.next();
      const key = this.ident().text;
      let value: string | undefined;
      if (this.isPunct('(')) {
        this.next();
        const s = this.next();
        if (s.kind !== 'string') fail('expected a string', s);
        value = unescapeCedar(s.text, false);
        this.expect(')');
      }
      if (Object.prototype.hasOwnProperty.call(annotations, key)) fail(`duplicate annotation: @${key}`, at);
      annotations[key] = value;
    }
    const effectTok = this.ident();
    this.expect('(');
    const defs: VarDef[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        defs.push(this.varDef());
        if (this.isPunct(',')) {
          this.next();
          if (this.isPunct(')')) break;
          continue;
        }
        break;
      }
    }
    this.expect(')');
    const conditions: Condition[] = [];
    while (!this.isPunct(';')) {
      const cstart = this.pos;
      const kindTok = this.ident();
      this.expect('{');
      if (this.isPunct('}')) fail(`\`${kindTok.text}\` condition clauses must be non-empty`, kindTok);
      const body = this.exprNoSlots();
      this.expect('}');
      if (kindTok.text !== 'when' && kindTok.text !== 'unless')
        fail(`invalid policy condition: \`${kindTok.text}\``, kindTok);
      conditions.push({ kind: kindTok.text as 'when' | 'unless', body, span: [cstart, this.lastEnd] });
    }
    this.expect(';');
    const end = this.lastEnd;
    if (effectTok.text !== 'permit' && effectTok.text !== 'forbid')
      fail(`invalid policy effect: \`${effectTok.text}\``, effectTok);
    if (defs.length < 3)
      fail(
        `this policy is missing the \`${['principal', 'action', 'resource'][defs.length]}\` variable in the scope`,
        effectTok,
      );
    if (defs.length > 3) fail('this policy has an extra element in the scope', effectTok);
    return {
      effect: effectTok.text as 'permit' | 'forbid',
      principal: this.scopeConstraint(defs[0]!, 'principal'),
      action: this.actionConstraint(defs[1]!),
      resource: this.scopeConstraint(defs[2]!, 'resource'),
      conditions,
      annotations,
      source: this.src.slice(start, end),
      span: [start, end],
    };
  }

  exprNoSlots(): Expr {
    return this.toExpr(this.expr());
  }

  // ---- scope ----

  varDef(): VarDef {
    const variable = this.ident();
    let typeName = false;
    if (this.isPunct(':')) {
      this.next();
      this.nameOnly();
      typeName = true;
    }
    let isType: Add | undefined;
    if (this.is('is') && this.peek.kind === 'ident') {
      this.next();
      isType = this.add();
    }
    let rel: { op: string; rhs: ScopeRhs; opTok: Token } | undefined;
    const relOp = this.relOp();
    if (relOp !== undefined) {
      const opTok = this.next();
      rel = { op: relOp, rhs: this.scopeRhs(), opTok };
    }
    return { variable, typeName, isType, rel };
  }

  /** The right side of a scope operator: a uid, a slot, a list of uids, in parentheses or not. */
  scopeRhs(): ScopeRhs {
    // The grammar reads a whole Expr here; anything but these shapes is an error in cst_to_ast, so the
    // Expr is parsed and then checked for these shapes.
    const start = this.#i;
    const shape = this.scopeShape();
    if (shape !== undefined && (this.isPunct(',') || this.isPunct(')'))) return shape;
    // Not a plain reference: parse the Expr to report a syntax error, then refuse it.
    this.#i = start;
    const e = this.expr();
    if (e.t === 'expr' && e.e.kind === 'and' && e.e.left.kind === 'is') return { k: 'invertedIs' };
    if (e.t === 'expr' && e.e.kind === 'is') return { k: 'invertedIs' };
    return { k: 'bad' };
  }

  scopeShape(): ScopeRhs | undefined {
    const t = this.peek;
    if (t.kind === 'punct' && t.text === '(') {
      this.next();
      const inner = this.scopeShape();
      if (inner === undefined || !this.isPunct(')')) return undefined;
      this.next();
      return inner;
    }
    if (t.kind === 'slot') {
      this.next();
      return { k: 'slot', name: t.text };
    }
    if (t.kind === 'punct' && t.text === '[') {
      this.next();
      const items: ScopeRhs[] = [];
      while (!this.isPunct(']')) {
        const item = this.scopeShape();
        if (item === undefined) return undefined;
        items.push(item);
        if (this.isPunct(',')) this.next();
        else if (!this.isPunct(']')) return undefined;
      }
      this.next();
      return { k: 'list', items };
    }
    if (t.kind === 'ident') {
      const path: string[] = [];
      const span: Span = [t.start, t.end];
      path.push(this.next().text);
      while (this.isPunct('::')) {
        this.next();
        const u = this.peek;
        if (u.kind === 'string') {
          this.next();
          return { k: 'ref', ref: this.entityRef(path, u.text, [span[0], u.end]) };
        }
        if (u.kind !== 'ident') return undefined;
        path.push(this.next().text);
      }
      return undefined;
    }
    return undefined;
  }

  scopeConstraint(def: VarDef, expected: 'principal' | 'resource'): ScopeConstraint {
    this.checkVar(def, expected);
    if (def.typeName) fail('type constraints using `:` are not supported', def.variable);
    const isType = def.isType === undefined ? undefined : this.entityTypeOf(this.convertAdd(def.isType));
    if (def.rel === undefined) return isType === undefined ? { op: 'any' } : { op: 'is', entityType: isType };
    const { op, rhs, opTok } = def.rel;
    if (op === 'in' && rhs.k === 'invertedIs')
      fail('when `is` and `in` are used together, `is` must come first', opTok);
    const ref = this.scopeRef(rhs, expected, opTok);
    if (op === '==') {
      if (isType !== undefined) fail('`is` cannot appear in the scope at the same time as `==`', opTok);
      return { op: '==', entity: ref };
    }
    if (op === 'in')
      return isType === undefined ? { op: 'in', entity: ref } : { op: 'is', entityType: isType, in: ref };
    if (op === '=') fail("'=' is not a valid operator in Cedar", opTok);
    return fail(`not a valid policy scope constraint: ${expected} ${op}`, opTok);
  }

  scopeRef(rhs: ScopeRhs, v: 'principal' | 'resource', at: Token): EntityRef | SlotName {
    if (rhs.k === 'ref') return rhs.ref;
    if (rhs.k === 'slot') {
      if (rhs.name === `?${v}`) return rhs.name as SlotName;
      return fail(`expected an entity uid or matching template slot, found ${rhs.name}`, at);
    }
    return fail('expected an entity uid or matching template slot', at);
  }

  actionConstraint(def: VarDef): ActionConstraint {
    this.checkVar(def, 'action');
    if (def.typeName) fail('type constraints using `:` are not supported', def.variable);
    if (def.isType !== undefined) fail('`is` cannot appear in the action scope', def.variable);
    if (def.rel === undefined) return { op: 'any' };
    const { op, rhs, opTok } = def.rel;
    const single = (r: ScopeRhs): EntityRef => (r.k === 'ref' ? r.ref : fail('expected an entity uid', opTok));
    let c: ActionConstraint;
    if (op === 'in') {
      if (rhs.k === 'invertedIs') fail('`is` cannot appear in the action scope', opTok);
      if (rhs.k === 'list') c = { op: 'in', entities: rhs.items.map(single) };
      else c = { op: 'in', entities: [single(rhs)] };
    } else if (op === '==') c = { op: '==', entity: single(rhs) };
    else if (op === '=') return fail("'=' is not a valid operator in Cedar", opTok);
    else return fail(`not a valid action scope constraint: action ${op}`, opTok);
    const refs = c.op === 'in' ? c.entities : [c.entity];
    for (const r of refs) {
      const sep = r.type.lastIndexOf('::');
      const base = sep === -1 ? r.type : r.type.slice(sep + 2);
      if (base !== 'Action') fail(`expected an entity uid with type \`Action\` but got \`${r.toString()}\``, opTok);
    }
    return c;
  }

  checkVar(def: VarDef, expected: string): void {
    const v = def.variable.text;
    if (v !== 'principal' && v !== 'action' && v !== 'resource')
      fail(`expected a variable that is valid in the policy scope; found: \`${v}\``, def.variable);
    if (v !== expected)
      fail(`found the variable \`${v}\` where the variable \`${expected}\` must be used`, def.variable);
  }

  /** `Name` after `:` in a scope variable (always refused later, but it must parse). */
  nameOnly(): void {
    this.ident();
    while (this.isPunct('::')) {
      this.next();
      this.ident();
    }
  }

  // ---- expressions ----

  relOp(): string | undefined {
    const t = this.peek;
    if (t.kind === 'punct' && ['<', '<=', '>=', '>', '!=', '==', '='].includes(t.text)) return t.text;
    if (t.kind === 'ident' && t.text === 'in') return 'in';
    return undefined;
  }

  expr(): Special {
    const start = this.pos;
    if (this.is('if') && this.peek.kind === 'ident' && !this.isPunct('::', 1)) {
      this.next();
      const c = this.toExpr(this.expr());
      if (!(this.peek.kind === 'ident' && this.peek.text === 'then')) fail('expected `then`', this.peek);
      this.next();
      const a = this.toExpr(this.expr());
      if (!(this.peek.kind === 'ident' && this.peek.text === 'else')) fail('expected `else`', this.peek);
      this.next();
      const b = this.toExpr(this.expr());
      const span: Span = [start, this.lastEnd];
      return { t: 'expr', e: { kind: 'if', cond: c, then: a, else: b, span }, span };
    }
    return this.or();
  }

  or(): Special {
    const start = this.pos;
    const first = this.and();
    if (!this.isPunct('||')) return first;
    let acc = this.toExpr(first);
    while (this.isPunct('||')) {
      this.next();
      const r = this.toExpr(this.and());
      acc = { kind: 'or', left: acc, right: r, span: [start, this.lastEnd] };
    }
    return { t: 'expr', e: acc, span: [start, this.lastEnd] };
  }

  and(): Special {
    const start = this.pos;
    const first = this.relation();
    if (!this.isPunct('&&')) return first;
    let acc = this.toExpr(first);
    while (this.isPunct('&&')) {
      this.next();
      const r = this.toExpr(this.relation());
      acc = { kind: 'and', left: acc, right: r, span: [start, this.lastEnd] };
    }
    return { t: 'expr', e: acc, span: [start, this.lastEnd] };
  }

  relation(): Special {
    const start = this.pos;
    const target = this.add();
    const t = this.peek;
    if (t.kind === 'ident' && t.text === 'has') {
      this.next();
      if (this.peek.kind === 'ident' && this.peek.text === 'if' && !this.isPunct('::', 1))
        fail('`if` is a reserved identifier', this.peek);
      const field = this.add();
      const lhs = this.toExpr(this.convertAdd(target));
      const attrs = this.hasRhs(field);
      const span: Span = [start, this.lastEnd];
      // e has a.b.c  =>  (e has a && e.a has b) && e.a.b has c
      let acc: Expr = { kind: 'hasAttr', arg: lhs, attr: attrs[0]!, span };
      let path: Expr = lhs;
      for (let k = 1; k < attrs.length; k++) {
        path = { kind: 'getAttr', arg: path, attr: attrs[k - 1]!, span };
        acc = { kind: 'and', left: acc, right: { kind: 'hasAttr', arg: path, attr: attrs[k]!, span }, span };
      }
      return { t: 'expr', e: acc, span };
    }
    if (t.kind === 'ident' && t.text === 'like') {
      this.next();
      const lhs = this.toExpr(this.convertAdd(target));
      const pat = this.convertAdd(this.add());
      if (pat.t !== 'str') fail('the right hand side of `like` must be a string literal', pat.span);
      const pattern = unescapeCedar((pat as { raw: string }).raw, true) as PatternElem[];
      const span: Span = [start, this.lastEnd];
      return { t: 'expr', e: { kind: 'like', arg: lhs, pattern, span }, span };
    }
    if (t.kind === 'ident' && t.text === 'is') {
      this.next();
      const lhs = this.toExpr(this.convertAdd(target));
      const ty = this.entityTypeOf(this.convertAdd(this.add()));
      let e: Expr = { kind: 'is', arg: lhs, entityType: ty, span: [start, this.lastEnd] };
      if (this.peek.kind === 'ident' && this.peek.text === 'in') {
        this.next();
        const rhs = this.toExpr(this.convertAdd(this.add()));
        const span: Span = [start, this.lastEnd];
        e = {
          kind: 'and',
          left: { ...e, span },
          right: { kind: 'binary', op: 'in', left: lhs, right: rhs, span },
          span,
        };
      }
      return { t: 'expr', e, span: [start, this.lastEnd] };
    }
    const first = this.convertAdd(target);
    const ops: { op: string; rhs: Expr; tok: Token }[] = [];
    for (;;) {
      const op = this.relOp();
      if (op === undefined) break;
      const tok = this.next();
      ops.push({ op, rhs: this.toExpr(this.convertAdd(this.add())), tok });
    }
    if (ops.length === 0) return first;
    if (ops.length > 1)
      fail(
        'multiple relational operators (>, ==, in, etc.) must be used with parentheses to make ordering explicit',
        ops[1]!.tok,
      );
    const { op, rhs, tok } = ops[0]!;
    if (op === '=') fail("'=' is not a valid operator in Cedar", tok);
    const span: Span = [start, this.lastEnd];
    return { t: 'expr', e: { kind: 'binary', op: op as BinaryOp, left: this.toExpr(first), right: rhs, span }, span };
  }

  add(): Add {
    const start = this.pos;
    const first = this.mult();
    const rest: Add['rest'] = [];
    while (this.isPunct('+') || this.isPunct('-')) {
      const op = this.next().text;
      rest.push({ op, arg: this.mult() });
    }
    return { first, rest, span: [start, this.lastEnd] };
  }

  mult(): Mult {
    const start = this.pos;
    const first = this.unary();
    const rest: Mult['rest'] = [];
    while (this.isPunct('*') || this.isPunct('/') || this.isPunct('%')) {
      const op = this.next().text;
      rest.push({ op, arg: this.unary() });
    }
    return { first, rest, span: [start, this.lastEnd] };
  }

  unary(): Unary {
    const start = this.pos;
    let op: Unary['op'];
    if (this.isPunct('!') || this.isPunct('-')) {
      const c = this.peek.text;
      let count = 0;
      while (this.isPunct(c)) {
        this.next();
        count++;
      }
      op = { bang: c === '!', count };
    }
    const member = this.member();
    return { op, member, span: [start, this.lastEnd] };
  }

  member(): Member {
    const start = this.pos;
    const prim = this.primary();
    const access: Access[] = [];
    for (;;) {
      const as = this.pos;
      if (this.isPunct('.')) {
        this.next();
        const id = this.ident();
        access.push({ k: 'field', name: id.text, span: [as, id.end] });
      } else if (this.isPunct('(')) {
        this.next();
        const args = this.commaList(')', () => this.toExpr(this.expr()));
        access.push({ k: 'call', args, span: [as, this.lastEnd] });
      } else if (this.isPunct('[')) {
        this.next();
        const arg = this.expr();
        this.expect(']');
        access.push({ k: 'index', arg, span: [as, this.lastEnd] });
      } else break;
    }
    return { prim, access, span: [start, this.lastEnd] };
  }

  commaList<T>(close: string, item: () => T): T[] {
    const out: T[] = [];
    while (!this.isPunct(close)) {
      out.push(item());
      if (this.isPunct(',')) this.next();
      else break;
    }
    this.expect(close);
    return out;
  }

  primary(): Primary {
    const t = this.peek;
    const start = t.start;
    if (t.kind === 'number') {
      this.next();
      return { k: 'lit', value: BigInt(t.text), span: [t.start, t.end] };
    }
    if (t.kind === 'string') {
      this.next();
      return { k: 'str', raw: t.text, span: [t.start, t.end] };
    }
    if (t.kind === 'slot') {
      this.next();
      return { k: 'slot', name: t.text, span: [t.start, t.end] };
    }
    if (t.kind === 'ident') {
      const qualified = this.isPunct('::', 1);
      if ((t.text === 'true' || t.text === 'false') && !qualified) {
        this.next();
        return { k: 'lit', value: t.text === 'true', span: [t.start, t.end] };
      }
      if (t.text === 'if' && !qualified) fail('unexpected `if`', t);
      const path = [this.next().text];
      while (this.isPunct('::')) {
        this.next();
        const u = this.next();
        if (u.kind === 'string') return { k: 'ref', path, raw: u.text, span: [start, u.end] };
        if (u.kind === 'punct' && u.text === '{')
          fail('invalid entity literal (record-style entity literals are not supported)', u);
        if (u.kind !== 'ident') fail('expected an identifier or string after `::`', u);
        path.push(u.text);
      }
      return { k: 'name', path, span: [start, this.lastEnd] };
    }
    if (t.kind === 'punct' && t.text === '(') {
      this.next();
      const inner = this.expr();
      this.expect(')');
      return { k: 'paren', inner, span: [start, this.lastEnd] };
    }
    if (t.kind === 'punct' && t.text === '[') {
      this.next();
      const elems = this.commaList(']', () => this.toExpr(this.expr()));
      return { k: 'list', elems, span: [start, this.lastEnd] };
    }
    if (t.kind === 'punct' && t.text === '{') {
      this.next();
      const inits = this.commaList('}', (): [Special, Expr] => {
        // `if: e` is its own rule: `if` cannot start an expression-or-name key.
        let key: Special;
        if (this.peek.kind === 'ident' && this.peek.text === 'if' && this.isPunct(':', 1)) {
          const k = this.next();
          key = { t: 'name', path: validName(['if'], [k.start, k.end]), span: [k.start, k.end] };
        } else key = this.expr();
        this.expect(':');
        return [key, this.toExpr(this.expr())];
      });
      return { k: 'record', inits, span: [start, this.lastEnd] };
    }
    return fail(`unexpected ${t.kind === 'eof' ? 'end of input' : `token \`${t.text}\``}`, t);
  }

  // ---- conversion (cst_to_ast) ----

  entityRef(path: string[], raw: string, span: Span): EntityRef {
    validName(path, span);
    return new EntityRef(path.join('::'), unescapeCedar(raw, false));
  }

  entityTypeOf(s: Special): string {
    if (s.t === 'var') return s.v;
    if (s.t === 'name') return s.path.join('::');
    return fail('right hand side of an `is` expression must be an entity type name', s.span);
  }

  convertAdd(a: Add): Special {
    const first = this.convertMult(a.first);
    if (a.rest.length === 0) return first;
    let acc = this.toExpr(first);
    for (const { op, arg } of a.rest) {
      acc = { kind: 'binary', op: op as BinaryOp, left: acc, right: this.toExpr(this.convertMult(arg)), span: a.span };
    }
    return { t: 'expr', e: acc, span: a.span };
  }

  convertMult(m: Mult): Special {
    const first = this.convertUnary(m.first);
    if (m.rest.length === 0) return first;
    const rest = m.rest.map(({ op, arg }) => {
      const e = this.toExpr(this.convertUnary(arg));
      if (op === '/') fail('division is not supported', m.span);
      if (op === '%') fail('remainder/modulo is not supported', m.span);
      return e;
    });
    let acc = this.toExpr(first);
    for (const r of rest) acc = { kind: 'binary', op: '*', left: acc, right: r, span: m.span };
    return { t: 'expr', e: acc, span: m.span };
  }

  convertUnary(u: Unary): Special {
    if (u.op === undefined) return this.convertMember(u.member);
    const { bang, count } = u.op;
    if (count > 4) fail(`too many occurrences of \`${bang ? '!' : '-'}\``, u.span);
    if (bang) {
      let e = this.toExpr(this.convertMember(u.member));
      for (let k = 0; k < count; k++) e = { kind: 'not', arg: e, span: u.span };
      return { t: 'expr', e, span: u.span };
    }
    const m = u.member;
    let e: Expr;
    let remaining = count;
    if (m.access.length === 0 && m.prim.k === 'lit' && typeof m.prim.value === 'bigint') {
      // A negated integer literal folds into the literal, which is how -9223372036854775808 is written.
      const n = m.prim.value;
      if (n > I64_MAX + 1n) fail(`integer literal \`${n}\` is too large`, u.span);
      e = { kind: 'lit', value: fromBigInt(-n)!, span: m.prim.span };
      remaining--;
    } else e = this.toExpr(this.convertMember(m));
    for (let k = 0; k < remaining; k++) e = { kind: 'neg', arg: e, span: u.span };
    return { t: 'expr', e, span: u.span };
  }

  convertPrimary(p: Primary): Special {
    switch (p.k) {
      case 'lit':
        if (typeof p.value === 'boolean') return { t: 'bool', v: p.value, span: p.span };
        if (p.value > I64_MAX) fail(`integer literal \`${p.value}\` is too large`, p.span);
        return { t: 'expr', e: { kind: 'lit', value: fromBigInt(p.value)!, span: p.span }, span: p.span };
      case 'str':
        return { t: 'str', raw: p.raw, span: p.span };
      case 'ref':
        return {
          t: 'expr',
          e: { kind: 'lit', value: this.entityRef(p.path, p.raw, p.span), span: p.span },
          span: p.span,
        };
      case 'name':
        if (p.path.length === 1 && VARS.has(p.path[0]!)) return { t: 'var', v: p.path[0] as Var, span: p.span };
        return { t: 'name', path: validName(p.path, p.span), span: p.span };
      case 'slot':
        if (p.name !== '?principal' && p.name !== '?resource') fail(`invalid slot: \`${p.name}\``, p.span);
        return fail(`found template slot ${p.name} outside the policy scope`, p.span);
      case 'paren':
        return { t: 'expr', e: this.toExpr(p.inner), span: p.inner.span };
      case 'list':
        return { t: 'expr', e: { kind: 'set', elems: p.elems, span: p.span }, span: p.span };
      case 'record': {
        const keys = new Set<string>();
        const entries: [string, Expr][] = [];
        for (const [k, v] of p.inits) {
          const key = this.recordKey(k);
          if (keys.has(key)) fail(`duplicate key \`${key}\` in record literal`, p.span);
          keys.add(key);
          entries.push([key, v]);
        }
        return { t: 'expr', e: { kind: 'record', entries, span: p.span }, span: p.span };
      }
    }
  }

  recordKey(k: Special): string {
    switch (k.t) {
      case 'var':
        return k.v;
      case 'name':
        if (k.path.length !== 1)
          fail(`\`${k.path.join('::')}\` cannot be used as an attribute as it contains a namespace`, k.span);
        return k.path[0]!;
      case 'str':
        return unescapeCedar(k.raw, false);
      case 'bool':
        return fail(`\`${k.v}\` is a reserved identifier`, k.span);
      default:
        return fail('invalid attribute name (record keys must be identifiers or string literals)', k.span);
    }
  }

  convertMember(m: Member): Special {
    const prim = this.convertPrimary(m.prim);
    if (m.access.length === 0) return prim;
    const accs = m.access.map((a) => {
      if (a.k === 'field') {
        if (RESERVED.has(a.name)) fail(`\`${a.name}\` is a reserved identifier`, a.span);
        if (a.name === '__cedar') fail('the name `__cedar` is reserved', a.span);
        return a;
      }
      if (a.k === 'index') {
        if (a.arg.t !== 'str') fail('invalid string literal in attribute index', a.span);
        return { k: 'index' as const, attr: unescapeCedar((a.arg as { raw: string }).raw, false), span: a.span };
      }
      return a;
    });
    let head: Expr;
    let k = 0;
    const a0 = accs[0]!;
    const a1 = accs[1];
    if (prim.t === 'expr' || prim.t === 'str' || prim.t === 'bool') {
      head = this.toExpr(prim);
    } else if (prim.t === 'name') {
      if (a0.k === 'call') {
        head = this.func(prim.path, a0.args, m.span);
        k = 1;
      } else if (a0.k === 'field' && a1?.k === 'call')
        return fail(`\`${prim.path.join('::')}.${a0.name}\` is not a valid method call`, m.span);
      else if (a0.k === 'field') return fail(`invalid member access \`${prim.path.join('::')}.${a0.name}\``, m.span);
      else return fail(`invalid indexing expression on \`${prim.path.join('::')}\``, m.span);
    } else {
      // a variable
      if (a0.k === 'call') return fail(`\`${prim.v}(...)\` is not a valid function call`, m.span);
      head = { kind: 'var', name: prim.v, span: prim.span };
    }
    while (k < accs.length) {
      const a = accs[k]!;
      const next = accs[k + 1];
      if (a.k === 'call') fail('function calls must be of the form `<name>(arg1, arg2, ...)`', a.span);
      if (a.k === 'field' && next?.k === 'call') {
        head = this.method(a.name, head, next.args, [m.span[0], next.span[1]]);
        k += 2;
        continue;
      }
      const attr = a.k === 'field' ? a.name : (a as { attr: string }).attr;
      head = { kind: 'getAttr', arg: head, attr, span: [m.span[0], a.span[1]] };
      k++;
    }
    return { t: 'expr', e: head, span: m.span };
  }

  method(name: string, recv: Expr, args: Expr[], span: Span): Expr {
    const arity = BUILTIN_METHODS[name];
    if (arity !== undefined) {
      if (args.length !== arity)
        fail(
          `call to \`${name}\` requires exactly ${arity} argument${arity === 1 ? '' : 's'}, but got ${args.length}`,
          span,
        );
      if (name === 'isEmpty') return { kind: 'isEmpty', arg: recv, span };
      return { kind: 'binary', op: name as BinaryOp, left: recv, right: args[0]!, span };
    }
    if (EXTENSION_METHODS.has(name)) return { kind: 'call', fn: name, args: [recv, ...args], span };
    if (EXTENSION_FUNCTIONS.has(name)) fail(`\`${name}\` is a function, not a method`, span);
    return fail(`\`${name}\` is not a valid method`, span);
  }

  func(path: string[], args: Expr[], span: Span): Expr {
    const name = path.join('::');
    if (path.length === 1 && (EXTENSION_METHODS.has(name) || name in BUILTIN_METHODS))
      fail(`\`${name}\` is a method, not a function`, span);
    if (path.length === 1 && EXTENSION_FUNCTIONS.has(name)) return { kind: 'call', fn: name, args, span };
    return fail(`\`${name}\` is not a valid function`, span);
  }

  /** Attribute names on the right of `has`: a string literal, or identifiers joined by `.`. */
  hasRhs(a: Add): string[] {
    if (a.rest.length > 0 || a.first.rest.length > 0 || a.first.first.op !== undefined)
      fail('invalid RHS of a `has` operation', a.span);
    const { prim, access } = a.first.first.member;
    if (prim.k === 'str' && access.length === 0) return [unescapeCedar(prim.raw, false)];
    if (prim.k !== 'name' && !(prim.k === 'lit' && typeof prim.value === 'boolean'))
      fail('invalid RHS of a `has` operation', a.span);
    const head = this.convertPrimary(prim);
    if (head.t === 'bool') fail(`\`${head.v}\` is a reserved identifier`, a.span);
    let first: string;
    if (head.t === 'var') first = head.v;
    else if (head.t === 'name') {
      if (head.path.length !== 1)
        fail(`\`${head.path.join('::')}\` cannot be used as an attribute as it contains a namespace`, a.span);
      first = head.path[0]!;
    } else return fail('invalid RHS of a `has` operation', a.span);
    const out = [first];
    for (const acc of access) {
      if (acc.k !== 'field') fail('invalid RHS of a `has` operation', a.span);
      const name = (acc as { name: string }).name;
      if (RESERVED.has(name)) fail(`\`${name}\` is a reserved identifier`, acc.span);
      if (name === '__cedar') fail('the name `__cedar` is reserved', acc.span);
      out.push(name);
    }
    return out;
  }

  toExpr(s: Special): Expr {
    switch (s.t) {
      case 'expr':
        return s.e;
      case 'var':
        return { kind: 'var', name: s.v, span: s.span };
      case 'bool':
        return { kind: 'lit', value: s.v, span: s.span };
      case 'str':
        return { kind: 'lit', value: unescapeCedar(s.raw, false), span: s.span };
      case 'name':
        return fail(`unknown variable: ${s.path.join('::')}`, s.span);
    }
  }
}

interface VarDef {
  variable: Token;
  typeName: boolean;
  isType: Add | undefined;
  rel: { op: string; rhs: ScopeRhs; opTok: Token } | undefined;
}
type ScopeRhs =
  | { k: 'ref'; ref: EntityRef }
  | { k: 'slot'; name: string }
  | { k: 'list'; items: ScopeRhs[] }
  | { k: 'invertedIs' }
  | { k: 'bad' };

/** Every policy in a Cedar policy-set text, in order (Cedar names them policy0, policy1, …). */
export function parsePolicySet(text: string): PolicyAst[] {
  return new Parser(text, tokenize(text)).policies();
}

/** Exactly one policy. */
export function parsePolicy(text: string): PolicyAst {
  const policies = parsePolicySet(text);
  if (policies.length !== 1) throw new PolicyParseError(`expected exactly one policy, found ${policies.length}`);
  return policies[0]!;
}

/** Whether a parsed policy has template slots (authzd accepts static policies only). */
export function hasSlots(p: PolicyAst): boolean {
  const slot = (c: ScopeConstraint) =>
    c.op === '==' || c.op === 'in' ? typeof c.entity === 'string' : c.op === 'is' && typeof c.in === 'string';
  return slot(p.principal) || slot(p.resource);
}
