import { decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import type { Config, IssuerConfig } from '../config/config-schema.js';
import type { TokenReason } from '../check/reasons.js';
import { createIssuerKeySet, type IssuerKeySet, type KeySetDeps } from './issuer-key-set.js';
import { translateJoseError } from './translate-jose-error.js';

export interface VerifiedToken {
  readonly claims: JWTPayload & { readonly sub: string; readonly exp: number; readonly iss: string };
  readonly issuer: IssuerConfig;
}

export type VerifyResult =
  | { readonly ok: true; readonly token: VerifiedToken }
  | { readonly ok: false; readonly reason: TokenReason | 'jwks_unavailable' };

/** Verifies compact JWS tokens against the configured issuers: signature first, then claims. */
export class TokenVerifier {
  readonly #issuers = new Map<string, { config: IssuerConfig; keySet: IssuerKeySet }>();
  readonly #tolerance: number;
  readonly #now: () => number;

  constructor(tokens: Config['tokens'], deps: KeySetDeps) {
    this.#tolerance = tokens.clockToleranceSeconds;
    this.#now = deps.now;
    for (const issuer of tokens.issuers) {
      this.#issuers.set(issuer.issuer, { config: issuer, keySet: createIssuerKeySet(issuer, deps) });
    }
  }

  get issuerCount(): number {
    return this.#issuers.size;
  }

  /** `token` must already be in strict compact form (see extractBearer). */
  async verify(token: string): Promise<VerifyResult> {
    // The unverified iss only selects which issuer's keys and rules to apply; jwtVerify then requires it.
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return { ok: false, reason: 'token_malformed' };
    }
    const entry = typeof iss === 'string' ? this.#issuers.get(iss) : undefined;
    if (entry === undefined) return { ok: false, reason: 'token_issuer_unknown' };
    const { config, keySet } = entry;
    const nowMs = this.#now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet.getKey, {
        issuer: config.issuer,
        audience: config.audiences,
        algorithms: config.algorithms,
        clockTolerance: this.#tolerance,
        currentDate: new Date(nowMs),
        requiredClaims: ['exp'],
        ...(config.requiredType !== undefined ? { typ: config.requiredType } : {}),
      }));
    } catch (err) {
      return { ok: false, reason: translateJoseError(err) };
    }
    // jose checks iat only when maxTokenAge is set; a token minted in the future is a clock or forgery problem.
    if (payload.iat !== undefined && payload.iat > nowMs / 1000 + this.#tolerance) {
      return { ok: false, reason: 'token_issued_in_future' };
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) return { ok: false, reason: 'token_claims_invalid' };
    return { ok: true, token: { claims: payload as VerifiedToken['claims'], issuer: config } };
  }

  close(): void {
    for (const { keySet } of this.#issuers.values()) keySet.close();
  }
}
