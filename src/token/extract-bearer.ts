import type { TokenReason } from '../contract/reasons.js';

// RFC 7515 §7.1 compact serialization with unpadded base64url parts. jose on Node 20 also accepts padding,
// whitespace and non-canonical trailing bits, so one signature could appear under many strings; only this
// form (with canonical trailing bits, see canonicalParts) is let through, which keeps token strings
// canonical for the token cache and the audit log.
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
  if (!COMPACT_JWS.test(token) || !canonicalParts(token)) return { reason: 'token_malformed' };
  return { token };
}

/**
 * RFC 4648 §3.5: in a canonical encoding the bits past the last full byte are zero, and no part leaves a
 * single character over (which encodes no byte at all). Decoders ignore those bits, so without this check
 * flipping them in the signature gives another string that still verifies (and is another cache key).
 */
function canonicalParts(token: string): boolean {
  let start = 0;
  for (;;) {
    const dot = token.indexOf('.', start);
    const end = dot === -1 ? token.length : dot;
    const rest = (end - start) % 4;
    if (rest === 1) return false;
    if (rest !== 0 && (sextet(token.charCodeAt(end - 1)) & (rest === 2 ? 0x0f : 0x03)) !== 0) return false;
    if (dot === -1) return true;
    start = dot + 1;
  }
}

/** The 6-bit value of a base64url character (the caller has checked the alphabet). */
function sextet(code: number): number {
  if (code >= 0x61) return code - 0x61 + 26; // a-z
  if (code >= 0x41) return code === 0x5f ? 63 : code - 0x41; // A-Z, _
  if (code >= 0x30) return code - 0x30 + 52; // 0-9
  return 62; // -
}
