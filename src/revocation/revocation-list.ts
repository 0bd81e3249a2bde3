import type { RevocationEntry, RevocationFeedPage } from './revocation-entry.js';

/** The claims a revocation can match on. */
export interface RevocableClaims {
  readonly iss: string;
  readonly sub: string;
  readonly jti?: unknown;
  readonly sid?: unknown;
  readonly iat?: number | undefined;
}

interface Held {
  readonly seq: number;
  readonly issuer: string | undefined;
  readonly issuedBefore: number | undefined;
  readonly expiresAt: number;
}

/**
 * The live revocations a sidecar holds, indexed by what they match: a token's `jti`, its session (`sid`)
 * or its subject (`sub`, for tokens issued before a time). Checked on every request after the signature,
 * including for tokens answered from the verified-token cache. Memory is bounded by the live set: entries
 * leave when they expire (swept as time passes and on every page applied).
 */
export class RevocationList {
  readonly #byKind = { jti: new Map<string, Held[]>(), sid: new Map<string, Held[]>(), sub: new Map<string, Held[]>() };
  #seq = 0;
  #size = 0;

  /** The highest sequence number applied: the next `since`. */
  get seq(): number {
    return this.#seq;
  }

  get size(): number {
    return this.#size;
  }

  /** Applies one feed page; returns whether anything a check could see changed. */
  apply(page: RevocationFeedPage, nowSeconds: number): boolean {
    let changed = false;
    if (page.reset) {
      changed = this.#size > 0 || page.entries.length > 0;
      for (const map of Object.values(this.#byKind)) map.clear();
      this.#size = 0;
    }
    for (const entry of page.entries) if (this.#add(entry, nowSeconds)) changed = true;
    this.#seq = Math.max(page.reset ? 0 : this.#seq, page.seq);
    this.sweep(nowSeconds);
    return changed;
  }

  isRevoked(claims: RevocableClaims, nowSeconds: number): boolean {
    if (this.#size === 0) return false;
    return (
      (typeof claims.jti === 'string' && this.#matches(this.#byKind.jti.get(claims.jti), claims, nowSeconds)) ||
      (typeof claims.sid === 'string' && this.#matches(this.#byKind.sid.get(claims.sid), claims, nowSeconds)) ||
      this.#matches(this.#byKind.sub.get(claims.sub), claims, nowSeconds)
    );
  }

  /** Drops expired entries. */
  sweep(nowSeconds: number): void {
    for (const map of Object.values(this.#byKind)) {
      for (const [value, list] of map) {
        const live = list.filter((h) => h.expiresAt > nowSeconds);
        this.#size -= list.length - live.length;
        if (live.length === 0) map.delete(value);
        else if (live.length !== list.length) map.set(value, live);
      }
    }
  }

  #add(entry: RevocationEntry, nowSeconds: number): boolean {
    if (entry.expiresAt <= nowSeconds) return false;
    const map = this.#byKind[entry.kind];
    const list = map.get(entry.value) ?? [];
    if (list.some((h) => h.seq === entry.seq)) return false;
    list.push({ seq: entry.seq, issuer: entry.issuer, issuedBefore: entry.issuedBefore, expiresAt: entry.expiresAt });
    map.set(entry.value, list);
    this.#size++;
    return true;
  }

  #matches(list: readonly Held[] | undefined, claims: RevocableClaims, nowSeconds: number): boolean {
    if (list === undefined) return false;
    for (const held of list) {
      if (held.expiresAt <= nowSeconds) continue;
      if (held.issuer !== undefined && held.issuer !== claims.iss) continue;
      // "Issued before T": a token without iat cannot show it came later, so it is revoked too.
      if (held.issuedBefore !== undefined && claims.iat !== undefined && claims.iat >= held.issuedBefore) continue;
      return true;
    }
    return false;
  }
}
