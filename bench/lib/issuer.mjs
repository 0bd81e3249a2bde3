// A throwaway token issuer for the benchmark, like `authzd demo`'s: a fresh ES256 key whose public half is
// written as a JWKS file the server is told to trust (--issuer/--audience/--jwks).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export const ISSUER = 'https://issuer.bench.authzd.local';
export const AUDIENCE = 'bank-api';

export async function createIssuer(dir) {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = `bench-${Date.now().toString(36)}`;
  const jwksFile = path.join(dir, 'jwks.json');
  writeFileSync(
    jwksFile,
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }),
  );

  /** claims: sub plus any others; expSeconds: absolute exp (default: two hours from now). */
  const sign = ({ sub, expSeconds, ...claims }) => {
    const nowS = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(sub)
      .setIssuedAt(Math.min(nowS, expSeconds ?? nowS))
      .setExpirationTime(expSeconds ?? nowS + 7200)
      .sign(privateKey);
  };

  /** Signs many tokens, a batch at a time (WebCrypto signs off the main thread, so batches use both cores). */
  const signMany = async (claimsList, batch = 256) => {
    const out = new Array(claimsList.length);
    for (let i = 0; i < claimsList.length; i += batch) {
      const part = await Promise.all(claimsList.slice(i, i + batch).map(sign));
      for (let j = 0; j < part.length; j++) out[i + j] = part[j];
    }
    return out;
  };
  return { issuer: ISSUER, audience: AUDIENCE, jwksFile, sign, signMany };
}
