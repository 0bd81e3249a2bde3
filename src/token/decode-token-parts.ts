import { hasDuplicateMembers } from './has-duplicate-members.js';

export interface TokenParts {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
}

// fatal: invalid UTF-8 is an error, not U+FFFD. ignoreBOM: a byte order mark stays and makes JSON.parse
// fail, where jose's decoder would strip it; neither is valid in a JOSE header or claims set (RFC 8259 §8.1).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The header and claims of a compact JWS, decoded strictly and not yet trusted: both must be UTF-8 JSON
 * objects without duplicate member names, and the token must not announce a nested JWT (`cty: JWT`,
 * RFC 7519 §5.2), which authzd does not unwrap. Undefined when any of that fails (token_malformed).
 * Runs only for tokens the verified-token cache does not answer, before the signature is checked; the
 * token is already known to be three canonical base64url parts (extractBearer).
 */
export function decodeTokenParts(token: string): TokenParts | undefined {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  const header = decodeObject(token.slice(0, first));
  const claims = header === undefined ? undefined : decodeObject(token.slice(first + 1, second));
  if (header === undefined || claims === undefined) return undefined;
  if (typeof header.cty === 'string' && /^(application\/)?jwt$/i.test(header.cty)) return undefined;
  return { header, claims };
}

function decodeObject(part: string): Record<string, unknown> | undefined {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(Buffer.from(part, 'base64url'));
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return hasDuplicateMembers(text) ? undefined : (value as Record<string, unknown>);
}
