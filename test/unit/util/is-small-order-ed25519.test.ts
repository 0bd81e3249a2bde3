import { createPublicKey, generateKeyPairSync, verify, webcrypto } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { isSmallOrderEd25519, isSmallOrderEd25519Key } from '../../../src/util/is-small-order-ed25519.js';

// Every encoding the module refuses, sign bit clear and set: 7 points x 2.
const LISTED = [
  '00'.repeat(32),
  `01${'00'.repeat(31)}`,
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  `ec${'ff'.repeat(30)}7f`,
  `ed${'ff'.repeat(30)}7f`,
  `ee${'ff'.repeat(30)}7f`,
].flatMap((hex) => {
  const signed = Buffer.from(hex, 'hex');
  signed[31] |= 0x80;
  return [Buffer.from(hex, 'hex'), signed];
});

const IDENTITY_R_ZERO_S = Buffer.concat([Buffer.from(`01${'00'.repeat(31)}`, 'hex'), Buffer.alloc(32)]);

describe('isSmallOrderEd25519', () => {
  it.each(LISTED.map((b) => [b.toString('hex'), b]))(
    '%s is refused, and really accepts a forged signature',
    (_hex, encoded) => {
      expect(isSmallOrderEd25519(encoded)).toBe(true);
      // Proof the entry belongs on the list: OpenSSL accepts R = identity, S = 0 for some message under this key.
      const key = createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: encoded.toString('base64url') },
        format: 'jwk',
      });
      const forgedFor = Array.from({ length: 256 }, (_, n) => Buffer.from(`message ${n}`)).find((m) =>
        verify(null, m, key, IDENTITY_R_ZERO_S),
      );
      expect(forgedFor).toBeDefined();
    },
  );

  it('accepts real keys, which never accept that forgery', () => {
    for (let i = 0; i < 50; i++) {
      const { publicKey } = generateKeyPairSync('ed25519');
      const x = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
      expect(isSmallOrderEd25519(x)).toBe(false);
      expect(verify(null, Buffer.from('message 0'), publicKey, IDENTITY_R_ZERO_S)).toBe(false);
    }
    expect(isSmallOrderEd25519(new Uint8Array(31))).toBe(false);
  });
});

describe('isSmallOrderEd25519Key', () => {
  it('reads KeyObjects and CryptoKeys, and ignores other key types and values', async () => {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: Buffer.alloc(32).toString('base64url') };
    expect(isSmallOrderEd25519Key(createPublicKey({ key: jwk, format: 'jwk' }))).toBe(true);
    const cryptoKey = await webcrypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['verify']);
    expect(isSmallOrderEd25519Key(cryptoKey)).toBe(true);
    expect(isSmallOrderEd25519Key(cryptoKey)).toBe(true); // memoised
    expect(isSmallOrderEd25519Key(generateKeyPairSync('ed25519').publicKey)).toBe(false);
    expect(isSmallOrderEd25519Key(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toBe(false);
    expect(isSmallOrderEd25519Key(new Uint8Array(32))).toBe(false);
    expect(isSmallOrderEd25519Key(undefined)).toBe(false);
  });
});
