import { LRUCache } from 'lru-cache';

interface Window {
  start: number;
  current: number;
  previous: number;
}

/**
 * Requests per principal over a sliding window, estimated from two fixed windows (the previous one
 * weighted by how much of it still overlaps). It feeds `context.risk.recentRequests`, a signal policies
 * may use. Per sidecar, bounded by an LRU of principals.
 */
export class RequestRate {
  readonly #windows: LRUCache<string, Window>;
  readonly #windowMs: number;

  constructor(windowSeconds: number, maxKeys: number) {
    this.#windowMs = windowSeconds * 1000;
    this.#windows = new LRUCache({ max: maxKeys });
  }

  /** Counts one request for `key` and returns the estimate including it. */
  hit(key: string, nowMs: number): number {
    const size = this.#windowMs;
    const start = nowMs - (nowMs % size);
    let w = this.#windows.get(key);
    if (w === undefined) {
      w = { start, current: 0, previous: 0 };
      this.#windows.set(key, w);
    } else if (w.start !== start) {
      w.previous = w.start === start - size ? w.current : 0;
      w.current = 0;
      w.start = start;
    }
    w.current++;
    const overlap = 1 - (nowMs - start) / size;
    return Math.round(w.current + w.previous * overlap);
  }
}
