// Signing keys and trusted public keys as PEM files: PKCS#8 for the private key that signs bundles, SPKI for
// the public keys a verifier trusts. Every mistake (wrong file, wrong PEM type, an unsupported key) is a
// ConfigError naming the file and what to do.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import {
  calculateJwkThumbprint,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importPKCS8,
  importSPKI,
} from 'jose';

import { ConfigError } from '../config/config-error.js';
import { placeholderSecretProblem } from '../config/placeholder-secret-problem.js';
import { isSmallOrderEd25519Key } from '../util/is-small-order-ed25519.js';
import { makeDir } from '../util/make-dir.js';
import { BUNDLE_ALGORITHMS, type BundleAlgorithm, KID_PATTERN } from './bundle-format.js';
import { type BundleKey, keyAlgorithm } from './key-algorithm.js';
import type { TrustedKey } from './verify-bundle.js';

export const SIGNING_KEY_FILE = 'signing-key.pem';
export const PUBLIC_KEY_FILE = 'public-key.pem';

const SUPPORTED = 'use a P-256 (ES256) or Ed25519 (EdDSA) key, e.g. from `authzd keys generate`';

export async function readSigningKey(pemFile: string): Promise<{ key: BundleKey; alg: BundleAlgorithm }> {
  const pem = await readPem(pemFile);
  const placeholder = placeholderSecretProblem(pem, 'the signing key', pemFile, 'e.g. from `authzd keys generate`');
  if (placeholder !== undefined) throw new ConfigError([placeholder]);
  if (!pem.includes('-----BEGIN PRIVATE KEY-----')) {
    const hint = pem.includes('-----BEGIN PUBLIC KEY-----')
      ? 'it holds a public key; bundles are signed with the private key'
      : pem.includes('PRIVATE KEY-----')
        ? 'it is not an unencrypted PKCS#8 key; convert it with `openssl pkcs8 -topk8 -nocrypt`'
        : 'it holds no "BEGIN PRIVATE KEY" PEM block';
    throw new ConfigError([`${pemFile}: not a PKCS#8 private key: ${hint}`]);
  }
  const alg = inferAlgorithm(pemFile, () => createPrivateKey(pem));
  try {
    return { key: await importPKCS8(pem, alg), alg };
  } catch (err) {
    throw new ConfigError([`${pemFile}: cannot import the private key: ${(err as Error).message}`]);
  }
}

export async function readPublicKey(pemFile: string, kid?: string): Promise<TrustedKey> {
  const pem = await readPem(pemFile);
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
    const hint = pem.includes('PRIVATE KEY-----')
      ? 'it holds a private key; give verifiers the public key only (public-key.pem)'
      : 'it holds no "BEGIN PUBLIC KEY" (SPKI) PEM block';
    throw new ConfigError([`${pemFile}: not an SPKI public key: ${hint}`]);
  }
  if (kid !== undefined && !KID_PATTERN.test(kid))
    throw new ConfigError([
      `${pemFile}: kid ${JSON.stringify(kid)} must be 1-256 printable ASCII characters without spaces`,
    ]);
  const alg = inferAlgorithm(pemFile, () => createPublicKey(pem));
  let key;
  try {
    key = await importSPKI(pem, alg, { extractable: true });
  } catch (err) {
    throw new ConfigError([`${pemFile}: cannot import the public key: ${(err as Error).message}`]);
  }
  if (isSmallOrderEd25519Key(key))
    throw new ConfigError([
      `${pemFile}: a small-order Ed25519 point, not a usable key: anybody could sign bundles it accepts`,
    ]);
  return { kid: kid ?? (await thumbprint(key)), key, alg };
}

export async function generateSigningKeys(
  outDir: string,
  options: { alg: BundleAlgorithm; kid?: string },
): Promise<{ privateKeyFile: string; publicKeyFile: string; kid: string }> {
  if (!BUNDLE_ALGORITHMS.includes(options.alg))
    throw new ConfigError([`alg ${JSON.stringify(options.alg)}: use ES256 or EdDSA`]);
  if (options.kid !== undefined && !KID_PATTERN.test(options.kid)) {
    throw new ConfigError([
      `kid ${JSON.stringify(options.kid)} must be 1-256 printable ASCII characters without spaces`,
    ]);
  }
  const { privateKey, publicKey } = await generateKeyPair(options.alg, { extractable: true });
  const kid = options.kid ?? (await thumbprint(publicKey));
  const privateKeyFile = path.join(outDir, SIGNING_KEY_FILE);
  const publicKeyFile = path.join(outDir, PUBLIC_KEY_FILE);
  try {
    await makeDir(outDir, 0o700);
    for (const file of [privateKeyFile, publicKeyFile]) {
      if (await exists(file)) throw Object.assign(new Error('exists'), { code: 'EEXIST', path: file });
    }
    // 'wx' refuses to overwrite: replacing a signing key by accident would orphan every verifier that trusts it.
    await writeFile(privateKeyFile, await exportPKCS8(privateKey), { mode: 0o600, flag: 'wx' });
    await writeFile(publicKeyFile, await exportSPKI(publicKey), { mode: 0o644, flag: 'wx' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const problem =
      e.code === 'EEXIST'
        ? `${e.path ?? outDir} already exists; refusing to overwrite a key`
        : `${outDir}: ${e.message}`;
    throw new ConfigError([problem]);
  }
  return { privateKeyFile, publicKeyFile, kid };
}

/** The RFC 7638 JWK thumbprint (SHA-256), the default kid: derived from the key, so it cannot collide by accident. */
async function thumbprint(publicKey: BundleKey): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(publicKey));
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function readPem(pemFile: string): Promise<string> {
  try {
    return await readFile(pemFile, 'utf8');
  } catch (err) {
    throw new ConfigError([
      `${pemFile}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    ]);
  }
}

function inferAlgorithm(pemFile: string, parse: () => BundleKey): BundleAlgorithm {
  let key: BundleKey;
  try {
    key = parse();
  } catch {
    throw new ConfigError([`${pemFile}: the PEM block does not hold a valid key`]);
  }
  const alg = keyAlgorithm(key);
  if (alg === undefined) {
    const type =
      'asymmetricKeyType' in key
        ? `${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''}`
        : 'unknown';
    throw new ConfigError([`${pemFile}: unsupported key type (${type}); ${SUPPORTED}`]);
  }
  return alg;
}
