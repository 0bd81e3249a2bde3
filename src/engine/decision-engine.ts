import type { CedarCall } from '../contract/cedar-call.js';
import type { PolicyModel } from '../policy/compile-policy-model.js';

/** A policy model prepared by an engine: whatever the engine needs beside the model itself. */
export interface PreparedSet {
  readonly model: PolicyModel;
}

/** What an engine answers for one request, in Cedar's terms. */
export type EngineAnswer =
  | {
      readonly kind: 'decision';
      readonly allow: boolean;
      /** Cedar's "reason": the policies that determined the decision. */
      readonly determining: readonly string[];
      readonly errored: readonly { readonly policyId: string; readonly message: string }[];
    }
  /** Cedar refused the request itself, e.g. it does not conform to the schema. */
  | { readonly kind: 'invalid'; readonly messages: readonly string[] }
  /** More entities are reachable from the request than policies.maxRequestEntities: not evaluated. */
  | { readonly kind: 'too_many_entities'; readonly limit: number };

/**
 * The seam between authzd and a Cedar evaluator (cedar-wasm today, a native one next): prepare a compiled
 * policy model once per activation, evaluate Cedar requests against it and the model's entity store, retire
 * it when no request uses it. A second engine is one new folder under engine/ implementing this; the
 * differential tests compare every engine with cedar-wasm over the whole store.
 */
export interface DecisionEngine<S extends PreparedSet = PreparedSet> {
  /** The engine's name, for logs, metrics and `policies.engine`. */
  readonly name: string;
  /** Prepares (parses, indexes, warms) `model`; throws on failure. */
  prepare(model: PolicyModel): S;
  /** The same, yielding to the event loop between steps so checks keep being answered meanwhile. */
  prepareAsync(model: PolicyModel): Promise<S>;
  /** Decides `call` against `set`; never throws for a request it cannot decide (see EngineAnswer). */
  authorize(set: S, call: CedarCall): EngineAnswer;
  /** Frees a set that no request uses any more. */
  retire(set: S): void;
}
