// Bundle attacks beyond the tamper corpus of verify-bundle.test.ts (which covers edited, added and removed
// files, stripped and forged signatures, links, devices, pax/GNU headers, traversal, duplicates, scope,
// rollback, truncation and a plain zip bomb): archives whose declared sizes lie, deep directory trees, gzip
// member tricks, key and algorithm confusion, and duplicated control files. Each is rejected with its code;
// the few encodings that carry exactly the signed files are accepted, and say why.
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';

import { generateKeyPair } from 'jose';
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
import { examplePolicyFiles } from '../../helpers/policy-files.js';
import { type RawEntry, rawTar, rawTarHeader } from '../../helpers/raw-tar.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let es: KeyPair;
let ed: KeyPair;
let bundle: Uint8Array;
let entries: RawEntry[];
let tar: Buffer;

const files = examplePolicyFiles();
const MiB = 1024 * 1024;

beforeAll(async () => {
  [es, ed] = await Promise.all([generateKeyPair('ES256'), generateKeyPair('EdDSA')]);
  bundle = await build();
  const archive = await readBundleArchive(bundle, DEFAULT_BUNDLE_LIMITS);
  if (!archive.ok) throw new Error(archive.detail);
  entries = [...archive.entries].map(([name, data]) => ({ name, data }));
  tar = rawTar(entries);
});

function build(options: { key?: KeyPair; kid?: string; alg?: 'ES256' | 'EdDSA'; revision?: number } = {}) {
  return buildBundle(files, {
    signingKey: (options.key ?? es).privateKey,
    kid: options.kid ?? 'k1',
    alg: options.alg ?? 'ES256',
    revision: options.revision ?? 5,
    scope: 'authzd',
    created: new Date('2025-06-01T12:00:00.000Z'),
  });
}

function verify(bytes: Uint8Array, options: Partial<Parameters<typeof verifyBundle>[1]> = {}) {
  return verifyBundle(bytes, { keys: [{ kid: 'k1', key: es.publicKey, alg: 'ES256' }], scope: 'authzd', ...options });
}

function expectRejected(result: VerifyResult, reason: BundleRejection, detail?: RegExp) {
  expect(result.ok ? 'accepted' : `${result.reason}: ${result.detail}`).toMatch(new RegExp(`^${reason}: `));
  if (detail !== undefined && !result.ok) expect(result.detail).toMatch(detail);
}

/** A ustar header for `name` whose size field (bytes 124-135) is exactly `field`, checksum recomputed. */
function headerWithSizeField(name: string, field: Buffer): Buffer {
  const block = rawTarHeader({ name }, 0);
  block.fill(0, 124, 136);
  field.copy(block, 124, 0, 12);
  block.write('        ', 148, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

const octal = (n: number) => Buffer.from(`${n.toString(8).padStart(11, '0')}\0`, 'latin1');

describe('archives whose declared sizes lie', () => {
  it('a header declaring 0 bytes, followed by 70 MiB of zeros (read as end marker and padding): bundle_too_large at the inflate cap', async () => {
    const bomb = gzipSync(
      Buffer.concat([tar.subarray(0, tar.length - 1024), rawTarHeader({ name: 'x.cedar' }, 0), Buffer.alloc(70 * MiB)]),
    );
    expect(bomb.length).toBeLessThan(100 * 1024);
    expectRejected(await verify(bomb), 'bundle_too_large', /inflates to more than 67108864 bytes/);
  });

  it('a header declaring 10 bytes, followed by megabytes of data: refused at the next header (bundle_corrupt), not after inflating it all', async () => {
    const lie = gzipSync(Buffer.concat([rawTarHeader({ name: 'x.cedar' }, 10), Buffer.alloc(8 * MiB, 'A')]));
    // A 1 MiB inflate cap would reject the whole stream as too large; the checksum stops it first.
    expectRejected(
      await verify(lie, { limits: { maxUncompressedBytes: 1 * MiB } }),
      'bundle_corrupt',
      /header checksum mismatch/,
    );
  });

  it('entries each declared (and filled) just under the per-file cap: bundle_too_large once their sum passes the inflate cap', async () => {
    const under = MiB - 512;
    const parts = Array.from({ length: 3 }, (_, i) => [
      rawTarHeader({ name: `p${i}.cedar` }, under),
      Buffer.alloc(under),
    ]).flat();
    const limits = { maxFileBytes: MiB, maxUncompressedBytes: 2 * MiB };
    expectRejected(
      await verify(gzipSync(Buffer.concat(parts)), { limits }),
      'bundle_too_large',
      /inflates to more than 2097152 bytes/,
    );
  });

  it('a size of 8 GiB - 1 in octal, and a GNU base-256 size: bundle_too_large before any data', async () => {
    expectRejected(
      await verify(gzipSync(headerWithSizeField('x.cedar', octal(8 * 1024 ** 3 - 1)))),
      'bundle_too_large',
      /x\.cedar is larger than 33554432 bytes/,
    );
    const base256 = Buffer.alloc(12);
    base256[0] = 0x80;
    base256.writeUInt32BE(0xffffffff, 8);
    expectRejected(await verify(gzipSync(headerWithSizeField('x.cedar', base256))), 'bundle_too_large', /larger than/);
  });

  it('a size larger than the data that follows: bundle_corrupt (truncated)', async () => {
    expectRejected(
      await verify(gzipSync(Buffer.concat([rawTarHeader({ name: 'x.cedar' }, 10 * MiB), Buffer.alloc(4096, 'x')]))),
      'bundle_corrupt',
      /"x\.cedar" is cut short/,
    );
  });

  it('a size field that is not octal: bundle_corrupt', async () => {
    for (const field of ['00000000999\0', '-0000000001\0', '0x000000010\0', '\0\0\0\0\0\0\0\0\0\0\0\0']) {
      expectRejected(
        await verify(
          gzipSync(Buffer.concat([headerWithSizeField('x.cedar', Buffer.from(field, 'latin1')), Buffer.alloc(1024)])),
        ),
        'bundle_corrupt',
        /malformed size field/,
      );
    }
  });
});

describe('paths and entry types', () => {
  const deep = Array.from({ length: 40 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('/');

  it.each<[string, RawEntry[], RegExp]>([
    [
      'a deep directory tree in the name (a/b/c/.../x.cedar)',
      [{ name: `${deep.slice(0, 80)}/x.cedar`, data: 'x' }],
      /contains a path separator/,
    ],
    [
      'a deep directory tree split over the ustar prefix',
      [{ name: 'x.cedar', prefix: deep.slice(0, 150), data: 'x' }],
      /contains a path separator/,
    ],
    [
      'the directory entries of a tree, then a file in it',
      [
        { name: 'a', type: '5' },
        { name: 'a/b', type: '5' },
        { name: 'a/b/x.cedar', data: 'x' },
      ],
      /"a" is a directory/,
    ],
    [
      'a symlink to a policy file, under a policy name',
      [{ name: 'evil.cedar', type: '2', linkname: 'accounts.cedar' }],
      /symbolic link/,
    ],
    [
      'a symlink escaping to /etc',
      [{ name: 'routes.yaml', type: '2', linkname: '../../../../etc/shadow' }],
      /symbolic link/,
    ],
    ['a hard link to the signature file', [{ name: 'x.cedar', type: '1', linkname: '.signatures.json' }], /hard link/],
    ['a block device', [{ name: 'x.cedar', type: '4' }], /block device/],
    ['an entry of unknown type', [{ name: 'x.cedar', type: 'Z', data: 'x' }], /unknown type/],
    ['a name that is only dots', [{ name: '..', data: 'x' }], /contains "\.\."/],
    [
      'a second .signatures.json after the first',
      [{ name: '.signatures.json', data: '{"signatures":[]}' }],
      /\.signatures\.json appears twice/,
    ],
    ['a second .manifest after the first', [{ name: '.manifest', data: '{}' }], /\.manifest appears twice/],
  ])('%s: bundle_entry_forbidden', async (_name, extra, detail) => {
    expectRejected(await verify(gzipSync(rawTar([...entries, ...extra]))), 'bundle_entry_forbidden', detail);
  });

  it('a name with a NUL inside: read as every tar reader reads it (up to the NUL), so an unsigned x.cedar: bundle_files_mismatch', async () => {
    expectRejected(
      await verify(gzipSync(rawTar([...entries, { name: 'x.cedar\u0000.txt', data: 'x' }]))),
      'bundle_files_mismatch',
      /not signed: x\.cedar$/,
    );
  });

  it('a second .signatures.json first in the archive, so a reader that keeps the first would verify the forged one', async () => {
    const forged = { name: '.signatures.json', data: '{"signatures":["e30.e30.AAAA"]}' };
    expectRejected(
      await verify(gzipSync(rawTar([forged, ...entries]))),
      'bundle_entry_forbidden',
      /\.signatures\.json appears twice/,
    );
  });
});

describe('gzip tricks', () => {
  it('a second gzip member holding another entry after the archive: bundle_corrupt', async () => {
    const extra = gzipSync(rawTar([{ name: 'backdoor.cedar', data: 'permit(principal, action, resource);' }]));
    expectRejected(await verify(Buffer.concat([bundle, extra])), 'bundle_corrupt', /after the end-of-archive marker/);
  });

  it('a second gzip member holding only zeros: accepted (zero padding after the end marker, as tar writes it)', async () => {
    expect((await verify(Buffer.concat([bundle, gzipSync(Buffer.alloc(10_240))]))).ok).toBe(true);
  });

  it('the signed archive split over several gzip members: accepted, since the signature covers the files, not their compression', async () => {
    const cut = [700, 2100];
    const members = [tar.subarray(0, cut[0]), tar.subarray(cut[0], cut[1]), tar.subarray(cut[1])].map((part) =>
      gzipSync(part),
    );
    const result = await verify(Buffer.concat(members));
    expect(result.ok && result.bundle.files).toEqual(files);
  });

  it('a gzip trailer whose CRC or length does not match: bundle_corrupt', async () => {
    const crc = Buffer.from(bundle);
    crc[crc.length - 8] ^= 0xff;
    expectRejected(await verify(crc), 'bundle_corrupt', /gzip/);
    const size = Buffer.from(bundle);
    size[size.length - 1] ^= 0x01;
    expectRejected(await verify(size), 'bundle_corrupt', /gzip/);
  });

  it('zlib and raw deflate streams instead of gzip: bundle_corrupt', async () => {
    expectRejected(await verify(deflateSync(tar)), 'bundle_corrupt', /gzip/);
    expectRejected(await verify(deflateRawSync(tar)), 'bundle_corrupt', /gzip/);
  });

  it('a gzip header with FEXTRA, FNAME and FCOMMENT fields: the files still decide (accepted)', async () => {
    // RFC 1952 §2.3: FLG bits 2-4; zlib skips the fields. Nothing in them is used.
    const body = gzipSync(tar).subarray(10);
    const extra = Buffer.alloc(1000, 0x41);
    const header = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 0x08, 0x1c, 0, 0, 0, 0, 0, 0xff]),
      Buffer.from([extra.length & 0xff, extra.length >> 8]),
      extra,
      Buffer.from('../../etc/passwd\0', 'latin1'),
      Buffer.from('\u001b[2Jcomment\0', 'latin1'),
    ]);
    expect((await verify(Buffer.concat([header, body]))).ok).toBe(true);
  });
});

describe('keys and algorithms', () => {
  it('a bundle signed with ES256 under a kid trusted as an EdDSA key: bundle_signature_invalid', async () => {
    const keys: TrustedKey[] = [{ kid: 'ed', key: ed.publicKey, alg: 'EdDSA' }];
    expectRejected(
      await verify(await build({ kid: 'ed' }), { keys }),
      'bundle_signature_invalid',
      /alg ES256 does not match the trusted key "ed" \(EdDSA\)/,
    );
    expect((await verify(await build({ key: ed, kid: 'ed', alg: 'EdDSA' }), { keys })).ok).toBe(true);
  });

  it('a kid trusted twice, for EdDSA and for ES256: each signature verifies only with its own key', async () => {
    const keys: TrustedKey[] = [
      { kid: 'k1', key: ed.publicKey, alg: 'EdDSA' },
      { kid: 'k1', key: es.publicKey, alg: 'ES256' },
    ];
    expect((await verify(await build(), { keys })).ok).toBe(true);
    const stranger = await generateKeyPair('EdDSA');
    expectRejected(
      await verify(await build({ key: stranger, alg: 'EdDSA' }), { keys }),
      'bundle_signature_invalid',
      /does not verify/,
    );
  });

  it('a bundle signed by a key that was removed from the trusted set (rotation finished): bundle_key_unknown', async () => {
    const rotated: TrustedKey[] = [{ kid: 'k2', key: ed.publicKey, alg: 'EdDSA' }];
    expectRejected(await verify(bundle, { keys: rotated }), 'bundle_key_unknown', /"k1"/);
  });
});
