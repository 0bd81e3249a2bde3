import { cedar } from '../../src/cedar/cedar.js';
import { type NativeAnswer, NativeCompileError, NativeEngine } from '../../src/engine/native/native-engine.js';
import type { World } from './cedar-world.js';

/** One engine's answer, normalised for comparison: decision, sorted reasons, sorted erroring ids — or invalid. */
export type Outcome = { decision: string; reason: string[]; errors: string[] } | { invalid: true };

export const fromNative = (a: NativeAnswer): Outcome =>
  a.type === 'invalid'
    ? { invalid: true }
    : { decision: a.decision, reason: [...a.reason].sort(), errors: a.errors.map((e) => e.policyId).sort() };

export interface WorldResult {
  /** Requests compared (each against the whole policy set). */
  cases: number;
  /** Policies cedar-wasm and the native parser both refused (left out of the set). */
  refusedPolicies: number;
  mismatch: string | undefined;
}

let slot = 0;

/**
 * Evaluates every request of a generated world with the native engine and with cedar-wasm (stateful API,
 * the way authzd calls it) and compares decision, reasons and errors. Each policy is first parsed by both:
 * they must agree on whether it is valid Cedar. The call's entities for cedar-wasm are the store with the
 * overlay's entities replacing those of the same uid, which is what the overlay means natively.
 */
export function compareWorld(
  w: World,
  engineFactory: (input: ConstructorParameters<typeof NativeEngine>[0]) => NativeEngine = (i) => new NativeEngine(i),
): WorldResult {
  const policies: Record<string, string> = {};
  let refused = 0;
  for (const [i, text] of w.policies.entries()) {
    const wasmOk = cedar.checkParsePolicySet({ staticPolicies: { p: text } }).type === 'success';
    let nativeOk = true;
    try {
      engineFactory({ policies: { p: text } });
    } catch (e) {
      if (!(e instanceof NativeCompileError)) throw e;
      nativeOk = false;
    }
    if (wasmOk !== nativeOk)
      return {
        cases: 0,
        refusedPolicies: refused,
        mismatch: `policy parse disagreement (cedar-wasm ${wasmOk ? 'accepts' : 'refuses'}, native ${nativeOk ? 'accepts' : 'refuses'}):\n${text}`,
      };
    if (wasmOk) policies[`policy${i}`] = text;
    else refused++;
  }
  const id = `fuzz-${slot++ % 4}`;
  if (w.schema !== undefined) {
    const s = cedar.preparseSchema(id, w.schema as never);
    if (s.type !== 'success')
      return {
        cases: 0,
        refusedPolicies: refused,
        mismatch: `generated schema refused by cedar-wasm: ${JSON.stringify(s.errors).slice(0, 500)}`,
      };
  }
  const pp = cedar.preparsePolicySet(id, { staticPolicies: policies });
  if (pp.type !== 'success')
    return {
      cases: 0,
      refusedPolicies: refused,
      mismatch: `policy set refused by cedar-wasm: ${JSON.stringify(pp.errors).slice(0, 500)}`,
    };
  let engine: NativeEngine | undefined;
  let compileError: string | undefined;
  try {
    engine = engineFactory({ policies, schema: w.schema, entities: w.entities });
  } catch (e) {
    if (!(e instanceof NativeCompileError)) throw e;
    compileError = e.message;
  }
  let cases = 0;
  for (const [k, req] of w.requests.entries()) {
    const overlaid = new Set(req.overlay.map((e) => `${e.uid.type}\u0000${e.uid.id}`));
    const entities = [...w.entities.filter((e) => !overlaid.has(`${e.uid.type}\u0000${e.uid.id}`)), ...req.overlay];
    const answer = cedar.statefulIsAuthorized({
      principal: req.principal,
      action: req.action,
      resource: req.resource,
      context: req.context as never,
      entities: entities as never,
      preparsedPolicySetId: id,
      ...(w.schema !== undefined ? { preparsedSchemaName: id, validateRequest: req.validateRequest } : {}),
    });
    const wasm: Outcome =
      answer.type === 'failure'
        ? { invalid: true }
        : {
            decision: answer.response.decision,
            reason: [...answer.response.diagnostics.reason].sort(),
            errors: answer.response.diagnostics.errors.map((e) => e.policyId).sort(),
          };
    const native: Outcome =
      engine === undefined
        ? { invalid: true }
        : fromNative(engine.isAuthorized(req, { overlay: req.overlay, validateRequest: req.validateRequest }));
    cases++;
    if (JSON.stringify(wasm) !== JSON.stringify(native)) {
      const wasmDetail =
        answer.type === 'failure'
          ? answer.errors.map((e) => e.message)
          : answer.response.diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`);
      const nativeDetail =
        engine === undefined
          ? [compileError]
          : (() => {
              const a = engine.isAuthorized(req, { overlay: req.overlay, validateRequest: req.validateRequest });
              return a.type === 'invalid' ? a.errors : a.errors.map((e) => `${e.policyId}: ${e.message}`);
            })();
      return {
        cases,
        refusedPolicies: refused,
        mismatch: [
          `seed ${w.seed}, request ${k}: cedar-wasm ${JSON.stringify(wasm)} vs native ${JSON.stringify(native)}`,
          `cedar-wasm: ${JSON.stringify(wasmDetail)}`,
          `native: ${JSON.stringify(nativeDetail)}`,
          `request: ${JSON.stringify(req)}`,
          ...Object.entries(policies).map(([pid, t]) => `${pid}: ${t}`),
        ].join('\n'),
      };
    }
  }
  return { cases, refusedPolicies: refused, mismatch: undefined };
}
