import type { PolicyJson } from '../cedar/cedar.js';

/**
 * What under `context` some policy can observe: attribute paths whose value is read, and paths only tested
 * for presence (`context has token` looks at whether token exists, not at its value). 'all' when a policy
 * uses context as a whole.
 */
export type ContextReads = readonly ContextRead[] | 'all';

export interface ContextRead {
  readonly path: readonly string[];
  /** Only `has` looks here: what matters is whether the attribute exists. */
  readonly presence: boolean;
}

/**
 * Which parts of the context the policies can observe, found by walking each condition's expression tree.
 * `context.token.scope.contains("x")` reads ["token","scope"]; `context.token has acr` reads ["token","acr"]
 * (its presence). Any other use of `context` (compared whole, passed to a function) makes the answer 'all'.
 * The decision cache keys on exactly these values, so two requests that differ only in context the
 * policies never look at can share a cached decision, and requests that differ in anything they do look
 * at never can.
 */
export function contextReads(policies: Iterable<PolicyJson>): ContextReads {
  const paths = new Map<string, ContextRead>();
  const add = (path: string[], presence: boolean) => {
    const key = path.join('\u0000');
    const prior = paths.get(key);
    if (prior === undefined || (prior.presence && !presence)) paths.set(key, { path, presence });
  };
  let all = false;
  const chain = (expr: unknown): string[] | undefined => {
    // Returns the attribute path if expr is context.a.b...; undefined otherwise.
    if (isObject(expr) && 'Var' in expr) return expr.Var === 'context' ? [] : undefined;
    if (isObject(expr) && '.' in expr && isObject(expr['.'])) {
      const inner = chain(expr['.'].left);
      return inner === undefined ? undefined : [...inner, String(expr['.'].attr)];
    }
    return undefined;
  };
  const visit = (expr: unknown): void => {
    if (all) return;
    if (Array.isArray(expr)) {
      for (const e of expr) visit(e);
      return;
    }
    if (!isObject(expr)) return;
    if ('Var' in expr) {
      if (expr.Var === 'context') all = true;
      return;
    }
    if ('.' in expr && isObject(expr['.'])) {
      const path = chain(expr);
      if (path !== undefined) {
        add(path, false);
        return;
      }
      visit(expr['.'].left);
      return;
    }
    if ('has' in expr && isObject(expr.has)) {
      const base = chain(expr.has.left);
      if (base !== undefined) {
        const attrs = Array.isArray(expr.has.attr) ? expr.has.attr.map(String) : [String(expr.has.attr)];
        add([...base, ...attrs], true);
        return;
      }
      visit(expr.has.left);
      return;
    }
    for (const value of Object.values(expr)) visit(value);
  };
  for (const policy of policies) for (const clause of policy.conditions) visit(clause.body);
  if (all) return 'all';
  // Reading a value covers everything below it (context.token covers context.token.acr, and whether it
  // exists); a presence test covers nothing but itself.
  const list = [...paths.values()];
  const covers = (q: ContextRead, p: ContextRead) =>
    !q.presence && q.path.length <= p.path.length && q !== p && q.path.every((s, i) => s === p.path[i]);
  return list.filter((p) => !list.some((q) => covers(q, p)));
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
