import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

import type { ConfigInput } from '../config/config-schema.js';

export const TEST_ISSUER = 'https://policy-test.authzd.invalid';
export const TEST_AUDIENCE = 'authzd-policy-test';
const KID = 'policy-test';
/** Long enough for any run; exp is checked against the real clock, not a case's `time`. */
const LIFETIME_SECONDS = 3_600;

export interface ThrowawayIssuer {
  /** The `tokens` configuration trusting this issuer and nothing else. */
  readonly tokens: NonNullable<ConfigInput['tokens']>;
  /** A token carrying `claims`, with the issuer, audience and a lifetime valid now added. */
  sign(claims: JWTPayload): Promise<string>;
  /** Removes the JWKS file. Call it once the verifier is built: the key set is read when it is created. */
  removeKeyFile(): void;
}

/**
 * A fresh ES256 key whose public half only the runner's verifier trusts, so policy tests go through real
 * JWT verification (claim types and all) without any real issuer's keys.
 */
export async function createThrowawayIssuer(): Promise<ThrowawayIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-policy-test-'));
  const jwksFile = path.join(dir, 'jwks.json');
  writeFileSync(
    jwksFile,
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' }] }),
  );
  return {
    tokens: {
      issuers: [
        { issuer: TEST_ISSUER, audiences: [TEST_AUDIENCE], algorithms: ['ES256'], jwksFile, requiredType: 'at+jwt' },
      ],
    },
    async sign(claims) {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'at+jwt' })
        .setIssuer(TEST_ISSUER)
        .setAudience(TEST_AUDIENCE)
        .setExpirationTime(Math.floor(Date.now() / 1000) + LIFETIME_SECONDS);
      if (claims.iat === undefined) jwt.setIssuedAt();
      return jwt.sign(privateKey);
    },
    removeKeyFile: () => rmSync(dir, { recursive: true, force: true }),
  };
}
