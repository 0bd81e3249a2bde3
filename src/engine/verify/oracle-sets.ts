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
    string,
    { parts: ModelParts | undefined; entities: ReturnType<typeof EntityStore.restoring> }
  >();
  readonly #sets = new Map<string, PreparedPolicySet>();

  constructor(options: { readonly validateRequests: boolean; readonly maxRequestEntities: number }) {
    this.#engine = new CedarWasmEngine({ ...options, slicing: false });
  }

  /** Handles one message; answers the ones that ask for an answer. */
  handle(message: ToVerifier): FromVerifier | undefined {
    switch (message.type) {
      case 'model':
        this.#loading.set(message.version, {
          parts: decodeModelParts(message.json),
          entities: EntityStore.restoring(),
        });
        return undefined;
      case 'entities':
        this.#loading.get(message.version)?.entities.add(decodeEntities(message.json));
        return undefined;
      case 'loaded': {
        const loading = this.#loading.get(message.version);
        this.#loading.delete(message.version);
        if (loading?.parts === undefined) return undefined;
        try {
          this.#install(restoreModel(loading.parts, loading.entities.done()));
        } catch (err) {
          return { type: 'load-failed', version: message.version, message: (err as Error).message };
        }
        return undefined;
      }
      case 'retire': {
        this.#loading.delete(message.version);
        const set = this.#sets.get(message.version);
        if (set !== undefined) {
          this.#sets.delete(message.version);
          this.#engine.retire(set);
        }
        return undefined;
      }
      case 'verify': {
        const set = this.#sets.get(message.version);
        if (set === undefined) return { type: 'unknown-version', id: message.id };
        try {
          return { type: 'answer', id: message.id, answer: this.#engine.authorize(set, message.call) };
        } catch (err) {
          return { type: 'failed', id: message.id, message: (err as Error).message };
        }
      }
    }
  }

  #install(model: PolicyModel): void {
    const previous = this.#sets.get(model.version);
    this.#sets.set(model.version, this.#engine.prepare(model));
    if (previous !== undefined) this.#engine.retire(previous);
    for (const [version, set] of this.#sets) {
      if (this.#sets.size <= KEEP) break;
      if (version === model.version) continue;
      this.#sets.delete(version);
      this.#engine.retire(set);
    }
  }
}
