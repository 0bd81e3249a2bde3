import { decodeJwt, type JWTPayload, jwtVerify } from 'jose';

import type { Config, IssuerConfig } from '../config/config-schema.js';
import type { TokenReason } from '../contract/reasons.js';
import { decodeTokenParts } from './decode-token-parts.js';
import { fastJwtVerify } from './fast-jwt-verify.js';
import { createIssuerKeySet, type IssuerKeySet, type KeySetDeps, KeySetUnavailableError } from './issuer-key-set.js';
import { translateJoseError } from './translate-jose-error.js';
import { type TokenCacheOptions, VerifiedTokenCache } from './verified-token-cache.js';

export interface VerifiedToken {
  readonly claims: JWTPayload & { readonly sub: string; readonly exp: number; readonly iss: string };
  readonly issuer: IssuerConfig;
}

export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
}

export type VerifyResult =
  | { readonly ok: true; readonly token: VerifiedToken }
  | { readonly ok: false; readonly reason: TokenReason }
  /** `detail` names the issuer, the JWKS URL and why its key set is unusable (for the log, never the client). */
  | { readonly ok: false; readonly reason: 'jwks_unavailable'; readonly detail: string };

/**
 * Verifies compact JWS tokens against the configured issuers: signature first, then claims. Results are
 * cached by token hash (VerifiedTokenCache) and concurrent verifications of the same token share one.
 */
export class TokenVerifier {
  readonly #issuers = new Map<string, { config: IssuerConfig; keySet: IssuerKeySet }>();
  readonly #tolerance: number;
  readonly #now: () => number;
  readonly #cache: VerifiedTokenCache | undefined;
  readonly #inflight = new Map<string, Promise<VerifyResult>>();
  readonly #fastSignatures: boolean;
  readonly #generationOf = (issuer: string | undefined) =>
    issuer === undefined ? 0 : (this.#issuers.get(issuer)?.keySet.generation() ?? -1);

  constructor(
    tokens: Config['tokens'],
    deps: KeySetDeps & {
      readonly cache?: TokenCacheOptions;
      /** Check signatures synchronously with node:crypto where fastJwtVerify can (default); false: jose only. */
      readonly fastSignatures?: boolean;
    },
  ) {
    this.#tolerance = tokens.clockToleranceSeconds;
    this.#fastSignatures = deps.fastSignatures ?? true;
    this.#now = deps.now;
    this.#cache =
      deps.cache !== undefined && deps.cache.maxEntries > 0 ? new VerifiedTokenCache(deps.cache) : undefined;
    for (const issuer of tokens.issuers) {
      this.#issuers.set(issuer.issuer, { config: issuer, keySet: createIssuerKeySet(issuer, deps) });
    }
  }

  get issuerCount(): number {
    return this.#issuers.size;
  }

  /** Issuers whose tokens cannot be verified now, with why: readiness is off while there is any. */
  keySetProblems(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [issuer, { keySet }] of this.#issuers) {
      const problem = keySet.problem();
      if (problem !== undefined) out.set(issuer, problem);
    }
    return out;
  }

  /** Fetches every remote key set now (start-up); resolves when each attempt has ended, whatever its result. */
  async refreshKeySets(): Promise<void> {
    await Promise.all([...this.#issuers.values()].map(({ keySet }) => keySet.refresh()));
  }

  /** Cache counters, for metrics. */
  get cacheStats(): CacheStats {
    const c = this.#cache;
    return {
      hits: c?.hits ?? 0,
      misses: c?.misses ?? 0,
      evictions: c?.evictions ?? 0,
      entries: c?.size ?? 0,
      bytes: c?.bytes ?? 0,
      maxBytes: c?.maxBytes ?? 0,
    };
  }

  /** `token` must already be in strict compact form (see extractBearer). */
  verify(token: string): Promise<VerifyResult> | VerifyResult {
    const cache = this.#cache;
    if (cache === undefined) return this.#verify(token);
    const key = VerifiedTokenCache.key(token);
    const now = this.#now();
    const hit = cache.get(key, this.#generationOf, now);
    if (hit !== undefined) {
      if (!hit.ok) return { ok: false, reason: hit.reason };
      // Still inside its lifetime? Time only moves forward, so nbf and iat cannot have become a problem.
      if (hit.token.claims.exp <= now / 1000 - this.#tolerance) return { ok: false, reason: 'token_expired' };
      return { ok: true, token: hit.token };
    }
    const pending = this.#inflight.get(key);
    if (pending !== undefined) return pending;
    const promise = this.#verify(token).then((result) => {
      this.#inflight.delete(key);
      if (result.ok) cache.setVerified(key, result.token, this.#generationOf(result.token.issuer.issuer));
      else if (result.reason !== 'jwks_unavailable') {
        const iss = unverifiedIssuer(token);
        cache.setRejected(key, result.reason, iss, this.#generationOf(iss), this.#now());
      }
      return result;
    });
    this.#inflight.set(key, promise);
    return promise;
  }

  /** Drops every cached verification (e.g. when an operator asks for it). */
  clearCache(): void {
    this.#cache?.clear();
  }

  async #verify(token: string): Promise<VerifyResult> {
    // The unverified iss only selects which issuer's keys and rules to apply; jwtVerify then requires it.
    const parts = decodeTokenParts(token);
    if (parts === undefined) return { ok: false, reason: 'token_malformed' };
    const iss = parts.claims.iss;
    const entry = typeof iss === 'string' ? this.#issuers.get(iss) : undefined;
    if (entry === undefined) return { ok: false, reason: 'token_issuer_unknown' };
    const { config, keySet } = entry;
    const nowMs = this.#now();
    let payload: JWTPayload;
    const options = {
      issuer: config.issuer,
      audience: config.audiences,
      algorithms: config.algorithms,
      clockTolerance: this.#tolerance,
      currentDate: new Date(nowMs),
      requiredClaims: ['exp'],
      ...(config.requiredType !== undefined ? { typ: config.requiredType } : {}),
    };
    try {
      const fast = this.#fastSignatures ? await fastJwtVerify(token, parts.header, keySet.getKey, options) : undefined;
      payload = fast ?? (await jwtVerify(token, keySet.getKey, options)).payload;
    } catch (err) {
      if (err instanceof KeySetUnavailableError) return { ok: false, reason: 'jwks_unavailable', detail: err.message };
      return { ok: false, reason: translateJoseError(err) as TokenReason };
    }
    // JSON has no infinity, but JSON.parse reads 1e400 as one, and jose only checks that dates are numbers:
    // an exp that never comes would keep a token (and its cache entry) valid forever.
    if (!finiteDate(payload.exp) || !finiteDate(payload.nbf) || !finiteDate(payload.iat))
      return { ok: false, reason: 'token_claims_invalid' };
    // jose checks iat only when maxTokenAge is set; a token minted in the future is a clock or forgery problem.
    if (payload.iat !== undefined && payload.iat > nowMs / 1000 + this.#tolerance) {
      return { ok: false, reason: 'token_issued_in_future' };
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0)
      return { ok: false, reason: 'token_claims_invalid' };
    return { ok: true, token: { claims: payload as VerifiedToken['claims'], issuer: config } };
  }

  close(): void {
    for (const { keySet } of this.#issuers.values()) keySet.close();
  }
}

const finiteDate = (value: number | undefined) => value === undefined || Number.isFinite(value);

function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}
