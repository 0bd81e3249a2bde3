import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { calculateJwkThumbprint, exportJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import { buildBundle } from '../../../src/bundle/build-bundle.js';
import { generateSigningKeys, readPublicKey, readSigningKey } from '../../../src/bundle/bundle-keys.js';
import { verifyBundle } from '../../../src/bundle/verify-bundle.js';
import { ConfigError } from '../../../src/config/config-error.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-keys-'));
});

async function configProblem(promise: Promise<unknown>): Promise<string> {
  const err = await promise.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems.join('\n');
}

function pemFile(name: string, pem: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, pem);
  return file;
}

describe('generateSigningKeys', () => {
  it.each(['ES256', 'EdDSA'] as const)(
    '%s: a 0600 PKCS#8 signing key and an SPKI public key that sign and verify a bundle',
    async (alg) => {
      const out = path.join(dir, `gen-${alg}`);
      const generated = await generateSigningKeys(out, { alg });
      expect(generated.privateKeyFile).toBe(path.join(out, 'signing-key.pem'));
      expect(statSync(generated.privateKeyFile).mode & 0o777).toBe(0o600);

      const signing = await readSigningKey(generated.privateKeyFile);
      expect(signing.alg).toBe(alg);
      const trusted = await readPublicKey(generated.publicKeyFile);
      expect(trusted.alg).toBe(alg);
      // The default kid is the RFC 7638 thumbprint, the same whether taken at generation or from the PEM.
      expect(trusted.kid).toBe(generated.kid);
      expect(trusted.kid).toBe(await calculateJwkThumbprint(await exportJWK(trusted.key)));

      const bytes = await buildBundle(new Map([['a.cedar', 'permit(principal, action, resource);']]), {
        signingKey: signing.key,
        alg: signing.alg,
        kid: generated.kid,
        revision: 1,
        scope: 'authzd',
      });
      const result = await verifyBundle(bytes, { keys: [trusted], scope: 'authzd' });
      expect(result.ok && result.bundle.kid).toBe(generated.kid);
    },
  );

  it('uses a given kid, and refuses to overwrite existing keys', async () => {
    const out = path.join(dir, 'named');
    expect((await generateSigningKeys(out, { alg: 'ES256', kid: 'release-2025' })).kid).toBe('release-2025');
    expect((await readPublicKey(path.join(out, 'public-key.pem'), 'release-2025')).kid).toBe('release-2025');
    expect(await configProblem(generateSigningKeys(out, { alg: 'ES256' }))).toMatch(
      /signing-key\.pem already exists; refusing to overwrite a key/,
    );
  });
});

describe('reading keys', () => {
  it('refuses keys of other types, PEM types and files, saying what to do', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pkcs8 = (k: typeof rsa) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const spki = (k: typeof rsa) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();

    expect(await configProblem(readSigningKey(pemFile('rsa.pem', pkcs8(rsa))))).toMatch(
      /rsa\.pem: unsupported key type \(rsa\); use a P-256 \(ES256\) or Ed25519 \(EdDSA\) key/,
    );
    expect(await configProblem(readSigningKey(pemFile('p384.pem', pkcs8(p384))))).toMatch(
      /unsupported key type \(ec secp384r1\)/,
    );
    expect(
      await configProblem(
        readSigningKey(pemFile('sec1.pem', p256.privateKey.export({ type: 'sec1', format: 'pem' }).toString())),
      ),
    ).toMatch(/not a PKCS#8 private key: .*openssl pkcs8 -topk8 -nocrypt/);
    expect(await configProblem(readSigningKey(pemFile('pub-as-private.pem', spki(p256))))).toMatch(
      /it holds a public key/,
    );
    expect(await configProblem(readSigningKey(path.join(dir, 'absent.pem')))).toMatch(
      /absent\.pem: cannot read: ENOENT/,
    );
    expect(
      await configProblem(
        readSigningKey(pemFile('garbage.pem', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')),
      ),
    ).toMatch(/does not hold a valid key/);

    expect(await configProblem(readPublicKey(pemFile('rsa.pub.pem', spki(rsa))))).toMatch(
      /unsupported key type \(rsa\)/,
    );
    expect(await configProblem(readPublicKey(pemFile('private-as-public.pem', pkcs8(p256))))).toMatch(
      /it holds a private key; give verifiers the public key only/,
    );
    expect(await configProblem(readPublicKey(pemFile('p256.pub.pem', spki(p256)), 'has space'))).toMatch(
      /kid "has space" must be/,
    );
    expect((await readPublicKey(pemFile('p256b.pub.pem', spki(p256)))).alg).toBe('ES256');
    // A small-order Ed25519 point (here the all-zero encoding) would accept forged signatures.
    const smallOrder = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.alloc(32).toString('base64url') },
      format: 'jwk',
    });
    expect(
      await configProblem(
        readPublicKey(pemFile('small-order.pub.pem', smallOrder.export({ type: 'spki', format: 'pem' }).toString())),
      ),
    ).toMatch(/small-order\.pub\.pem: a small-order Ed25519 point, not a usable key/);
  });
});
