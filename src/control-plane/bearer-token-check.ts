import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks an Authorization header against configured bearer tokens. Both sides are hashed first, so
 * timingSafeEqual always compares equal-length digests and neither the length nor any prefix of a token
 * leaks through timing. Every configured token is compared, whichever matches, for the same reason.
 */
export function bearerTokenCheck(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  const digests = tokens.map(digest);
  return (authorization) => {
    if (authorization === undefined) return false;
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (match === null) return false;
    const presented = digest(match[1]!);
    let ok = false;
    for (const expected of digests) ok = timingSafeEqual(presented, expected) || ok;
    return ok;
  };
}

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();
