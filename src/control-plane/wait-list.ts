export type WakeReason = 'changed' | 'timeout' | 'closing';

interface Waiter {
  readonly bucket: number;
  readonly wake: (reason: WakeReason) => void;
}

export interface WaitListOptions {
  /** Resolution of timeouts: a wait ends at most this much after its deadline. */
  readonly tickMs?: number;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  /** Called with the number of waiters whenever it changes (the long-poll gauge). */
  readonly onSize?: (size: number) => void;
}

/**
 * The parked long-poll requests of one feed. A change wakes every waiter at once; timeouts are swept by
 * one shared timer that runs only while someone waits, with deadlines grouped into tick-sized buckets,
 * so ten thousand waiters cost one timer and a sweep touches only the waiters that are due.
 */
export class WaitList {
  readonly #tickMs: number;
  readonly #now: () => number;
  readonly #onSize: ((size: number) => void) | undefined;
  readonly #waiters = new Set<Waiter>();
  readonly #buckets = new Map<number, Set<Waiter>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: WaitListOptions = {}) {
    this.#tickMs = options.tickMs ?? 250;
    this.#now = options.now ?? Date.now;
    this.#onSize = options.onSize;
  }

  get size(): number {
    return this.#waiters.size;
  }

  /**
   * Parks a waiter until `wakeAll` or its deadline (epoch ms). `wake` is called exactly once, unless the
   * returned cancel function (for a client that went away) runs first.
   */
  add(deadlineMs: number, wake: (reason: WakeReason) => void): () => void {
    const waiter: Waiter = { bucket: Math.ceil(deadlineMs / this.#tickMs), wake };
    this.#waiters.add(waiter);
    let bucket = this.#buckets.get(waiter.bucket);
    if (bucket === undefined) this.#buckets.set(waiter.bucket, (bucket = new Set()));
    bucket.add(waiter);
    this.#timer ??= setInterval(() => this.#sweep(), this.#tickMs).unref();
    this.#onSize?.(this.#waiters.size);
    return () => {
      if (this.#remove(waiter)) this.#sizeChanged();
    };
  }

  /** Wakes every waiter (`changed` after a publication, `closing` at shutdown). */
  wakeAll(reason: Exclude<WakeReason, 'timeout'>): void {
    if (this.#waiters.size === 0) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    this.#buckets.clear();
    this.#sizeChanged();
    // Waiters may park again from inside wake (a revocation waiter whose feed did not move); they join
    // the fresh list, not this round.
    for (const waiter of waiters) waiter.wake(reason);
  }

  #sweep(): void {
    const due = Math.floor(this.#now() / this.#tickMs);
    const expired: Waiter[] = [];
    for (const [key, bucket] of this.#buckets) {
      if (key > due) continue;
      this.#buckets.delete(key);
      for (const waiter of bucket) {
        this.#waiters.delete(waiter);
        expired.push(waiter);
      }
    }
    if (expired.length === 0) return;
    this.#sizeChanged();
    for (const waiter of expired) waiter.wake('timeout');
  }

  #remove(waiter: Waiter): boolean {
    if (!this.#waiters.delete(waiter)) return false;
    const bucket = this.#buckets.get(waiter.bucket);
    bucket?.delete(waiter);
    if (bucket?.size === 0) this.#buckets.delete(waiter.bucket);
    return true;
  }

  #sizeChanged(): void {
    if (this.#waiters.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    this.#onSize?.(this.#waiters.size);
  }
}
