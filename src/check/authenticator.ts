import type { CallContext } from '../contract/call-context.js';
import type { TokenReason } from '../contract/reasons.js';
import type { VerifiedToken } from '../token/token-verifier.js';
import type { HttpFacts, RequestFacts } from './extract-request.js';

/** Who is asking: the user of a verified token, or (tokenless, on routes that allow it) a workload. */
export type Subject =
  { readonly kind: 'user'; readonly token: VerifiedToken } | { readonly kind: 'workload'; readonly id: string };

/**
 * What an identity source made of a request: a subject; a denial it can name (401 with that reason); or an
 * infrastructure failure that must become a gRPC error rather than a deny (a key set that cannot be had).
 * `issuer` is for the audit event when a token named one.
 */
export type Authentication =
  | { readonly ok: true; readonly subject: Subject; readonly issuer: string | undefined }
  | {
      readonly ok: false;
      readonly reason: TokenReason;
      readonly tokenPresented: boolean;
      readonly issuer: string | undefined;
    }
  | { readonly ok: false; readonly error: 'jwks_unavailable'; readonly detail: string };

/**
 * An identity source: a bearer JWT (check/jwt-authenticator.ts), the mTLS workload identity, and later
 * others (token introspection, ...) are peers behind this. `undefined`: the request carries no credential
 * of this kind, and the next source is asked. A cached answer comes back synchronously.
 */
export interface Authenticator {
  authenticate(
    facts: RequestFacts & { readonly http: HttpFacts },
    ctx: CallContext,
    peerTrusted: boolean,
  ): Authentication | undefined | Promise<Authentication | undefined>;
}

/**
 * Tries each source in order; the first that finds a credential decides. A request with none is denied
 * `token_missing` (the HTTP challenge names a bearer token, the credential most clients are expected to send).
 */
/** Identity sources chained: always an answer, never "not mine". */
export interface AuthenticatorChain {
  authenticate(
    facts: RequestFacts & { readonly http: HttpFacts },
    ctx: CallContext,
    peerTrusted: boolean,
  ): Authentication | Promise<Authentication>;
}

export function firstAuthenticator(sources: readonly Authenticator[]): AuthenticatorChain {
  const missing: Authentication = { ok: false, reason: 'token_missing', tokenPresented: false, issuer: undefined };
  return {
    authenticate(facts, ctx, peerTrusted) {
      // Synchronous as long as every source answers synchronously (a cached token): no microtask turn.
      const from = (i: number): Authentication | Promise<Authentication> => {
        if (i === sources.length) return missing;
        const result = sources[i]!.authenticate(facts, ctx, peerTrusted);
        if (result instanceof Promise) return result.then((r) => r ?? from(i + 1));
        return result ?? from(i + 1);
      };
      return from(0);
    },
  };
}

/** The calling workload (its SPIFFE ID, see workloadIdentity) as the subject of a tokenless request. */
export function workloadAuthenticator(
  identify: (facts: RequestFacts, peerTrusted: boolean) => string | undefined,
): Authenticator {
  return {
    authenticate(facts, _ctx, peerTrusted) {
      const id = identify(facts, peerTrusted);
      return id === undefined ? undefined : { ok: true, subject: { kind: 'workload', id }, issuer: undefined };
    },
  };
}
