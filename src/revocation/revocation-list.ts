import type { RevocationEntry, RevocationFeedPage } from './revocation-entry.js';

/** The claims a revocation can match on. */
export interface RevocableClaims {
  readonly iss: string;
  readonly sub: string;
  readonly jti?: unknown;
  readonly sid?: unknown;
  readonly iat?: number | undefined;
}

/** What one apply() did: whether checks see something new, and what a reset changed. */
export interface ApplyResult {
  readonly changed: boolean;
  /** Present for a reset page: whether it came from another feed, and how many held entries it did not list. */
  readonly reset?: { readonly feedChanged: boolean; readonly kept: number };
}

/**
 * The live revocations a sidecar holds, indexed by what they match: a token's `jti`, its session (`sid`)
 * or its subject (`sub`, for tokens issued before a time). Checked on every request after the signature,
 * including for tokens answered from the verified-token cache.
 *
 * An entry is held until its own `expiresAt`, whatever the feed does afterwards: nothing in the protocol
 * withdraws a revocation early, so a reset page (the complete live set of the feed) is merged into what is
 * held rather than replacing it. A control plane that lost its data resets its feed without the entries it
 * lost; they stay in force here until they expire. Entries are told apart by what they match and until
 * when, not by sequence number, since numbers start over with a new feed. Memory is bounded by the live
 * set: entries leave when they expire (swept as time passes and on every page applied).
 */
export class RevocationList {
  readonly #byKind = {
    jti: new Map<string, RevocationEntry[]>(),
    sid: new Map<string, RevocationEntry[]>(),
    sub: new Map<string, RevocationEntry[]>(),
  };
  #seq = 0;
  #feed: string | undefined;
  #size = 0;

  /** The highest sequence number applied: the next `since`. */
  get seq(): number {
    return this.#seq;
  }

  /** The id of the feed `seq` counts in (undefined before the first page, or from a control plane without ids). */
  get feed(): string | undefined {
    return this.#feed;
  }

  get size(): number {
    return this.#size;
  }

  /** Applies one feed page. */
  apply(page: RevocationFeedPage, nowSeconds: number): ApplyResult {
    let reset: ApplyResult['reset'];
    if (page.reset) {
      const listed = new Set(page.entries.map(identity));
      let kept = 0;
      for (const entry of this.entries(nowSeconds)) if (!listed.has(identity(entry))) kept++;
      reset = { feedChanged: this.#feed !== undefined && page.feed !== undefined && page.feed !== this.#feed, kept };
    }
    let changed = false;
    for (const entry of page.entries) if (this.#add(entry, nowSeconds)) changed = true;
    this.#seq = page.reset ? page.seq : Math.max(this.#seq, page.seq);
    if (page.feed !== undefined || page.reset) this.#feed = page.feed;
    this.sweep(nowSeconds);
    return reset === undefined ? { changed } : { changed, reset };
  }

  /** Takes up a persisted list: its entries (the expired ones dropped) and its position in its feed. */
  restore(
    state: { readonly feed: string | undefined; readonly seq: number; readonly entries: readonly RevocationEntry[] },
    nowSeconds: number,
  ): void {
    for (const entry of state.entries) this.#add(entry, nowSeconds);
    this.#seq = state.seq;
    this.#feed = state.feed;
  }

  /** The live entries held, in no particular order (what is persisted). */
  entries(nowSeconds: number): RevocationEntry[] {
    const out: RevocationEntry[] = [];
    for (const map of Object.values(this.#byKind))
      for (const list of map.values()) for (const e of list) if (e.expiresAt > nowSeconds) out.push(e);
    return out;
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
    const id = identity(entry);
    if (list.some((h) => identity(h) === id)) return false;
    list.push(entry);
    map.set(entry.value, list);
    this.#size++;
    return true;
  }

  #matches(list: readonly RevocationEntry[] | undefined, claims: RevocableClaims, nowSeconds: number): boolean {
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

/** What an entry does, without its number: two entries with the same identity revoke the same tokens as long. */
function identity(e: RevocationEntry): string {
  return JSON.stringify([e.kind, e.value, e.issuer ?? null, e.issuedBefore ?? null, e.expiresAt]);
}
