import { gzipSync } from 'node:zlib';

import { generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import { buildBundle } from '../../../src/bundle/build-bundle.js';
import { inspectBundle } from '../../../src/bundle/inspect-bundle.js';
import { readBundleArchive } from '../../../src/bundle/read-bundle-archive.js';
import { DEFAULT_BUNDLE_LIMITS } from '../../../src/bundle/verify-bundle.js';
import { rawTar } from '../../helpers/raw-tar.js';

let bytes: Uint8Array;
beforeAll(async () => {
  const { privateKey } = await generateKeyPair('EdDSA');
  bytes = await buildBundle(
    new Map([
      ['a.cedar', 'permit(principal, action, resource);'],
      ['b.cedar', 'forbid(principal, action, resource);'],
    ]),
    {
      signingKey: privateKey,
      kid: 'k1',
      alg: 'EdDSA',
      revision: 7,
      scope: 'authzd',
    },
  );
});

async function repack(edit: (entries: { name: string; data: Buffer }[]) => { name: string; data: Buffer | string }[]) {
  const archive = await readBundleArchive(bytes, DEFAULT_BUNDLE_LIMITS);
  if (!archive.ok) throw new Error(archive.detail);
  return gzipSync(rawTar(edit([...archive.entries].map(([name, data]) => ({ name, data })))));
}

describe('inspectBundle', () => {
  it('reports the manifest, the claimed signer and each file against the signed list', async () => {
    const tampered = await repack((entries) => [
      ...entries
        .filter((e) => e.name !== 'b.cedar')
        .map((e) =>
          e.name === 'a.cedar' ? { name: e.name, data: 'permit(principal, action, resource) when { true };' } : e,
        ),
      { name: 'extra.cedar', data: '' },
    ]);
    const result = await inspectBundle(tampered);
    if (!result.ok) throw new Error(result.detail);
    const { manifest, signature, files, missing } = result.inspection;
    expect(manifest).toMatchObject({ revision: 7, scope: 'authzd', modelVersion: 1 });
    expect(signature).toMatchObject({
      count: 1,
      header: { alg: 'EdDSA', kid: 'k1', typ: 'authzd-bundle+jws' },
      scope: 'authzd',
      revision: 7,
    });
    const byName = Object.fromEntries(files.map((f) => [f.name, f]));
    expect(byName['.manifest'].signedSha256).toBe(byName['.manifest'].sha256);
    expect(byName['a.cedar'].signedSha256).not.toBe(byName['a.cedar'].sha256);
    expect(byName['extra.cedar']).toMatchObject({ size: 0, signedSha256: undefined });
    expect(missing).toEqual(['b.cedar']);
  });

  it('reports an unsigned bundle without failing', async () => {
    const result = await inspectBundle(await repack((entries) => entries.filter((e) => e.name !== '.signatures.json')));
    expect(result.ok && result.inspection.signature).toEqual({
      count: 0,
      problem: '.signatures.json is missing: the bundle is unsigned',
    });
  });

  it('applies the archive limits and entry rules', async () => {
    expect(await inspectBundle(bytes, { maxCompressedBytes: 10 })).toMatchObject({
      ok: false,
      reason: 'bundle_too_large',
    });
    const symlink = gzipSync(rawTar([{ name: 'x.cedar', type: '2', linkname: '/etc/shadow' }]));
    expect(await inspectBundle(symlink)).toMatchObject({ ok: false, reason: 'bundle_entry_forbidden' });
  });
});
