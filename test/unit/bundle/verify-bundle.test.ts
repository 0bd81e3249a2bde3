// The tamper corpus: every way a bundle can be altered, forged or built to hurt its reader, each rejected with
// its documented code; and the positive cases that keep the verifier honest (ES256, EdDSA, rotation, exact
// round trip, deterministic build).
import { createHash, createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import { base64url, CompactSign, exportSPKI, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

import { buildBundle } from '../../../src/bundle/build-bundle.js';
import type { BundleRejection } from '../../../src/bundle/bundle-rejections.js';
import { readBundleArchive } from '../../../src/bundle/read-bundle-archive.js';
import {
  DEFAULT_BUNDLE_LIMITS,
  type TrustedKey,
  verifyBundle,
  type VerifyResult,
} from '../../../src/bundle/verify-bundle.js';
import { ConfigError } from '../../../src/config/config-error.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';
import { type RawEntry, rawTar } from '../../helpers/raw-tar.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let es: KeyPair;
let ed: KeyPair;
let stranger: KeyPair;
let trusted: TrustedKey[];

const CREATED = new Date('2025-06-01T12:00:00.000Z');
const files = examplePolicyFiles();

beforeAll(async () => {
  [es, ed, stranger] = await Promise.all([
    generateKeyPair('ES256'),
    generateKeyPair('EdDSA'),
    generateKeyPair('ES256'),
  ]);
  trusted = [{ kid: 'k1', key: es.publicKey, alg: 'ES256' }];
});

function build(
  options: {
    key?: KeyPair;
    kid?: string;
    alg?: 'ES256' | 'EdDSA';
    revision?: number;
    scope?: string;
    files?: Map<string, string>;
  } = {},
) {
  return buildBundle(options.files ?? files, {
    signingKey: (options.key ?? es).privateKey,
    kid: options.kid ?? 'k1',
    alg: options.alg ?? 'ES256',
    revision: options.revision ?? 5,
    scope: options.scope ?? 'authzd',
    metadata: { commit: 'abc123' },
    created: CREATED,
  });
}

function verify(bytes: Uint8Array, options: Partial<Parameters<typeof verifyBundle>[1]> = {}) {
  return verifyBundle(bytes, { keys: trusted, scope: 'authzd', ...options });
}

function expectRejected(result: VerifyResult, reason: BundleRejection, detail?: RegExp) {
  expect(result.ok ? 'accepted' : result.reason).toBe(reason);
  if (detail !== undefined && !result.ok) expect(result.detail).toMatch(detail);
}

/** The entries of a (valid) bundle, in archive order. */
async function unpack(bytes: Uint8Array): Promise<RawEntry[]> {
  const archive = await readBundleArchive(bytes, DEFAULT_BUNDLE_LIMITS);
  if (!archive.ok) throw new Error(archive.detail);
  return [...archive.entries].map(([name, data]) => ({ name, data }));
}

const pack = (entries: readonly RawEntry[], options?: { end?: boolean }) => gzipSync(rawTar(entries, options));
const text = (entry: RawEntry | undefined) => Buffer.from(entry!.data as Uint8Array).toString('utf8');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** Replaces the entry named `name` (or appends it). */
function withEntry(entries: RawEntry[], name: string, data: string | Uint8Array): RawEntry[] {
  const out = entries.filter((e) => e.name !== name);
  const at = entries.findIndex((e) => e.name === name);
  out.splice(at === -1 ? out.length : at, 0, { name, data });
  return out;
}

/** A .signatures.json signing these entries (every one but .signatures.json) with the given key and header. */
async function signatureFor(
  entries: RawEntry[],
  options: {
    key?: KeyPair;
    kid?: string;
    alg?: string;
    typ?: string;
    scope?: string;
    revision?: number;
    extraHeader?: Record<string, unknown>;
  } = {},
): Promise<string> {
  const payload = {
    files: entries
      .filter((e) => e.name !== '.signatures.json')
      .map((e) => ({ name: e.name, hash: sha256(e.data as Uint8Array), algorithm: 'SHA-256' })),
    scope: options.scope ?? 'authzd',
    revision: options.revision ?? 5,
  };
  const jws = await new CompactSign(Buffer.from(JSON.stringify(payload)))
    .setProtectedHeader({
      alg: options.alg ?? 'ES256',
      kid: options.kid ?? 'k1',
      typ: options.typ ?? 'authzd-bundle+jws',
      ...options.extraHeader,
    })
    .sign((options.key ?? es).privateKey);
  return JSON.stringify({ signatures: [jws] });
}

/** Hand-assembles a compact JWS with any header and signature bytes (for algorithms jose refuses to produce). */
function compactJws(header: object, payload: object, signature: Uint8Array): string {
  const enc = (v: object) => base64url.encode(JSON.stringify(v));
  return `${enc(header)}.${enc(payload)}.${base64url.encode(signature)}`;
}

describe('verifyBundle accepts', () => {
  it('an ES256 bundle, with its manifest, signer, hashes and digest', async () => {
    const bytes = await build();
    const result = await verify(bytes);
    if (!result.ok) throw new Error(`${result.reason}: ${result.detail}`);
    const { bundle } = result;
    expect(bundle).toMatchObject({
      revision: 5,
      scope: 'authzd',
      created: CREATED.toISOString(),
      metadata: { commit: 'abc123' },
      kid: 'k1',
    });
    expect(bundle.files).toEqual(files);
    expect([...bundle.hashes.keys()].sort()).toEqual(['.manifest', ...files.keys()].sort());
    for (const [name, content] of files) expect(bundle.hashes.get(name)).toBe(sha256(content));
    expect(bundle.digest).toBe(sha256(bytes));
  });

  it('an EdDSA bundle', async () => {
    const result = await verify(await build({ key: ed, kid: 'ed', alg: 'EdDSA' }), {
      keys: [{ kid: 'ed', key: ed.publicKey, alg: 'EdDSA' }],
    });
    expect(result.ok && result.bundle.kid).toBe('ed');
  });

  it('bundles by either of several trusted keys (rotation), reporting which signed', async () => {
    const keys: TrustedKey[] = [...trusted, { kid: 'k2', key: ed.publicKey, alg: 'EdDSA' }];
    const byOld = await verify(await build(), { keys });
    const byNew = await verify(await build({ key: ed, kid: 'k2', alg: 'EdDSA' }), { keys });
    expect(byOld.ok && byOld.bundle.kid).toBe('k1');
    expect(byNew.ok && byNew.bundle.kid).toBe('k2');
  });

  it('the files exactly as given: unicode, a BOM, CRLF, trailing spaces, an empty file, a file over one block', async () => {
    const tricky = new Map([
      ['a.cedar', '\uFEFFpermit(principal, action, resource);\r\n  \t'],
      ['b.cedar', ''],
      ['entities.json', JSON.stringify([{ uid: { type: 'User', id: 'zoë 😀' }, attrs: {}, parents: [] }])],
      ['routes.yaml', 'x'.repeat(512) + '\n'.repeat(513)],
    ]);
    const result = await verify(await build({ files: tricky }));
    expect(result.ok && result.bundle.files).toEqual(tricky);
  });

  it('the same revision again (re-delivery of the active bundle), and an older one when rollback is allowed', async () => {
    const bytes = await build({ revision: 5 });
    expect((await verify(bytes, { minRevision: 5 })).ok).toBe(true);
    expect((await verify(bytes, { minRevision: 6, allowRollback: true })).ok).toBe(true);
  });
});

describe('buildBundle is deterministic', () => {
  it('EdDSA: the same input gives the same bytes', async () => {
    const a = await build({ key: ed, kid: 'ed', alg: 'EdDSA' });
    const b = await build({ key: ed, kid: 'ed', alg: 'EdDSA', files: new Map([...files].reverse()) });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('ES256: the same archive but for the signature value (ECDSA signatures are randomized)', async () => {
    const [a, b] = await Promise.all([unpack(await build()), unpack(await build())]);
    expect(a.map((e) => e.name)).toEqual(b.map((e) => e.name));
    expect(a.slice(1)).toEqual(b.slice(1));
    const jws = (entries: RawEntry[]) => JSON.parse(text(entries[0])).signatures[0].split('.') as string[];
    expect(jws(a).slice(0, 2)).toEqual(jws(b).slice(0, 2));
  });

  it('sorted entries: .signatures.json, .manifest, then the policy files by name', async () => {
    const names = (await unpack(await build())).map((e) => e.name);
    expect(names).toEqual(['.signatures.json', '.manifest', ...[...files.keys()].sort()]);
  });
});

describe('verifyBundle rejects a tampered bundle', () => {
  let entries: RawEntry[];
  beforeAll(async () => {
    entries = await unpack(await build());
  });

  it('a modified policy file: bundle_hash_mismatch', async () => {
    const tampered = withEntry(
      entries,
      'accounts.cedar',
      `${text(entries.find((e) => e.name === 'accounts.cedar'))}\npermit(principal, action, resource);\n`,
    );
    expectRejected(await verify(pack(tampered)), 'bundle_hash_mismatch', /accounts\.cedar/);
  });

  it('a modified manifest: bundle_hash_mismatch', async () => {
    const manifest = JSON.parse(text(entries.find((e) => e.name === '.manifest')));
    expectRejected(
      await verify(pack(withEntry(entries, '.manifest', JSON.stringify({ ...manifest, revision: 99 })))),
      'bundle_hash_mismatch',
      /\.manifest/,
    );
  });

  it('an added file: bundle_files_mismatch', async () => {
    expectRejected(
      await verify(pack([...entries, { name: 'backdoor.cedar', data: 'permit(principal, action, resource);' }])),
      'bundle_files_mismatch',
      /not signed: backdoor\.cedar/,
    );
  });

  it('a removed file: bundle_files_mismatch', async () => {
    expectRejected(
      await verify(pack(entries.filter((e) => e.name !== 'tenants.cedar'))),
      'bundle_files_mismatch',
      /signed but absent: "tenants\.cedar"/,
    );
  });

  it('a stripped signature (no .signatures.json): bundle_unsigned', async () => {
    expectRejected(await verify(pack(entries.filter((e) => e.name !== '.signatures.json'))), 'bundle_unsigned');
  });

  it('an empty signature list: bundle_unsigned', async () => {
    expectRejected(await verify(pack(withEntry(entries, '.signatures.json', '{"signatures":[]}'))), 'bundle_unsigned');
  });

  it('two signatures, even both valid: bundle_signature_invalid', async () => {
    const jws = JSON.parse(text(entries[0])).signatures[0];
    expectRejected(
      await verify(pack(withEntry(entries, '.signatures.json', JSON.stringify({ signatures: [jws, jws] })))),
      'bundle_signature_invalid',
      /exactly one/,
    );
  });

  it('a .signatures.json that is not the expected JSON: bundle_signature_invalid', async () => {
    for (const bad of ['not json', '{"signatures":"x"}', '{"signatures":[1]}', '{"signatures":[],"extra":1}']) {
      expectRejected(
        await verify(pack(withEntry(entries, '.signatures.json', bad))),
        'bundle_signature_invalid',
        /is not \{"signatures"/,
      );
    }
  });

  it('a signature by an unknown key: bundle_key_unknown', async () => {
    const forged = withEntry(entries, '.signatures.json', await signatureFor(entries, { key: stranger, kid: 'k9' }));
    expectRejected(await verify(pack(forged)), 'bundle_key_unknown', /"k9"/);
  });

  it('a valid signature by a key removed from the trusted set: bundle_key_unknown', async () => {
    const rotated: TrustedKey[] = [...trusted, { kid: 'k2', key: ed.publicKey, alg: 'EdDSA' }];
    const bytes = await build();
    expect((await verify(bytes, { keys: rotated })).ok).toBe(true);
    expectRejected(await verify(bytes, { keys: rotated.slice(1) }), 'bundle_key_unknown', /"k1"/);
  });

  it('a signature by another key under a trusted kid: bundle_signature_invalid', async () => {
    const forged = withEntry(entries, '.signatures.json', await signatureFor(entries, { key: stranger, kid: 'k1' }));
    expectRejected(await verify(pack(forged)), 'bundle_signature_invalid', /does not verify/);
  });

  it('a valid signature over another scope: bundle_scope_mismatch', async () => {
    expectRejected(await verify(await build({ scope: 'payments' })), 'bundle_scope_mismatch', /"payments"/);
  });

  it('an older revision: bundle_rollback', async () => {
    expectRejected(
      await verify(await build({ revision: 4 }), { minRevision: 5 }),
      'bundle_rollback',
      /revision 4 .* 5/,
    );
  });

  it('a manifest whose revision differs from the signed one: bundle_manifest_invalid', async () => {
    const manifest = JSON.parse(text(entries.find((e) => e.name === '.manifest')));
    const edited = withEntry(entries, '.manifest', JSON.stringify({ ...manifest, revision: 6 }));
    const resigned = withEntry(edited, '.signatures.json', await signatureFor(edited, { revision: 5 }));
    expectRejected(
      await verify(pack(resigned)),
      'bundle_manifest_invalid',
      /revision 6 differs from the signed revision 5/,
    );
  });

  it('a manifest that is missing or malformed, though signed: bundle_manifest_invalid', async () => {
    const manifest = JSON.parse(text(entries.find((e) => e.name === '.manifest')));
    const variants: [RawEntry[], RegExp][] = [
      [entries.filter((e) => e.name !== '.manifest'), /\.manifest is missing/],
      [withEntry(entries, '.manifest', 'not json'), /\(top level\)/],
      [withEntry(entries, '.manifest', JSON.stringify({ ...manifest, modelVersion: 2 })), /modelVersion/],
      [withEntry(entries, '.manifest', JSON.stringify({ ...manifest, created: 'yesterday' })), /created/],
      [withEntry(entries, '.manifest', JSON.stringify({ ...manifest, scope: 'payments' })), /scope differs/],
      [withEntry(entries, '.manifest', JSON.stringify({ ...manifest, roots: [''] })), /roots/],
      [
        withEntry(entries, '.manifest', JSON.stringify({ ...manifest, metadata: { n: 1 } })),
        /metadata\.n must be a string/,
      ],
      [
        withEntry(
          entries,
          '.manifest',
          '{"revision":5,"created":"2025-01-01T00:00:00Z","modelVersion":1,"scope":"authzd","metadata":{"__proto__":{"x":"y"}}}',
        ),
        /metadata key "__proto__"/,
      ],
    ];
    for (const [variant, detail] of variants) {
      const resigned = withEntry(variant, '.signatures.json', await signatureFor(variant));
      expectRejected(await verify(pack(resigned)), 'bundle_manifest_invalid', detail);
    }
  });

  it('a signed list naming a file twice: bundle_files_mismatch', async () => {
    const doubled = [...entries, entries[2]];
    const signatures = await signatureFor(doubled);
    expectRejected(
      await verify(pack(withEntry(entries, '.signatures.json', signatures))),
      'bundle_files_mismatch',
      /twice/,
    );
  });

  it('a JWS with alg none or HS256 (the public key as HMAC secret): bundle_signature_invalid', async () => {
    const payload = { files: [], scope: 'authzd', revision: 5 };
    const none = compactJws({ alg: 'none', kid: 'k1', typ: 'authzd-bundle+jws' }, payload, Buffer.from('x'));
    const header = { alg: 'HS256', kid: 'k1', typ: 'authzd-bundle+jws' };
    const signingInput = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;
    const hs256 = `${signingInput}.${base64url.encode(
      createHmac('sha256', await exportSPKI(es.publicKey))
        .update(signingInput)
        .digest(),
    )}`;
    const cases: [string, RegExp][] = [
      [none, /alg "none" is not accepted/],
      [hs256, /alg "HS256" is not accepted/],
      [none.replace(/\.[^.]+$/, '.'), /not a compact JWS/],
    ];
    for (const [jws, detail] of cases) {
      expectRejected(
        await verify(pack(withEntry(entries, '.signatures.json', JSON.stringify({ signatures: [jws] })))),
        'bundle_signature_invalid',
        detail,
      );
    }
  });

  it('a JWS whose payload hash list was edited to match a modified file: bundle_signature_invalid', async () => {
    const modified = withEntry(entries, 'accounts.cedar', 'permit(principal, action, resource);');
    const [header, payload, signature] = JSON.parse(text(entries[0])).signatures[0].split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.files.find((f: { name: string }) => f.name === 'accounts.cedar').hash = sha256(
      'permit(principal, action, resource);',
    );
    const edited = `${header}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
    expectRejected(
      await verify(pack(withEntry(modified, '.signatures.json', JSON.stringify({ signatures: [edited] })))),
      'bundle_signature_invalid',
      /does not verify/,
    );
  });

  it('a JWS of another type, with extra header parameters, or with the alg of another key: bundle_signature_invalid', async () => {
    const variants: [string, RegExp][] = [
      [await signatureFor(entries, { typ: 'JWT' }), /typ "JWT" is not "authzd-bundle\+jws"/],
      [
        await signatureFor(entries, { extraHeader: { jku: 'https://attacker.example/keys.json' } }),
        /unexpected JWS header parameters: "jku"/,
      ],
      [
        await signatureFor(entries, { key: ed, alg: 'EdDSA' }),
        /alg EdDSA does not match the trusted key "k1" \(ES256\)/,
      ],
    ];
    for (const [signatures, detail] of variants) {
      expectRejected(
        await verify(pack(withEntry(entries, '.signatures.json', signatures))),
        'bundle_signature_invalid',
        detail,
      );
    }
  });

  it('a signed payload that is not a file list: bundle_signature_invalid', async () => {
    const jws = await new CompactSign(Buffer.from('{"files":"all","scope":"authzd","revision":5}'))
      .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'authzd-bundle+jws' })
      .sign(es.privateKey);
    expectRejected(
      await verify(pack(withEntry(entries, '.signatures.json', JSON.stringify({ signatures: [jws] })))),
      'bundle_signature_invalid',
      /payload is malformed/,
    );
  });

  it('a signed policy file that is not UTF-8: bundle_corrupt', async () => {
    const bad = withEntry(entries, 'accounts.cedar', Buffer.from([0x70, 0xff, 0xfe]));
    expectRejected(
      await verify(pack(withEntry(bad, '.signatures.json', await signatureFor(bad)))),
      'bundle_corrupt',
      /UTF-8/,
    );
  });
});

describe('verifyBundle rejects a hostile archive before reading its signature', () => {
  let entries: RawEntry[];
  beforeAll(async () => {
    entries = await unpack(await build());
  });

  it('an oversized compressed bundle: bundle_too_large', async () => {
    const bytes = await build();
    expectRejected(
      await verify(bytes, { limits: { maxCompressedBytes: bytes.length - 1 } }),
      'bundle_too_large',
      /compressed/,
    );
    expect((await verify(bytes, { limits: { maxCompressedBytes: bytes.length } })).ok).toBe(true);
  });

  it('a zip bomb (a small gzip inflating past the cap, default limits): bundle_too_large', async () => {
    const mib = Buffer.alloc(1024 * 1024);
    const bomb = pack(Array.from({ length: 70 }, (_, i) => ({ name: `p${i}.cedar`, data: mib })));
    expect(bomb.length).toBeLessThan(DEFAULT_BUNDLE_LIMITS.maxCompressedBytes / 100);
    expectRejected(await verify(bomb), 'bundle_too_large', /inflates to more than 67108864 bytes/);
  });

  it('a file over the per-file cap, or too many files: bundle_too_large', async () => {
    const bytes = await build();
    expectRejected(
      await verify(bytes, { limits: { maxFileBytes: 1000 } }),
      'bundle_too_large',
      /larger than 1000 bytes/,
    );
    expectRejected(
      await verify(bytes, { limits: { maxFiles: entries.length - 1 } }),
      'bundle_too_large',
      /more than 8 entries/,
    );
    expect((await verify(bytes, { limits: { maxFiles: entries.length } })).ok).toBe(true);
  });

  it.each<[string, RawEntry, RegExp]>([
    ['a path-traversal entry', { name: '../x.cedar', data: 'x' }, /contains "\.\."/],
    ['an absolute path', { name: '/x.cedar', data: 'x' }, /absolute path/],
    ['a drive-letter path', { name: 'C:x.cedar', data: 'x' }, /absolute path/],
    ['a path with a directory', { name: 'dir/x.cedar', data: 'x' }, /path separator/],
    ['a backslash path', { name: 'dir\\x.cedar', data: 'x' }, /path separator/],
    [
      'a ustar prefix (directory)',
      { name: 'x.cedar', prefix: 'dir', data: 'x' },
      /"dir\/x\.cedar" contains a path separator/,
    ],
    ['a symlink entry', { name: 'x.cedar', type: '2', linkname: '/etc/passwd' }, /symbolic link/],
    ['a hard-link entry', { name: 'x.cedar', type: '1', linkname: 'accounts.cedar' }, /hard link/],
    ['a directory entry', { name: 'policies.cedar', type: '5' }, /directory/],
    ['a character device', { name: 'x.cedar', type: '3' }, /character device/],
    ['a FIFO', { name: 'x.cedar', type: '6' }, /FIFO/],
    [
      'a pax extended header',
      { name: 'PaxHeaders/x.cedar', type: 'x', data: '30 path=../../etc/x.cedar\n' },
      /pax extended header/,
    ],
    ['a GNU long name', { name: '././@LongLink', type: 'L', data: '../x.cedar' }, /GNU long name/],
    ['a file that is not a policy file', { name: 'notes.txt', data: 'x' }, /not a policy file/],
    [
      'a name with a terminal escape',
      { name: '\u001b[2Jx.cedar', data: 'x' },
      /"\\u001b\[2Jx\.cedar" contains a control character/,
    ],
  ])('%s: bundle_entry_forbidden', async (_, entry, detail) => {
    expectRejected(await verify(pack([...entries, entry])), 'bundle_entry_forbidden', detail);
    // First in the archive as well: the entry is refused before anything is trusted, signature or not.
    expectRejected(await verify(pack([entry, ...entries])), 'bundle_entry_forbidden', detail);
  });

  it('a duplicate entry: bundle_entry_forbidden', async () => {
    expectRejected(await verify(pack([...entries, entries[3]])), 'bundle_entry_forbidden', /appears twice/);
  });

  it('a truncated archive: bundle_corrupt', async () => {
    const tar = rawTar(entries);
    expectRejected(await verify(gzipSync(tar.subarray(0, 1800))), 'bundle_corrupt', /truncated/);
    expectRejected(await verify(pack(entries, { end: false })), 'bundle_corrupt', /no end-of-archive marker/);
    const bytes = await build();
    expectRejected(await verify(bytes.subarray(0, bytes.length - 20)), 'bundle_corrupt', /gzip/);
  });

  it('non-gzip garbage, an empty input, a gzip of garbage, bytes appended to the gzip: bundle_corrupt', async () => {
    expectRejected(await verify(Buffer.from('this is not a bundle at all')), 'bundle_corrupt', /gzip/);
    expectRejected(await verify(new Uint8Array(0)), 'bundle_corrupt');
    expectRejected(await verify(gzipSync(Buffer.from('x'.repeat(2000)))), 'bundle_corrupt', /checksum/);
    expectRejected(await verify(Buffer.concat([await build(), Buffer.from('appended')])), 'bundle_corrupt', /gzip/);
  });

  it('a bad header checksum, data after the end marker, a lone zero block: bundle_corrupt', async () => {
    expectRejected(
      await verify(pack([{ ...entries[0], badChecksum: true }, ...entries.slice(1)])),
      'bundle_corrupt',
      /checksum/,
    );
    expectRejected(
      await verify(gzipSync(Buffer.concat([rawTar(entries), Buffer.from('hidden')]))),
      'bundle_corrupt',
      /after the end-of-archive/,
    );
    const tar = rawTar(entries);
    const lone = Buffer.concat([tar.subarray(0, tar.length - 1024), Buffer.alloc(512), rawTar(entries.slice(0, 1))]);
    expectRejected(await verify(gzipSync(lone)), 'bundle_corrupt', /lone zero block/);
  });

  it('accepts zero padding after the end marker (tar pads to 10 KiB records)', async () => {
    expect((await verify(gzipSync(Buffer.concat([rawTar(entries), Buffer.alloc(8192)])))).ok).toBe(true);
  });
});

describe('verifyBundle options', () => {
  it('a configuration mistake throws a ConfigError listing every problem', async () => {
    const bytes = await build();
    const err = await verifyBundle(bytes, {
      keys: [
        { kid: 'k1', key: es.privateKey, alg: 'ES256' },
        { kid: 'k2', key: ed.publicKey, alg: 'ES256' },
      ],
      scope: 'two words',
      minRevision: -1,
      limits: { maxFiles: 0 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'trusted key k1: expected a public key, got a private key',
      'trusted key k2: the key is not a P-256 key',
      'scope "two words" must be 1-256 printable ASCII characters without spaces',
      'minRevision -1 must be a non-negative integer',
      'limits.maxFiles must be a positive integer',
    ]);
    await expect(verifyBundle(bytes, { keys: [], scope: 'authzd' })).rejects.toThrow(/at least one trusted public key/);
  });
});
