import { isLiveRevocation, type RevocationEntry, type RevocationFeedPage } from '../../revocation/revocation-entry.js';

/**
 * A replica's memory of the revocation feed, the same for every store: entries by sequence number, the highest
 * number issued (`max`) and the highest number known to be compacted away (`horizon`). Pages are answered from
 * here, so parked long polls woken together cost no storage read.
 *
 * The store must only ever raise `max` to a number below which it holds every entry that was committed (a
 * complete prefix): a client told `seq: n` never asks for anything at or below n again.
 */
export class RevocationIndex {
  readonly feed: string;
  readonly #entries = new Map<number, RevocationEntry>();
  readonly #now: () => number;
  #sorted: RevocationEntry[] | undefined;
  #max = 0;
  #horizon = 0;

  constructor(feed: string, now: () => number) {
    this.feed = feed;
    this.#now = now;
  }

  get max(): number {
    return this.#max;
  }

  set max(seq: number) {
    this.#max = Math.max(this.#max, seq);
  }

  get horizon(): number {
    return this.#horizon;
  }

  set horizon(seq: number) {
    this.#horizon = Math.max(this.#horizon, seq);
  }

  get size(): number {
    return this.#entries.size;
  }

  has(seq: number): boolean {
    return this.#entries.has(seq);
  }

  seqs(): number[] {
    return [...this.#entries.keys()];
  }

  values(): IterableIterator<RevocationEntry> {
    return this.#entries.values();
  }

  set(entry: RevocationEntry): void {
    this.#entries.set(entry.seq, entry);
    this.#sorted = undefined;
  }

  delete(seq: number): boolean {
    const deleted = this.#entries.delete(seq);
    if (deleted) this.#sorted = undefined;
    return deleted;
  }

  liveCount(): number {
    const now = this.#nowSeconds();
    let n = 0;
    for (const entry of this.#entries.values()) if (isLiveRevocation(entry, now)) n++;
    return n;
  }

  /**
   * The feed from `since`: live entries newer than it, or the whole live set with `reset` when `since` is
   * 0, behind what compaction kept, ahead of this store, or counted in another feed than this one (`feed`,
   * the id the client last saw; a client of a wiped or different store).
   */
  page(since: number, feed?: string): RevocationFeedPage {
    const now = this.#nowSeconds();
    const reset =
      since === 0 || since > this.#max || since < this.#horizon || (feed !== undefined && feed !== this.feed);
    const sorted = (this.#sorted ??= [...this.#entries.values()].sort((a, b) => a.seq - b.seq));
    let start = 0;
    if (!reset) {
      let hi = sorted.length;
      while (start < hi) {
        const mid = (start + hi) >>> 1;
        if (sorted[mid]!.seq <= since) start = mid + 1;
        else hi = mid;
      }
    }
    const entries: RevocationEntry[] = [];
    for (let i = start; i < sorted.length; i++) {
      // Entries above `max` are not yet part of the feed (a store may learn of them before the prefix below).
      if (sorted[i]!.seq > this.#max) break;
      if (isLiveRevocation(sorted[i]!, now)) entries.push(sorted[i]!);
    }
    return { feed: this.feed, seq: this.#max, reset, entries };
  }

  isCurrent(since: number, feed?: string): boolean {
    return since === this.#max && (feed === undefined || feed === this.feed);
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }
}
