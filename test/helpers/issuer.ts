// A test issuer: real key pairs, a JWKS file on disk, and a signer for valid and deliberately bad tokens.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { base64url, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export const ISSUER = 'https://issuer.test.authzd';
export const AUDIENCE = 'bank-api';

export interface TestIssuer {
  readonly dir: string;
  readonly jwksFile: string;
  readonly kid: string;
  sign(claims?: JWTPayload, options?: SignOptions): Promise<string>;
  /** Same claims, signed by a key the sidecar does not trust but with the trusted kid. */
  forge(claims?: JWTPayload): Promise<string>;
  /** Any header and payload, ES256-signed with the trusted key, bypassing jose's own checks. */
  signRaw(header: Record<string, unknown>, payload: Record<string, unknown> | string): Promise<string>;
}

export interface SignOptions {
  readonly expiresIn?: string | number;
  readonly header?: Record<string, unknown>;
  readonly omit?: readonly ('exp' | 'iat' | 'iss' | 'aud' | 'sub')[];
}

export async function createTestIssuer(): Promise<TestIssuer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-test-issuer-'));
  const kid = 'test-key-1';
  const trusted = await generateKeyPair('ES256', { extractable: true });
  const rogue = await generateKeyPair('ES256', { extractable: true });
  const jwksFile = path.join(dir, 'jwks.json');
  writeFileSync(
    jwksFile,
    JSON.stringify({ keys: [{ ...(await exportJWK(trusted.publicKey)), kid, alg: 'ES256', use: 'sig' }] }),
  );

  const signWith = async (key: Parameters<SignJWT['sign']>[0], claims: JWTPayload = {}, options: SignOptions = {}) => {
    const omit = new Set(options.omit ?? []);
    const jwt = new SignJWT({
      tenant: 'acme',
      roles: ['customer'],
      scope: 'accounts:read',
      ...claims,
    }).setProtectedHeader({
      alg: 'ES256',
      kid,
      typ: 'at+jwt',
      ...options.header,
    });
    if (!omit.has('iss') && claims.iss === undefined) jwt.setIssuer(ISSUER);
    if (!omit.has('aud') && claims.aud === undefined) jwt.setAudience(AUDIENCE);
    if (!omit.has('sub') && claims.sub === undefined) jwt.setSubject('alice');
    if (!omit.has('iat') && claims.iat === undefined) jwt.setIssuedAt();
    if (!omit.has('exp') && claims.exp === undefined) jwt.setExpirationTime(options.expiresIn ?? '10m');
    return jwt.sign(key);
  };
  return {
    dir,
    jwksFile,
    kid,
    sign: (claims, options) => signWith(trusted.privateKey, claims, options),
    forge: (claims) => signWith(rogue.privateKey, claims),
    async signRaw(header, payload) {
      const enc = (v: unknown) => base64url.encode(typeof v === 'string' ? v : JSON.stringify(v));
      const input = `${enc(header)}.${enc(payload)}`;
      // WebCrypto's ECDSA output is already the JWS form (r || s, RFC 7518 §3.4).
      const sig = await crypto.subtle.sign(
        { name: 'ECDSA', hash: 'SHA-256' },
        trusted.privateKey,
        new TextEncoder().encode(input),
      );
      return `${input}.${base64url.encode(new Uint8Array(sig))}`;
    },
  };
}
