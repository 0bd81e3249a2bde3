import type { CedarCall } from '../../contract/cedar-call.js';
import type { PolicyModel } from '../../policy/compile-policy-model.js';
import type { DecisionEngine, EngineAnswer, PreparedSet } from '../decision-engine.js';
import type { EngineVerifier } from './engine-verifier.js';

/**
 * An engine whose decisions are sampled for shadow verification (engine-verifier.ts): it decides exactly
 * as `engine` does, and hands a sample of calls with their answers to the verifier.
 */
export class VerifiedEngine<S extends PreparedSet> implements DecisionEngine<S> {
  readonly name: string;
  readonly #engine: DecisionEngine<S>;
  readonly #verifier: EngineVerifier;
  /** The verifier's number for each prepared set. */
  readonly #numbers = new WeakMap<S, number>();

  constructor(engine: DecisionEngine<S>, verifier: EngineVerifier) {
    this.#engine = engine;
    this.#verifier = verifier;
    this.name = engine.name;
  }

  prepare(model: PolicyModel): S {
    const set = this.#engine.prepare(model);
    this.#numbers.set(set, this.#verifier.load(model));
    return set;
  }

  async prepareAsync(model: PolicyModel): Promise<S> {
    const set = await this.#engine.prepareAsync(model);
    this.#numbers.set(set, this.#verifier.load(model));
    return set;
  }

  authorize(set: S, call: CedarCall): EngineAnswer {
    const answer = this.#engine.authorize(set, call);
    const n = this.#numbers.get(set);
    if (n !== undefined) this.#verifier.offer(n, set.model.version, call, answer);
    return answer;
  }

  retire(set: S): void {
    this.#engine.retire(set);
    const n = this.#numbers.get(set);
    if (n !== undefined) this.#verifier.retire(n);
  }
}
