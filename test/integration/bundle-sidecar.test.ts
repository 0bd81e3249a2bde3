// The sidecar following a bundle server: a good bundle becomes active; every tampered one is rejected,
// counted by reason, and the previous revision keeps serving; the next good revision is taken.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildBundle } from '../../src/bundle/build-bundle.js';
import { DEFAULT_SCOPE } from '../../src/bundle/bundle-format.js';
import { generateSigningKeys, readSigningKey } from '../../src/bundle/bundle-keys.js';
import { readBundleArchive } from '../../src/bundle/read-bundle-archive.js';
import { DEFAULT_BUNDLE_LIMITS } from '../../src/bundle/verify-bundle.js';
import { startBundleServer, type TestBundleServer } from '../helpers/bundle-server.js';
import { createTestIssuer, type TestIssuer } from '../helpers/issuer.js';
import { examplePolicyFiles } from '../helpers/policy-files.js';
import { type RawEntry, rawTar } from '../helpers/raw-tar.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

let issuer: TestIssuer;
let keys: { privateKeyFile: string; publicKeyFile: string; kid: string };
let stranger: { privateKeyFile: string; kid: string };
let origin: TestBundleServer;
let sidecar: Awaited<ReturnType<typeof startTestAuthzd>>;

async function sign(
  revision: number,
  options: { files?: Map<string, string>; scope?: string; key?: string; kid?: string } = {},
) {
  const { key, alg } = await readSigningKey(options.key ?? keys.privateKeyFile);
  return buildBundle(options.files ?? examplePolicyFiles(), {
    signingKey: key,
    alg,
    kid: options.kid ?? keys.kid,
    revision,
    scope: options.scope ?? DEFAULT_SCOPE,
  });
}

async function entriesOf(bytes: Uint8Array): Promise<RawEntry[]> {
  const archive = await readBundleArchive(bytes, DEFAULT_BUNDLE_LIMITS);
  if (!archive.ok) throw new Error(archive.detail);
  return [...archive.entries].map(([name, data]) => ({ name, data }));
}

async function failures(stage: string, reason: string): Promise<number> {
  const m = new RegExp(`authzd_bundle_failures_total\\{stage="${stage}",reason="${reason}"\\} (\\d+)`).exec(
    await sidecar.metricsText(),
  );
  return Number(m?.[1] ?? 0);
}

async function decide() {
  const token = await issuer.sign({ sub: 'alice' });
  const response = await sidecar.client.check(httpCheckRequest({ path: '/accounts/acc-1001', token }));
  const meta = Object.fromEntries(
    Object.entries<any>(response.dynamic_metadata.fields).map(([k, v]) => [k, v.stringValue]),
  );
  return { allowed: response.http_response === 'ok_response', version: meta.policy_version as string };
}

beforeAll(async () => {
  issuer = await createTestIssuer();
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-bundle-sidecar-'));
  keys = await generateSigningKeys(path.join(dir, 'trusted'), { alg: 'ES256', kid: 'cp-1' });
  stranger = await generateSigningKeys(path.join(dir, 'stranger'), { alg: 'ES256', kid: 'cp-1' });
  origin = await startBundleServer();
  origin.serve(await sign(5));
  sidecar = await startTestAuthzd(issuer, {
    bundle: {
      url: origin.url,
      publicKeys: [{ file: keys.publicKeyFile, kid: keys.kid }],
      pollWaitSeconds: 5,
      minBackoffMs: 20,
      maxBackoffMs: 100,
    },
  });
  await until('revision 5', async () => (sidecar.app.store.version === '5' ? true : undefined));
});

afterAll(async () => {
  await sidecar?.stop();
  await origin?.close();
});

describe('a sidecar on bundles', () => {
  it('serves revision 5 and reports it', async () => {
    expect(await decide()).toEqual({ allowed: true, version: '5' });
    expect(await sidecar.metricsText()).toMatch(/authzd_bundle_revision 5/);
    expect((await fetch(`http://127.0.0.1:${sidecar.app.adminPort}/readyz`)).status).toBe(200);
  });

  // Each tampered bundle is built from a valid revision-6 bundle (or signed wrongly), served, and must be
  // refused with its code while revision 5 keeps answering.
  const corpus: [string, string, () => Promise<Uint8Array>][] = [
    [
      'a modified policy file',
      'bundle_hash_mismatch',
      async () => {
        const entries = await entriesOf(await sign(6));
        const i = entries.findIndex((e) => e.name === 'accounts.cedar');
        entries[i] = { name: 'accounts.cedar', data: 'permit(principal, action, resource);' };
        return gzipSync(rawTar(entries));
      },
    ],
    [
      'an added file',
      'bundle_files_mismatch',
      async () => {
        const entries = await entriesOf(await sign(6));
        entries.splice(1, 0, { name: 'backdoor.cedar', data: 'permit(principal, action, resource);' });
        return gzipSync(rawTar(entries));
      },
    ],
    [
      'a removed file',
      'bundle_files_mismatch',
      async () => gzipSync(rawTar((await entriesOf(await sign(6))).filter((e) => e.name !== 'tenants.cedar'))),
    ],
    [
      'a stripped signature',
      'bundle_unsigned',
      async () => gzipSync(rawTar((await entriesOf(await sign(6))).filter((e) => e.name !== '.signatures.json'))),
    ],
    [
      'a signature by an unknown key (same kid)',
      'bundle_signature_invalid',
      () => sign(6, { key: stranger.privateKeyFile }),
    ],
    ['a signature under an unknown kid', 'bundle_key_unknown', () => sign(6, { kid: 'cp-9' })],
    ['a wrong scope', 'bundle_scope_mismatch', () => sign(6, { scope: 'payments' })],
    ['an older revision (a replayed bundle)', 'bundle_rollback', () => sign(4)],
    [
      'a path-traversal entry',
      'bundle_entry_forbidden',
      async () => gzipSync(rawTar([{ name: '../escape.cedar', data: 'x' }, ...(await entriesOf(await sign(6)))])),
    ],
    [
      'a truncated archive',
      'bundle_corrupt',
      async () => {
        const good = await sign(6);
        return good.subarray(0, Math.floor(good.length / 2));
      },
    ],
    [
      'a valid signature over a different file set (re-signed payload list edited)',
      'bundle_signature_invalid',
      async () => {
        const entries = await entriesOf(await sign(6));
        const sig = JSON.parse(
          Buffer.from(entries.find((e) => e.name === '.signatures.json')!.data as Uint8Array).toString(),
        );
        const [h, p, s] = (sig.signatures[0] as string).split('.');
        const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
        payload.files = payload.files.filter((f: { name: string }) => f.name !== 'tenants.cedar');
        const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
        const out = entries.filter((e) => e.name !== 'tenants.cedar' && e.name !== '.signatures.json');
        out.push({ name: '.signatures.json', data: JSON.stringify({ signatures: [forged] }) });
        return gzipSync(rawTar(out));
      },
    ],
    // Beyond tampering (test/unit/bundle/bundle-attack-corpus.test.ts has these and more at verify level).
    [
      'a symlink entry',
      'bundle_entry_forbidden',
      async () =>
        gzipSync(
          rawTar([...(await entriesOf(await sign(6))), { name: 'evil.cedar', type: '2', linkname: '/etc/passwd' }]),
        ),
    ],
    [
      'a hard-link entry',
      'bundle_entry_forbidden',
      async () =>
        gzipSync(
          rawTar([...(await entriesOf(await sign(6))), { name: 'evil.cedar', type: '1', linkname: 'accounts.cedar' }]),
        ),
    ],
    [
      'a duplicate entry',
      'bundle_entry_forbidden',
      async () =>
        gzipSync(
          rawTar([
            ...(await entriesOf(await sign(6))),
            { name: 'accounts.cedar', data: 'permit(principal, action, resource);' },
          ]),
        ),
    ],
    [
      'a deep directory tree',
      'bundle_entry_forbidden',
      async () =>
        gzipSync(
          rawTar([{ name: 'a/b/c/d/e/f/g/h/i/j/k/l/m/x.cedar', data: 'x' }, ...(await entriesOf(await sign(6)))]),
        ),
    ],
    [
      'a manifest whose revision disagrees with the signed one (re-signed)',
      'bundle_manifest_invalid',
      async () => {
        const entries = (await entriesOf(await sign(6))).filter((e) => e.name !== '.signatures.json');
        const manifest = entries.find((e) => e.name === '.manifest')!;
        manifest.data = JSON.stringify({
          ...JSON.parse(Buffer.from(manifest.data as Uint8Array).toString()),
          revision: 99,
        });
        const sha256 = (d: RawEntry['data']) =>
          createHash('sha256')
            .update(d as Uint8Array)
            .digest('hex');
        const payload = {
          files: entries.map((e) => ({ name: e.name, hash: sha256(e.data), algorithm: 'SHA-256' })),
          scope: DEFAULT_SCOPE,
          revision: 6,
        };
        const { key } = await readSigningKey(keys.privateKeyFile);
        const jws = await new CompactSign(Buffer.from(JSON.stringify(payload)))
          .setProtectedHeader({ alg: 'ES256', kid: keys.kid, typ: 'authzd-bundle+jws' })
          .sign(key);
        return gzipSync(
          rawTar([{ name: '.signatures.json', data: JSON.stringify({ signatures: [jws] }) }, ...entries]),
        );
      },
    ],
    [
      'a second gzip member smuggling an entry after the archive',
      'bundle_corrupt',
      async () =>
        Buffer.concat([
          await sign(6),
          gzipSync(rawTar([{ name: 'backdoor.cedar', data: 'permit(principal, action, resource);' }])),
        ]),
    ],
    [
      'a zip bomb whose tar header declares 0 bytes (70 MiB of zeros behind it)',
      'bundle_too_large',
      async () => {
        const tar = rawTar(await entriesOf(await sign(6)));
        return gzipSync(
          Buffer.concat([
            tar.subarray(0, tar.length - 1024),
            rawTar([{ name: 'x.cedar' }], { end: false }),
            Buffer.alloc(70 * 1024 * 1024),
          ]),
        );
      },
    ],
  ];

  it('refuses an oversized bundle while downloading it (fetch too_large) and keeps serving revision 5', async () => {
    const before = await failures('fetch', 'too_large');
    origin.serve(new Uint8Array(17 * 1024 * 1024));
    await until('a too_large failure', async () =>
      (await failures('fetch', 'too_large')) > before ? true : undefined,
    );
    expect(await decide()).toEqual({ allowed: true, version: '5' });
  });

  for (const [name, reason, make] of corpus) {
    it(`rejects ${name} (${reason}) and keeps serving revision 5`, async () => {
      const before = await failures('verify', reason);
      origin.serve(await make());
      await until(`a ${reason} failure`, async () => ((await failures('verify', reason)) > before ? true : undefined));
      expect(sidecar.app.store.version).toBe('5');
      expect(await decide()).toEqual({ allowed: true, version: '5' });
    });
  }

  it('activates the next good revision, changing decisions', async () => {
    const closed = examplePolicyFiles({
      'maintenance.cedar': '@id("maintenance") forbid(principal, action == Bank::Action::"readAccount", resource);',
    });
    origin.serve(await sign(6, { files: closed }));
    await until('revision 6', async () => (sidecar.app.store.version === '6' ? true : undefined));
    expect(await decide()).toEqual({ allowed: false, version: '6' });
    expect(await sidecar.metricsText()).toMatch(/authzd_bundle_revision 6/);
  });

  it('a signed bundle whose policies do not compile is refused at activation', async () => {
    const before = await failures('activate', 'policy_invalid');
    origin.serve(
      await sign(7, { files: examplePolicyFiles({ 'broken.cedar': 'permit(principal, action, resource) when {' }) }),
    );
    await until('an activation failure', async () =>
      (await failures('activate', 'policy_invalid')) > before ? true : undefined,
    );
    expect(sidecar.app.store.version).toBe('6');
  });

  it('a bundle not signed for this sidecar is refused even when served over the same URL with a 200 (CompactSign sanity)', async () => {
    // jose's own signing path, independent of buildBundle: a JWS over another payload type.
    const { key } = await readSigningKey(keys.privateKeyFile);
    const jws = await new CompactSign(new TextEncoder().encode('{}'))
      .setProtectedHeader({ alg: 'ES256', kid: keys.kid, typ: 'authzd-bundle+jws' })
      .sign(key);
    const entries = (await entriesOf(await sign(8))).filter((e) => e.name !== '.signatures.json');
    entries.push({ name: '.signatures.json', data: JSON.stringify({ signatures: [jws] }) });
    const before = await failures('verify', 'bundle_signature_invalid');
    origin.serve(gzipSync(rawTar(entries)));
    await until('a rejection', async () =>
      (await failures('verify', 'bundle_signature_invalid')) > before ? true : undefined,
    );
    expect(sidecar.app.store.version).toBe('6');
  });
});
