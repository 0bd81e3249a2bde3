export type StoreTopic = 'bundle' | 'revocations';

/**
 * "Something changed in the shared store": a new pointer or new revocations, written by this replica or
 * another. A store drives it (the directory with fs.watch and a periodic re-read, PostgreSQL with
 * LISTEN/NOTIFY); the publisher and the revocation log follow it by re-reading, and their own change
 * events wake the parked long polls. A signal carries no data: a missed or doubled one costs a re-read,
 * never a wrong answer.
 */
export class StoreChanges {
  readonly #listeners = new Map<StoreTopic, Set<() => void>>();

  on(topic: StoreTopic, listener: () => void): () => void {
    let set = this.#listeners.get(topic);
    if (set === undefined) this.#listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit(topic: StoreTopic): void {
    for (const listener of this.#listeners.get(topic) ?? []) listener();
  }
}
