import { gzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { writeTar } from '../../../src/bundle/write-tar.js';
import { readPolicyUpload } from '../../../src/control-plane/read-policy-upload.js';

const upload = (entries: [string, string | Buffer][]) =>
  gzipSync(writeTar(entries.map(([n, d]) => [n, Buffer.from(d)] as const)));

describe('readPolicyUpload', () => {
  it('returns the policy files of a flat gzip tar', async () => {
    const result = await readPolicyUpload(
      upload([
        ['a.cedar', 'permit(principal, action, resource);'],
        ['routes.yaml', 'routes: []\n'],
      ]),
    );
    expect(result).toEqual({
      ok: true,
      files: new Map([
        ['a.cedar', 'permit(principal, action, resource);'],
        ['routes.yaml', 'routes: []\n'],
      ]),
    });
  });

  it.each([
    ['a path outside the set', [['../etc.cedar', 'x']], 'contains ".."'],
    ['a file that is not a policy file', [['run.sh', 'x']], 'is not a policy file'],
    [
      'a built bundle',
      [
        ['.manifest', '{}'],
        ['a.cedar', 'x'],
      ],
      '.manifest: upload the policy files themselves, not a built bundle',
    ],
    ['bytes that are not UTF-8', [['a.cedar', Buffer.from([0xff, 0xfe])]], 'a.cedar: not valid UTF-8'],
    ['an empty archive', [], 'the archive holds no policy files'],
  ] as [string, [string, string | Buffer][], string][])('refuses %s', async (_name, entries, detail) => {
    const result = await readPolicyUpload(upload(entries));
    expect(result).toMatchObject({ ok: false, tooLarge: false, detail: expect.stringContaining(detail) });
  });

  it('refuses garbage and applies the bundle size limits', async () => {
    expect(await readPolicyUpload(Buffer.from('not gzip'))).toMatchObject({ ok: false, tooLarge: false });
    const many = upload(Array.from({ length: 1001 }, (_, i): [string, string] => [`p${i}.cedar`, '']));
    expect(await readPolicyUpload(many)).toMatchObject({ ok: false, tooLarge: true, detail: 'more than 1000 entries' });
  });
});
