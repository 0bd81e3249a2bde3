import type { PolicyJson } from './cedar.js';

/** Attribute paths under `context` that some policy reads, or 'all' when a policy uses context as a whole. */
export type ContextReads = readonly (readonly string[])[] | 'all';

/**
 * Which parts of the context the policies can observe, found by walking each condition's expression tree.
 * `context.token.scope.contains("x")` reads ["token","scope"]; `context.token has acr` reads ["token","acr"]
 * (its presence). Any other use of `context` (compared whole, passed to a function) makes the answer 'all'.
 * The decision cache keys on exactly these values, so two requests that differ only in context the
 * policies never look at can share a cached decision, and requests that differ in anything they do look
 * at never can.
 */
export function contextReads(policies: Iterable<PolicyJson>): ContextReads {
  const paths = new Map<string, string[]>();
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
        paths.set(path.join('\u0000'), path);
        return;
      }
      visit(expr['.'].left);
      return;
    }
    if ('has' in expr && isObject(expr.has)) {
      const base = chain(expr.has.left);
      if (base !== undefined) {
        const attrs = Array.isArray(expr.has.attr) ? expr.has.attr.map(String) : [String(expr.has.attr)];
        const path = [...base, ...attrs];
        paths.set(path.join('\u0000'), path);
        return;
      }
      visit(expr.has.left);
      return;
    }
    for (const value of Object.values(expr)) visit(value);
  };
  for (const policy of policies) for (const clause of policy.conditions) visit(clause.body);
  if (all) return 'all';
  // A path that another path extends adds nothing: reading context.token covers context.token.acr.
  const list = [...paths.values()];
  return list.filter((p) => !list.some((q) => q.length < p.length && q.every((s, i) => s === p[i])));
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
