import type { EngineAnswer } from '../decision-engine.js';

/** How a decision compares with cedar-wasm's answer to the same call. */
export type Comparison = 'agree' | 'disagree' | 'inconclusive';

/**
 * Equal as Cedar defines an answer: the same decision, the same determining policies and the same
 * erroring policies (as sets: Cedar promises no order). Two refusals of the request agree whatever their
 * wording; an oracle that did not evaluate (too many entities) settles nothing.
 */
export function compareAnswers(decided: EngineAnswer, oracle: EngineAnswer): Comparison {
  if (oracle.kind === 'too_many_entities' || decided.kind === 'too_many_entities') return 'inconclusive';
  if (decided.kind !== oracle.kind) return 'disagree';
  if (decided.kind === 'invalid' || oracle.kind === 'invalid') return 'agree';
  if (decided.allow !== oracle.allow) return 'disagree';
  if (!sameSet(decided.determining, oracle.determining)) return 'disagree';
  const errored = (a: EngineAnswer & { kind: 'decision' }) => a.errored.map((e) => e.policyId);
  return sameSet(errored(decided), errored(oracle)) ? 'agree' : 'disagree';
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const seen = new Set(a);
  return seen.size === new Set(b).size && b.every((x) => seen.has(x));
}
