import type { PolicyModel } from '../../policy/compile-policy-model.js';
import { EntityStore } from '../../policy/entity-store.js';
import { decodeEntities, decodeModelParts, type ModelParts, restoreModel } from '../../policy/model-parts.js';
import { CedarWasmEngine, type PreparedPolicySet } from '../cedar-wasm/cedar-wasm-engine.js';
import type { FromVerifier, ToVerifier } from './verify-messages.js';

/** Policy sets kept at most: the active one and the one it replaced, whose requests may still be sampled. */
const KEEP = 2;

/**
 * The verifier's side: the policy sets it was sent, prepared in cedar-wasm without policy slicing (every
 * request sees the whole set; entities are those reachable from the request, which issue 11's property
 * tests hold equal to the whole store), and cedar-wasm's answer to each sampled call.
 */
export class OracleSets {
  readonly #engine: CedarWasmEngine;
  readonly #loading = new Map<
    number,
    { parts: ModelParts | undefined; entities: ReturnType<typeof EntityStore.restoring> }
  >();
  readonly #sets = new Map<number, PreparedPolicySet>();

  constructor(options: { readonly validateRequests: boolean; readonly maxRequestEntities: number }) {
    this.#engine = new CedarWasmEngine({ ...options, slicing: false });
  }

  /** Handles one message; answers the ones that ask for an answer. */
  handle(message: ToVerifier): FromVerifier | undefined {
    switch (message.type) {
      case 'model':
        this.#loading.set(message.set, {
          parts: decodeModelParts(message.json),
          entities: EntityStore.restoring(),
        });
        return undefined;
      case 'entities':
        this.#loading.get(message.set)?.entities.add(decodeEntities(message.json));
        return undefined;
      case 'loaded': {
        const loading = this.#loading.get(message.set);
        this.#loading.delete(message.set);
        if (loading?.parts === undefined) return undefined;
        try {
          this.#install(message.set, restoreModel(loading.parts, loading.entities.done()));
        } catch (err) {
          return { type: 'load-failed', set: message.set, message: (err as Error).message };
        }
        return undefined;
      }
      case 'retire': {
        this.#loading.delete(message.set);
        const set = this.#sets.get(message.set);
        if (set !== undefined) {
          this.#sets.delete(message.set);
          this.#engine.retire(set);
        }
        return undefined;
      }
      case 'verify': {
        const set = this.#sets.get(message.set);
        if (set === undefined) return { type: 'unknown-set', id: message.id };
        try {
          return { type: 'answer', id: message.id, answer: this.#engine.authorize(set, message.call) };
        } catch (err) {
          return { type: 'failed', id: message.id, message: (err as Error).message };
        }
      }
    }
  }

  #install(id: number, model: PolicyModel): void {
    this.#sets.set(id, this.#engine.prepare(model));
    // Oldest first (Map order): past KEEP, the oldest sets go, whatever the serving thread said.
    for (const [other, set] of this.#sets) {
      if (this.#sets.size <= KEEP) break;
      if (other === id) continue;
      this.#sets.delete(other);
      this.#engine.retire(set);
    }
  }
}
