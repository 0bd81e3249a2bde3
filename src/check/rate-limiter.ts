import { LRUCache } from 'lru-cache';

export interface Rate {
  readonly rps: number;
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * Token buckets, in memory, per key ("principal:<class>:<id>", "tenant:<class>:<id>"). Limits are per
 * sidecar: with N sidecars (or --workers N) a principal can make N times the rate overall; a global limit
 * needs Envoy's rate-limit service (docs/risk-tiers.md). Memory is bounded: the least recently seen keys
 * are forgotten, which at worst gives a forgotten key a full bucket again.
 */
export class RateLimiter {
  readonly #buckets: LRUCache<string, Bucket>;

  constructor(maxKeys: number) {
    this.#buckets = new LRUCache({ max: maxKeys });
  }

  /** Takes one token. Returns 0 when allowed, else the seconds until a token is available. */
  take(key: string, rate: Rate, nowMs: number): number {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: rate.burst, updatedMs: nowMs };
      this.#buckets.set(key, bucket);
    } else {
      const elapsed = Math.max(0, nowMs - bucket.updatedMs) / 1000;
      bucket.tokens = Math.min(rate.burst, bucket.tokens + elapsed * rate.rps);
      bucket.updatedMs = nowMs;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rate.rps));
  }

  get size(): number {
    return this.#buckets.size;
  }
}
