import { withinDeadline } from '../contract/call-context.js';
import { extractBearer } from '../token/extract-bearer.js';
import type { TokenVerifier, VerifiedToken, VerifyResult } from '../token/token-verifier.js';
import type { Authentication, Authenticator } from './authenticator.js';

export interface JwtAuthenticatorOptions {
  /** The request header carrying the credential (lower case) and its scheme, with the token size cap. */
  readonly header: string;
  readonly scheme: string;
  readonly maxBytes: number;
  readonly verifier: TokenVerifier;
  /** Live revocations, checked for every token after its signature (cached tokens included). */
  readonly revocations?: { isRevoked(claims: VerifiedToken['claims'], nowSeconds: number): boolean };
}

/**
 * Bearer JWTs (RFC 6750) as an identity source: the token from the configured header, verified (signature
 * first, then claims; a cached verification answers synchronously), then checked against revocations. No
 * bearer token in the header: not this source's request.
 */
export function jwtAuthenticator(options: JwtAuthenticatorOptions): Authenticator {
  const { verifier, revocations } = options;
  const settle = (verified: VerifyResult, nowMs: number): Authentication => {
    if (!verified.ok) {
      if (verified.reason === 'jwks_unavailable')
        return { ok: false, error: 'jwks_unavailable', detail: verified.detail };
      return { ok: false, reason: verified.reason, tokenPresented: true, issuer: undefined };
    }
    const issuer = verified.token.issuer.issuer;
    if (revocations?.isRevoked(verified.token.claims, Math.floor(nowMs / 1000)))
      return { ok: false, reason: 'token_revoked', tokenPresented: true, issuer };
    return { ok: true, subject: { kind: 'user', token: verified.token }, issuer };
  };
  return {
    authenticate(facts, ctx) {
      const bearer = extractBearer(facts.http.header(options.header), options);
      if ('reason' in bearer)
        return bearer.reason === 'token_missing'
          ? undefined
          : { ok: false, reason: bearer.reason, tokenPresented: true, issuer: undefined };
      const pending = verifier.verify(bearer.token);
      // A cold token may wait for its issuer's key set; that wait ends at the call's deadline.
      if (pending instanceof Promise)
        return withinDeadline(pending, ctx, 'verifying the token').then((v) => settle(v, ctx.nowMs));
      return settle(pending, ctx.nowMs);
    },
  };
}
