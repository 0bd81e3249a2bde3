import { cedar } from '../../src/cedar/cedar.js';
import { NativeEngine } from '../../src/engine/native/native-engine.js';

export type ExprOutcome = 'true' | 'false' | 'error';

const REQUEST = {
  principal: { type: 'U', id: 'u' },
  action: { type: 'Action', id: 'a' },
  resource: { type: 'R', id: 'r' },
  context: {},
};

/** A boolean Cedar expression's outcome natively: true, false, or an evaluation error. */
export function nativeOutcome(expr: string, entities: unknown[] = []): ExprOutcome {
  const engine = new NativeEngine({
    policies: { p: `permit(principal, action, resource) when { ${expr} };` },
    entities,
  });
  const a = engine.isAuthorized(REQUEST);
  if (a.type === 'invalid') throw new Error(`invalid: ${a.errors.join('; ')}`);
  return a.errors.length > 0 ? 'error' : a.decision === 'allow' ? 'true' : 'false';
}

/** The same through cedar-wasm. */
export function wasmOutcome(expr: string, entities: unknown[] = []): ExprOutcome {
  const a = cedar.isAuthorized({
    ...REQUEST,
    policies: { staticPolicies: { p: `permit(principal, action, resource) when { ${expr} };` } },
    entities: entities as never,
  });
  if (a.type === 'failure') throw new Error(`cedar-wasm failure: ${a.errors.map((e) => e.message).join('; ')}`);
  return a.response.diagnostics.errors.length > 0 ? 'error' : a.response.decision === 'allow' ? 'true' : 'false';
}

/** Expressions whose native and cedar-wasm outcomes differ (with both outcomes). */
export function disagreements(exprs: readonly string[], entities: unknown[] = []): string[] {
  return exprs.flatMap((e) => {
    const n = nativeOutcome(e, entities);
    const w = wasmOutcome(e, entities);
    return n === w ? [] : [`${e}: native ${n}, cedar-wasm ${w}`];
  });
}
