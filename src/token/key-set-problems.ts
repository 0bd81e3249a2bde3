import { createLocalJWKSet, type JSONWebKeySet } from 'jose';

/**
 * JWK members that only private or symmetric keys carry: RSA's private exponent and CRT values
 * (RFC 7518 §6.3.2), EC and OKP's private key `d` (RFC 7518 §6.2.2, RFC 8037 §2), a symmetric key's `k`
 * (RFC 7518 §6.4.1), and `priv` of the newer AKP keys. A key set with any of them is a signing key
 * published by mistake: verifying with it would work, and it tells the world how to mint tokens.
 */
export const PRIVATE_KEY_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

/**
 * Why `value` is not a key set tokens may be verified with; empty when it is one. Checked on a jwksFile
 * at start-up, on every remote JWKS before it replaces the held set, and on a persisted copy before it is
 * used. An empty set is refused too: with it every token fails as token_key_unknown, which looks like an
 * attack rather than the configuration or publishing mistake it is.
 */
export function keySetProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys))
    return ['expected a JWKS, {"keys": [...]}'];
  const keys = (value as { keys: unknown[] }).keys;
  if (keys.length === 0) return ['the key set is empty ({"keys": []}): no token could be verified'];
  const problems: string[] = [];
  for (const [index, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) {
      problems.push(`keys[${index}]: not a JSON object`);
      continue;
    }
    const jwk = key as Record<string, unknown>;
    const name =
      typeof jwk.kid === 'string' ? `keys[${index}] (kid ${JSON.stringify(jwk.kid.slice(0, 64))})` : `keys[${index}]`;
    if (typeof jwk.kty !== 'string') problems.push(`${name}: no "kty"`);
    const secret = PRIVATE_KEY_MEMBERS.filter((member) => member in jwk);
    if (secret.length > 0)
      problems.push(`${name}: has private key members (${secret.join(', ')}); a JWKS must hold public keys only`);
  }
  if (problems.length === 0) {
    try {
      createLocalJWKSet(value as JSONWebKeySet);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems;
}
