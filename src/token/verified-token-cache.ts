import { hash } from 'node:crypto';

import { LRUCache } from 'lru-cache';

import type { TokenReason } from '../contract/reasons.js';
import type { VerifiedToken } from './token-verifier.js';

export interface TokenCacheOptions {
  /** Most entries held (positive and negative together). */
  readonly maxEntries: number;
  /** Most bytes held, counting the token's claims and the key. */
  readonly maxBytes: number;
  /** How long a rejection is remembered (it is keyed to the key-set generation as well). */
  readonly negativeTtlMs: number;
}

type Entry =
  | { readonly ok: true; readonly token: VerifiedToken; readonly generation: number }
  | {
      readonly ok: false;
      readonly reason: TokenReason;
      readonly issuer: string | undefined;
      readonly generation: number;
      readonly until: number;
    };

/**
 * Verified tokens by a hash of the whole token string. Never by signature alone: a signature-keyed cache
 * lets a tampered header or payload ride on a cached signature (Cerbos removed such a cache in v0.53).
 * Token strings are canonical here (extractBearer admits only strict unpadded base64url), so one token has
 * one key. An entry is bound to its issuer's key-set generation: when the keys change, it no longer
 * counts. Expiry is re-checked on every hit by the caller; revocation is checked outside the cache.
 *
 * Rejections are cached too, but only those that stay true as time passes (bad signature, unknown issuer,
 * expired...), never "not yet valid" or an unavailable key set, and only briefly: a flood of one forged
 * token then costs a hash, not a signature verification.
 */
export class VerifiedTokenCache {
  readonly #cache: LRUCache<string, Entry>;
  readonly #negativeTtlMs: number;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(options: TokenCacheOptions) {
    this.#negativeTtlMs = options.negativeTtlMs;
    this.#cache = new LRUCache<string, Entry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: (entry, key) => key.length + (entry.ok ? 256 + JSON.stringify(entry.token.claims).length : 64),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  static key(token: string): string {
    // The one-shot hash: no Hash object per call, about half the cost on this path (every Check call).
    return hash('sha256', token, 'base64url');
  }

  get size(): number {
    return this.#cache.size;
  }

  /** Bytes held as sizeCalculation counts them, and the bound. */
  get bytes(): number {
    return this.#cache.calculatedSize;
  }

  get maxBytes(): number {
    return this.#cache.maxSize;
  }

  get(key: string, generationOf: (issuer: string | undefined) => number, now: number): Entry | undefined {
    const entry = this.#cache.get(key);
    if (entry === undefined || (!entry.ok && now >= entry.until)) {
      this.misses++;
      return undefined;
    }
    const issuer = entry.ok ? entry.token.issuer.issuer : entry.issuer;
    if (entry.generation !== generationOf(issuer)) {
      this.#cache.delete(key);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry;
  }

  setVerified(key: string, token: VerifiedToken, generation: number): void {
    this.#cache.set(key, { ok: true, token, generation });
  }

  setRejected(key: string, reason: TokenReason, issuer: string | undefined, generation: number, now: number): void {
    if (!CACHEABLE_REJECTIONS.has(reason) || this.#negativeTtlMs === 0) return;
    this.#cache.set(key, { ok: false, reason, issuer, generation, until: now + this.#negativeTtlMs });
  }

  clear(): void {
    this.#cache.clear();
  }
}

/** Rejections that cannot turn into acceptance by waiting (for a given key set). */
const CACHEABLE_REJECTIONS: ReadonlySet<TokenReason> = new Set<TokenReason>([
  'token_malformed',
  'token_issuer_unknown',
  'token_algorithm_not_allowed',
  'token_key_unknown',
  'token_signature_invalid',
  'token_expired',
  'token_audience_invalid',
  'token_type_invalid',
  'token_claims_invalid',
]);
