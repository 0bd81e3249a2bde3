// The publisher against both stores (the directory and PostgreSQL): numbering, the gate, history, restarts,
// verification of what is read back, and two publishers (replicas) racing on one store.
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKeys, readPublicKey, readSigningKey } from '../../../src/bundle/bundle-keys.js';
import { verifyBundle } from '../../../src/bundle/verify-bundle.js';
import { BundlePublisher, type BundlePublisherOptions } from '../../../src/control-plane/bundle-publisher.js';
import type { ControlPlaneStore } from '../../../src/control-plane/store/control-plane-store.js';
import type { StoreSettings } from '../../../src/control-plane/store/open-control-plane-store.js';
import { validatePolicyFiles } from '../../../src/control-plane/validate-policy-files.js';
import { freshStoreSettings, openTestStore, STORE_KINDS } from '../../helpers/control-plane-stores.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';
import { usePostgresCluster } from '../../helpers/postgres-cluster.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'authzd-publisher-'));
const cluster = usePostgresCluster();
let keys: { privateKeyFile: string; publicKeyFile: string; kid: string };
let base: Omit<BundlePublisherOptions, 'repository' | 'history'>;
const opened: ControlPlaneStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

beforeAll(async () => {
  keys = await generateSigningKeys(path.join(tempDir(), 'keys'), { alg: 'EdDSA', kid: 'cp-test' });
  const signing = await readSigningKey(keys.privateKeyFile);
  base = {
    scope: 'prod',
    signingKey: signing.key,
    alg: signing.alg,
    kid: keys.kid,
    trustedKey: { kid: keys.kid, key: createPublicKey(readFileSync(keys.privateKeyFile, 'utf8')), alg: signing.alg },
    validate: validatePolicyFiles,
  };
});

/** A store opened on `settings`; a second one on the same settings is a second replica. */
async function open(settings: StoreSettings) {
  const store = await openTestStore(settings);
  opened.push(store);
  return store;
}

/** A publisher whose clock stands at the epoch unless told otherwise: its revisions then simply count from 1. */
async function publisher(settings: StoreSettings, history = 50, extra: Partial<BundlePublisherOptions> = {}) {
  return BundlePublisher.open({
    ...base,
    now: () => 0,
    ...extra,
    repository: (await open(settings)).bundles,
    history,
  });
}

/** Flips a byte of a stored revision behind the store's back. */
async function tamper(settings: StoreSettings, revision: number) {
  if (settings.kind === 'directory') {
    const file = path.join(settings.directory, 'bundles', 'bank', `${revision}.tar.gz`);
    const bytes = readFileSync(file);
    bytes[bytes.length - 20] ^= 0xff;
    writeFileSync(file, bytes);
  } else {
    await cluster().query(
      settings.postgres.database,
      `UPDATE authzd_bundle_revisions SET bytes = set_byte(bytes, length(bytes) - 20, get_byte(bytes, length(bytes) - 20) # 255)
       WHERE revision = $1`,
      [revision],
    );
  }
}

const edit = (n: number) =>
  examplePolicyFiles({
    'extra.cedar': `// edit ${n}\n@id("extra") forbid (principal, action, resource) when { false };`,
  });

describe.each(STORE_KINDS)('BundlePublisher on the %s store', (kind) => {
  const fresh = () => freshStoreSettings(kind, cluster, 'publisher');

  it('publishes a verifiable bundle as revision 1, and an unchanged set not at all', async () => {
    const settings = await fresh();
    const p = await publisher(settings);
    const repository = (await open(settings)).bundles;
    expect(p.current).toBeUndefined();
    const first = await p.publish(examplePolicyFiles(), { source: 'directory' });
    expect(first.result).toBe('published');
    if (first.result === 'rejected') return;
    expect(first.bundle).toMatchObject({
      revision: 1,
      etag: `"1-${first.bundle.digest.slice(0, 16)}"`,
      version: `1-${first.bundle.digest.slice(0, 16)}`,
    });
    const verified = await verifyBundle(await repository.read(1), {
      keys: [await readPublicKey(keys.publicKeyFile, keys.kid)],
      scope: 'prod',
    });
    expect(verified).toMatchObject({
      ok: true,
      bundle: { revision: 1, kid: 'cp-test', metadata: { source: 'directory' } },
    });
    expect(await repository.readPointer()).toEqual({ revision: 1, digest: first.bundle.digest });

    const again = await p.publish(examplePolicyFiles());
    expect(again).toMatchObject({ result: 'unchanged', bundle: { revision: 1 } });
    expect(await repository.revisions()).toEqual([1]);
  });

  it('never ships a broken set: the served bundle and the pointer stay', async () => {
    const settings = await fresh();
    const p = await publisher(settings);
    await p.publish(examplePolicyFiles());
    const broken = await p.publish(
      examplePolicyFiles({ 'accounts.cedar': 'permit (principal, action, resource) when {' }),
    );
    expect(broken.result).toBe('rejected');
    if (broken.result === 'rejected') expect(broken.problems.join('\n')).toContain('accounts.cedar');
    // A name a bundle cannot carry is a rejection too, not a crash.
    const unnamed = await p.publish(
      examplePolicyFiles({ [`${'x'.repeat(120)}.cedar`]: '@id("x") permit (principal, action, resource);' }),
    );
    expect(unnamed).toMatchObject({ result: 'rejected', problems: [expect.stringContaining('100 bytes')] });
    expect(p.current?.revision).toBe(1);
    expect((await (await open(settings)).bundles.readPointer())?.revision).toBe(1);
  });

  it('numbers revisions above every one on disk, keeps --history of them, and serves the recorded one after a restart', async () => {
    const settings = await fresh();
    const p = await publisher(settings, 3);
    for (let i = 1; i <= 5; i++)
      expect(await p.publish(edit(i))).toMatchObject({ result: 'published', bundle: { revision: i } });
    expect(await (await open(settings)).bundles.revisions()).toEqual([5, 4, 3]);
    expect((await p.revisions()).map((r) => [r.revision, r.current])).toEqual([
      [5, true],
      [4, false],
      [3, false],
    ]);

    const restarted = await publisher(settings, 3);
    expect(restarted.current).toMatchObject({ revision: 5, digest: p.current!.digest });
    expect(restarted.current!.files.get('extra.cedar')).toContain('edit 5');
    // Going back to older content is a new revision, never a lower number.
    expect(await restarted.publish(edit(1))).toMatchObject({ result: 'published', bundle: { revision: 6 } });
  });

  it('does not serve a recorded bundle that fails verification, and publishes above it', async () => {
    const settings = await fresh();
    const p = await publisher(settings);
    await p.publish(edit(1));
    await tamper(settings, 1);
    const restarted = await publisher(settings);
    expect(restarted.current).toBeUndefined();
    expect(await restarted.publish(edit(1))).toMatchObject({ result: 'published', bundle: { revision: 2 } });
  });

  it('numbers revisions by the clock, so a fresh data directory publishes above everything an earlier one did', async () => {
    let clock = Date.UTC(2026, 0, 12, 9, 30, 0);
    const lost = await publisher(await fresh(), 50, { now: () => clock });
    const t = clock / 1000;
    // Several publications within one second run ahead of the clock by one each.
    for (let i = 1; i <= 3; i++) expect(await lost.publish(edit(i))).toMatchObject({ bundle: { revision: t + i - 1 } });
    // The data directory is lost; a minute later a control plane starts on an empty one.
    clock += 60_000;
    const replacement = await publisher(await fresh(), 50, { now: () => clock });
    const first = await replacement.publish(edit(1));
    expect(first).toMatchObject({ result: 'published', bundle: { revision: t + 60 } });
    expect(t + 60).toBeGreaterThan(t + 2);
  });

  it('never goes below what is on disk when its clock is behind, and honours --min-revision', async () => {
    const settings = await fresh();
    const ahead = await publisher(settings, 50, { now: () => 2_000_000_000_000 });
    expect(await ahead.publish(edit(1))).toMatchObject({ bundle: { revision: 2_000_000_000 } });
    // A replica (or a restart) with a clock an hour behind continues from the highest revision on disk.
    const behind = await publisher(settings, 50, { now: () => 2_000_000_000_000 - 3_600_000 });
    expect(await behind.publish(edit(2))).toMatchObject({ bundle: { revision: 2_000_000_001 } });
    // A fresh directory behind a clock that was once ahead: the floor flag lifts it.
    const floored = await publisher(await fresh(), 50, { now: () => 1_000, minRevision: 2_000_000_005 });
    expect(await floored.publish(edit(3))).toMatchObject({ bundle: { revision: 2_000_000_005 } });
    expect(await floored.publish(edit(4))).toMatchObject({ bundle: { revision: 2_000_000_006 } });
  });

  it('two publishers on one directory never take the same revision, and each adopts the newer pointer', async () => {
    const settings = await fresh();
    const a = await publisher(settings);
    const b = await publisher(settings);
    const repository = (await open(settings)).bundles;
    const results = await Promise.all([a.publish(edit(1)), b.publish(edit(2)), a.publish(edit(3)), b.publish(edit(4))]);
    const revisions = results.map((r) => (r.result === 'published' ? r.bundle.revision : 0));
    expect(new Set(revisions).size).toBe(4);
    expect(revisions).not.toContain(0);
    // A publisher overtaken by the other's pointer publishes again on top, so there may be more stored
    // revisions than publications, but never two bundles under one number (each verifies as its own revision).
    const stored = await repository.revisions();
    const newest = Math.max(...stored);
    expect((await repository.readPointer())?.revision).toBe(newest);
    await a.sync();
    await b.sync();
    expect(a.current?.revision).toBe(newest);
    expect(b.current?.revision).toBe(newest);
    expect(a.current?.digest).toBe(b.current?.digest);
    expect((await a.revisions()).map((r) => r.revision)).toEqual(stored);
    // The adopted set is current for both: publishing it from either is "unchanged".
    expect(await a.publish(b.current!.files)).toMatchObject({ result: 'unchanged', bundle: { revision: newest } });
  });
});
