// What a sidecar restarted on its bundle cache directory believes: the cached bundle is verified again with
// the keys trusted now, so a bundle signed by a key removed from the trusted set, or altered on disk, is
// refused at start (the sidecar stays not ready rather than serving it), and the cached revision becomes the
// floor that refuses replays of older bundles. Real sidecars in-process, a real cache directory, a bundle
// server on loopback.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildBundle } from '../../src/bundle/build-bundle.js';
import { DEFAULT_SCOPE } from '../../src/bundle/bundle-format.js';
import { generateSigningKeys, readSigningKey } from '../../src/bundle/bundle-keys.js';
import { readBundleArchive } from '../../src/bundle/read-bundle-archive.js';
import { DEFAULT_BUNDLE_LIMITS } from '../../src/bundle/verify-bundle.js';
import { startBundleServer, type TestBundleServer } from '../helpers/bundle-server.js';
import { createTestIssuer, type TestIssuer } from '../helpers/issuer.js';
import { examplePolicyFiles } from '../helpers/policy-files.js';
import { rawTar } from '../helpers/raw-tar.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

type Keys = Awaited<ReturnType<typeof generateSigningKeys>>;
type Sidecar = Awaited<ReturnType<typeof startTestAuthzd>>;

let issuer: TestIssuer;
let origin: TestBundleServer;
let cacheDir: string;
let oldKeys: Keys;
let newKeys: Keys;

beforeAll(async () => {
  issuer = await createTestIssuer();
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-bundle-restart-'));
  cacheDir = path.join(dir, 'cache');
  oldKeys = await generateSigningKeys(path.join(dir, 'old'), { alg: 'ES256', kid: 'cp-old' });
  newKeys = await generateSigningKeys(path.join(dir, 'new'), { alg: 'EdDSA', kid: 'cp-new' });
  origin = await startBundleServer();
});
afterAll(async () => {
  await origin?.close();
});

async function sign(keys: Keys, revision: number, kid = keys.kid) {
  const { key, alg } = await readSigningKey(keys.privateKeyFile);
  return buildBundle(examplePolicyFiles(), { signingKey: key, alg, kid, revision, scope: DEFAULT_SCOPE });
}

function start(trusted: Keys[]): Promise<Sidecar> {
  return startTestAuthzd(issuer, {
    bundle: {
      url: origin.url,
      publicKeys: trusted.map((k) => ({ file: k.publicKeyFile, kid: k.kid })),
      cacheDir,
      pollWaitSeconds: 5,
      minBackoffMs: 20,
      maxBackoffMs: 100,
    },
  });
}

async function failures(sidecar: Sidecar, reason: string): Promise<number> {
  const m = new RegExp(`authzd_bundle_failures_total\\{stage="verify",reason="${reason}"\\} (\\d+)`).exec(
    await sidecar.metricsText(),
  );
  return Number(m?.[1] ?? 0);
}

async function expectRefused(sidecar: Sidecar, bytes: Uint8Array, reason: string, version: string) {
  const before = await failures(sidecar, reason);
  origin.serve(bytes);
  await until(`a ${reason} failure`, async () => ((await failures(sidecar, reason)) > before ? true : undefined));
  expect(sidecar.app.store.version).toBe(version);
  const token = await issuer.sign({ sub: 'alice' });
  const response = await sidecar.client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
  expect(response.http_response).toBe('ok_response');
}

async function expectNotServing(sidecar: Sidecar) {
  expect(sidecar.app.store.version).toBeUndefined();
  expect((await fetch(`http://127.0.0.1:${sidecar.app.adminPort}/readyz`)).status).toBe(503);
  const token = await issuer.sign({ sub: 'alice' });
  await expect(sidecar.client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }))).rejects.toMatchObject({
    code: grpc.status.UNAVAILABLE,
    details: 'policy_unavailable',
  });
}

describe('a sidecar restarted on its bundle cache', () => {
  it('refuses at start a cached bundle signed by a key removed from the trusted set, then follows the new key', async () => {
    const first = await start([oldKeys]);
    try {
      origin.serve(await sign(oldKeys, 10));
      await until('revision 10', () => (first.app.store.version === '10' ? true : undefined));
      await until('the cache file', () => (existsSync(path.join(cacheDir, 'bundle.tar.gz')) ? true : undefined));
    } finally {
      await first.stop();
    }

    // The rotation is finished: only the new key is trusted, and the control plane is down.
    origin.fail();
    const second = await start([newKeys]);
    try {
      await expectNotServing(second);
      expect(await failures(second, 'bundle_key_unknown')).toBe(1);
      expect(second.logLines.some((l) => l.reason === 'bundle_key_unknown' && /cached bundle/.test(l.msg))).toBe(true);

      origin.serve(await sign(newKeys, 11));
      await until('revision 11', () => (second.app.store.version === '11' ? true : undefined));
      expect((await fetch(`http://127.0.0.1:${second.app.adminPort}/readyz`)).status).toBe(200);

      // The old key's bundles stay refused, however new their revision.
      await expectRefused(second, await sign(oldKeys, 12), 'bundle_key_unknown', '11');
      // A validly signed older revision is a replay.
      await expectRefused(second, await sign(newKeys, 9), 'bundle_rollback', '11');
      // ES256 made by the old key, under the kid trusted as EdDSA.
      await expectRefused(second, await sign(oldKeys, 13, 'cp-new'), 'bundle_signature_invalid', '11');
    } finally {
      await second.stop();
    }
  });

  it('starts from the cached revision and refuses a replay of an older, validly signed bundle', async () => {
    origin.serve(await sign(newKeys, 10));
    const third = await start([newKeys]);
    try {
      expect(third.app.store.version).toBe('11');
      await until('a rollback failure', async () =>
        (await failures(third, 'bundle_rollback')) > 0 ? true : undefined,
      );
      expect(third.app.store.version).toBe('11');
    } finally {
      await third.stop();
    }
  });

  it('refuses at start a cached bundle altered on disk, or cut short, and waits for a good one', async () => {
    const file = path.join(cacheDir, 'bundle.tar.gz');
    const cached = readFileSync(file);
    const archive = await readBundleArchive(cached, DEFAULT_BUNDLE_LIMITS);
    if (!archive.ok) throw new Error(archive.detail);
    const entries = [...archive.entries].map(([name, data]) => ({
      name,
      data: name === 'accounts.cedar' ? Buffer.from('permit(principal, action, resource);') : data,
    }));
    origin.fail();
    for (const [bytes, reason] of [
      [gzipSync(rawTar(entries)), 'bundle_hash_mismatch'],
      [cached.subarray(0, cached.length >> 1), 'bundle_corrupt'],
    ] as const) {
      writeFileSync(file, bytes);
      const sidecar = await start([newKeys]);
      try {
        await expectNotServing(sidecar);
        expect(await failures(sidecar, reason)).toBe(1);
      } finally {
        await sidecar.stop();
      }
    }
    const sidecar = await start([newKeys]);
    try {
      origin.serve(await sign(newKeys, 14));
      await until('revision 14', () => (sidecar.app.store.version === '14' ? true : undefined));
      // The good bundle replaced the damaged copy on disk.
      await until('the cache rewritten', () =>
        JSON.parse(readFileSync(path.join(cacheDir, 'bundle.json'), 'utf8')).revision === 14 ? true : undefined,
      );
      expect((await readBundleArchive(readFileSync(file), DEFAULT_BUNDLE_LIMITS)).ok).toBe(true);
    } finally {
      await sidecar.stop();
    }
  });
});
