import type { TokenReason } from '../check/reasons.js';

// RFC 7515 §7.1 compact serialization with unpadded base64url parts. jose on Node 20 also accepts padding,
// whitespace and non-canonical trailing bits, so one signature could appear under many strings; only this
// form is let through, which keeps token strings canonical for the token cache and the audit log.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface BearerOptions {
  readonly scheme: string;
  readonly maxBytes: number;
}

export type BearerResult =
  | { readonly token: string }
  | { readonly reason: Extract<TokenReason, 'token_missing' | 'token_malformed' | 'token_too_large'> };

/**
 * Takes the token out of the credentials header value (RFC 6750 §2.1). A header with another scheme is
 * treated as no bearer token at all, so the client gets a plain `Bearer` challenge.
 */
export function extractBearer(headerValue: string | undefined, options: BearerOptions): BearerResult {
  if (headerValue === undefined || headerValue.length === 0) return { reason: 'token_missing' };
  // The size cap applies before any other parsing, to the whole header value.
  if (headerValue.length > options.maxBytes + options.scheme.length + 8) return { reason: 'token_too_large' };
  const space = headerValue.indexOf(' ');
  const scheme = space === -1 ? headerValue : headerValue.slice(0, space);
  if (scheme.toLowerCase() !== options.scheme.toLowerCase()) return { reason: 'token_missing' };
  const token = space === -1 ? '' : headerValue.slice(space + 1).replace(/^ +| +$/g, '');
  if (Buffer.byteLength(token) > options.maxBytes) return { reason: 'token_too_large' };
  if (!COMPACT_JWS.test(token)) return { reason: 'token_malformed' };
  return { token };
}
