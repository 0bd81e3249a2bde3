import type { PolicyModel } from '../policy/compile-policy-model.js';
import type { DecisionEngine, PreparedSet } from './decision-engine.js';

interface Slot<S> {
  readonly set: S;
  refs: number;
  retired: boolean;
}

/**
 * Holds the active policy set and swaps it atomically. A request acquires the set once at its start and
 * uses it to the end, so it sees one consistent version (routes, entities, policies) even if an
 * activation lands mid-request; the old set is freed when its last request releases it.
 */
export class PolicyStore<S extends PreparedSet = PreparedSet> {
  readonly #engine: DecisionEngine<S>;
  #active: Slot<S> | undefined;
  readonly #slots = new Map<S, Slot<S>>();

  constructor(engine: DecisionEngine<S>) {
    this.#engine = engine;
  }

  get version(): string | undefined {
    return this.#active?.set.model.version;
  }

  get model(): PolicyModel | undefined {
    return this.#active?.set.model;
  }

  /** Prepares and warms `model`, then makes it the active set. Throws (keeping the old set) on failure. */
  activate(model: PolicyModel): void {
    this.#install(this.#engine.prepare(model));
  }

  /** The same, without holding the event loop for more than one preparation step at a time. */
  async activateAsync(model: PolicyModel): Promise<void> {
    this.#install(await this.#engine.prepareAsync(model));
  }

  #install(set: S): void {
    const slot: Slot<S> = { set, refs: 0, retired: false };
    this.#slots.set(set, slot);
    const previous = this.#active;
    this.#active = slot;
    if (previous !== undefined) {
      previous.retired = true;
      this.#maybeFree(previous);
    }
  }

  acquire(): S | undefined {
    const slot = this.#active;
    if (slot === undefined) return undefined;
    slot.refs++;
    return slot.set;
  }

  release(set: S): void {
    const slot = this.#slots.get(set);
    if (slot === undefined) return;
    slot.refs--;
    this.#maybeFree(slot);
  }

  #maybeFree(slot: Slot<S>): void {
    if (!slot.retired || slot.refs > 0) return;
    this.#slots.delete(slot.set);
    this.#engine.retire(slot.set);
  }
}
