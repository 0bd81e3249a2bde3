import { gunzipSync } from 'node:zlib';

import { generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import { buildBundle, BundleBuildError } from '../../../src/bundle/build-bundle.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let es: KeyPair;
let ed: KeyPair;
beforeAll(async () => {
  [es, ed] = await Promise.all([generateKeyPair('ES256'), generateKeyPair('EdDSA')]);
});

const base = () => ({
  signingKey: es.privateKey,
  kid: 'k1',
  alg: 'ES256' as const,
  revision: 1,
  scope: 'authzd',
  created: new Date('2025-01-01T00:00:00Z'),
});

async function problems(
  files: Map<string, string>,
  options: Partial<Parameters<typeof buildBundle>[1]>,
): Promise<readonly string[]> {
  const err = await buildBundle(files, { ...base(), ...options }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BundleBuildError);
  return (err as BundleBuildError).problems;
}

describe('buildBundle', () => {
  it('refuses file names a bundle may not carry, listing every one', async () => {
    const files = new Map([
      ['notes.txt', 'x'],
      ['.manifest', '{}'],
      ['.signatures.json', '{}'],
      ['dir/x.cedar', 'x'],
      ['../x.cedar', 'x'],
      ['/abs.cedar', 'x'],
      ['ok.cedar', 'permit(principal, action, resource);'],
      [`${'a'.repeat(100)}.cedar`, 'x'],
    ]);
    expect(await problems(files, {})).toEqual([
      '"notes.txt" is not a policy file (*.cedar, schema.cedarschema, entities.json, routes.yaml)',
      '".manifest" is not a policy file (*.cedar, schema.cedarschema, entities.json, routes.yaml)',
      '".signatures.json" is not a policy file (*.cedar, schema.cedarschema, entities.json, routes.yaml)',
      '"dir/x.cedar" contains a path separator (bundles are flat)',
      '"../x.cedar" contains ".."',
      '"/abs.cedar" has an absolute path',
      `"${'a'.repeat(100)}.cedar": names are limited to 100 bytes (ustar)`,
    ]);
  });

  it('refuses bad revisions, scopes, kids, metadata, dates and keys', async () => {
    const files = examplePolicyFiles();
    expect(await problems(files, { revision: 0 })).toEqual(['revision 0 must be a positive safe integer']);
    expect(await problems(files, { revision: 1.5 })).toEqual(['revision 1.5 must be a positive safe integer']);
    expect(await problems(files, { revision: 2 ** 53 })).toEqual([
      `revision ${2 ** 53} must be a positive safe integer`,
    ]);
    expect(await problems(files, { scope: '' })).toEqual([
      'scope "" must be 1-256 printable ASCII characters without spaces',
    ]);
    expect(await problems(files, { kid: 'a b' })).toEqual([
      'kid "a b" must be 1-256 printable ASCII characters without spaces',
    ]);
    expect(await problems(files, { metadata: { __proto__x: 'y' } })).toEqual([
      'metadata key "__proto__x" must match ^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$',
    ]);
    expect(await problems(files, { created: new Date(Number.NaN) })).toEqual(['created is not a valid date']);
    expect(await problems(files, { alg: 'EdDSA' })).toEqual(['the signing key is not an Ed25519 key (alg EdDSA)']);
    expect(await problems(files, { signingKey: ed.publicKey, alg: 'EdDSA' })).toEqual([
      'the signing key must be a private key, got a public key',
    ]);
    expect(await problems(new Map(), {})).toEqual(['no policy files']);
    expect(await problems(new Map([['a.cedar', '\uD800']]), {})).toEqual([
      '"a.cedar": the text is not well-formed Unicode',
    ]);
  });

  it('writes ustar headers with fixed mode, owner and mtime', async () => {
    const tar = gunzipSync(await buildBundle(new Map([['a.cedar', 'permit(principal, action, resource);']]), base()));
    const header = tar.subarray(0, 512);
    expect(header.toString('latin1', 0, 16).replace(/\0+$/, '')).toBe('.signatures.json');
    expect(header.toString('latin1', 100, 108)).toBe('0000644\0');
    expect(header.toString('latin1', 108, 124)).toBe('0000000\u00000000000\u0000');
    expect(header.toString('latin1', 136, 148)).toBe('00000000000\0');
    expect(header.toString('latin1', 156, 157)).toBe('0');
    expect(header.toString('latin1', 257, 265)).toBe('ustar\u000000');
    expect(header.subarray(265, 329).every((b) => b === 0)).toBe(true); // no user or group names
    expect(tar.length % 512).toBe(0);
    expect(tar.subarray(tar.length - 1024).every((b) => b === 0)).toBe(true);
  });
});
