import { exportJWK, generateKeyPair, generateSecret } from 'jose';
import { describe, expect, it } from 'vitest';

import { keySetProblems, PRIVATE_KEY_MEMBERS } from '../../../src/token/key-set-problems.js';

describe('keySetProblems', () => {
  it('accepts a set of public keys', async () => {
    const ec = await generateKeyPair('ES256', { extractable: true });
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ed = await generateKeyPair('EdDSA', { extractable: true });
    const keys = await Promise.all(
      [ec, rsa, ed].map(async (k, i) => ({ ...(await exportJWK(k.publicKey)), kid: `k${i}` })),
    );
    expect(keySetProblems({ keys })).toEqual([]);
  });

  it('refuses what is not a key set, and an empty one', () => {
    expect(keySetProblems(null)).toEqual(['expected a JWKS, {"keys": [...]}']);
    expect(keySetProblems({ keys: {} })).toEqual(['expected a JWKS, {"keys": [...]}']);
    expect(keySetProblems([])).toEqual(['expected a JWKS, {"keys": [...]}']);
    expect(keySetProblems({ keys: [] })).toEqual(['the key set is empty ({"keys": []}): no token could be verified']);
    expect(keySetProblems({ keys: ['x', { kid: 'no-kty' }] })).toEqual([
      'keys[0]: not a JSON object',
      'keys[1] (kid "no-kty"): no "kty"',
    ]);
  });

  it('refuses private RSA, EC and OKP keys and symmetric keys, naming the members', async () => {
    const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey);
    const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    const ed = await exportJWK((await generateKeyPair('EdDSA', { extractable: true })).privateKey);
    const oct = await exportJWK(await generateSecret('HS256', { extractable: true }));
    const publicEc = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
    expect(keySetProblems({ keys: [publicEc, { ...rsa, kid: 'r' }, ec, ed, oct] })).toEqual([
      'keys[1] (kid "r"): has private key members (d, p, q, dp, dq, qi); a JWKS must hold public keys only',
      'keys[2]: has private key members (d); a JWKS must hold public keys only',
      'keys[3]: has private key members (d); a JWKS must hold public keys only',
      'keys[4]: has private key members (k); a JWKS must hold public keys only',
    ]);
    // Every member named in the list is refused on its own, whatever the key type claims.
    for (const member of PRIVATE_KEY_MEMBERS)
      expect(keySetProblems({ keys: [{ ...publicEc, [member]: 'AA' }] }), member).toHaveLength(1);
  });
});
