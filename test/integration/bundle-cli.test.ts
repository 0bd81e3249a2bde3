// The built CLI as an operator runs it: keys generate -> bundle build -> bundle verify / inspect, and the
// refusals (a key that is not trusted, another scope, an older revision, a policy set that does not compile).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const POLICIES = path.join(ROOT, 'policies');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
let kid: string;
let otherKid: string;
let bundle: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-bundle-cli-'));
  const generated = await run(['keys', 'generate', '--out', path.join(dir, 'keys')]);
  expect(generated).toMatchObject({ code: 0 });
  kid = generated.stdout.trim();
  const other = await run(['keys', 'generate', '--out', path.join(dir, 'other'), '--alg', 'EdDSA']);
  expect(other).toMatchObject({ code: 0 });
  otherKid = other.stdout.trim();
  bundle = path.join(dir, 'bank.tar.gz');
  const built = await run([
    'bundle',
    'build',
    POLICIES,
    '-o',
    bundle,
    '--signing-key',
    path.join(dir, 'keys', 'signing-key.pem'),
    '--kid',
    kid,
    '--revision',
    '42',
    '--scope',
    'bank-api/prod',
  ]);
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
});

describe('authzd keys generate', () => {
  it('writes a 0600 signing key and a public key, and prints the kid alone on stdout', () => {
    expect(kid).toMatch(/^[A-Za-z0-9_-]{43}$/); // base64url SHA-256 thumbprint
    expect(otherKid).not.toBe(kid);
    expect(statSync(path.join(dir, 'keys', 'signing-key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, 'keys', 'public-key.pem'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('refuses to overwrite a key pair', async () => {
    const again = await run(['keys', 'generate', '--out', path.join(dir, 'keys')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists; refusing to overwrite a key');
  });
});

describe('authzd bundle build + verify', () => {
  it('build reports what it wrote', async () => {
    const r = await run([
      'bundle',
      'build',
      POLICIES,
      '-o',
      path.join(dir, 'again.tar.gz'),
      '--signing-key',
      path.join(dir, 'keys', 'signing-key.pem'),
      '--kid',
      kid,
      '--revision',
      '42',
      '--scope',
      'bank-api/prod',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('7 policy files');
    expect(r.stdout).toContain('revision  42');
    expect(r.stdout).toContain(`signer    ${kid} (ES256)`);
  });

  it('verify accepts the bundle with the signer key and prints revision, signer and files', async () => {
    const r = await run([
      'bundle',
      'verify',
      bundle,
      '--public-key',
      path.join(dir, 'keys', 'public-key.pem'),
      '--scope',
      'bank-api/prod',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('bundle verified');
    expect(r.stdout).toContain('revision  42');
    expect(r.stdout).toContain(`signer    ${kid} (ES256)`);
    expect(r.stdout).toContain('files (7):');
    expect(r.stdout).toMatch(/[0-9a-f]{64} {2}accounts\.cedar/);
  });

  it('verify with another key fails with bundle_key_unknown and a sentence to act on', async () => {
    const r = await run([
      'bundle',
      'verify',
      bundle,
      '--public-key',
      path.join(dir, 'other', 'public-key.pem'),
      '--scope',
      'bank-api/prod',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`bundle rejected: bundle_key_unknown: signed by kid "${kid}"`);
    expect(r.stderr).toContain("trust the signer's public key");
  });

  it('verify trusts several keys (rotation), and a kid given as KID=PEM', async () => {
    const both = await run([
      'bundle',
      'verify',
      bundle,
      '--public-key',
      path.join(dir, 'other', 'public-key.pem'),
      '--public-key',
      path.join(dir, 'keys', 'public-key.pem'),
      '--scope',
      'bank-api/prod',
    ]);
    expect(both.code).toBe(0);
    const renamed = await run([
      'bundle',
      'verify',
      bundle,
      '--public-key',
      `not-the-kid=${path.join(dir, 'keys', 'public-key.pem')}`,
      '--scope',
      'bank-api/prod',
    ]);
    expect(renamed.code).toBe(1);
    expect(renamed.stderr).toContain('bundle_key_unknown');
  });

  it('verify refuses another scope and an older revision', async () => {
    const scope = await run(['bundle', 'verify', bundle, '--public-key', path.join(dir, 'keys', 'public-key.pem')]);
    expect(scope.code).toBe(1);
    expect(scope.stderr).toContain('bundle_scope_mismatch: signed for scope "bank-api/prod", expected "authzd"');
    const older = await run([
      'bundle',
      'verify',
      bundle,
      '--public-key',
      path.join(dir, 'keys', 'public-key.pem'),
      '--scope',
      'bank-api/prod',
      '--min-revision',
      '43',
    ]);
    expect(older.code).toBe(1);
    expect(older.stderr).toContain('bundle_rollback');
    const same = await run([
      'bundle',
      'verify',
      bundle,
      '--public-key',
      path.join(dir, 'keys', 'public-key.pem'),
      '--scope',
      'bank-api/prod',
      '--min-revision',
      '42',
    ]);
    expect(same.code).toBe(0);
  });

  it('verify rejects a damaged file as bundle_corrupt', async () => {
    const damaged = path.join(dir, 'damaged.tar.gz');
    const bytes = readFileSync(bundle);
    writeFileSync(damaged, bytes.subarray(0, bytes.length - 100));
    const r = await run([
      'bundle',
      'verify',
      damaged,
      '--public-key',
      path.join(dir, 'keys', 'public-key.pem'),
      '--scope',
      'bank-api/prod',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bundle rejected: bundle_corrupt');
  });
  it('takes key ids that begin with a dash, as 1 in 64 thumbprints do, in every flag that carries one', async () => {
    const keys = path.join(dir, 'dash');
    const generated = await run(['keys', 'generate', '--out', keys, '--kid', '-Fq3dash']);
    expect(generated.code).toBe(0);
    expect(generated.stdout.trim()).toBe('-Fq3dash');
    const out = path.join(dir, 'dash.tar.gz');
    const built = await run([
      'bundle',
      'build',
      POLICIES,
      '-o',
      out,
      '--signing-key',
      path.join(keys, 'signing-key.pem'),
      '--kid',
      '-Fq3dash',
    ]);
    expect(built.stderr).toBe('');
    expect(built.stdout).toContain('signer    -Fq3dash (ES256)');
    const verified = await run([
      'bundle',
      'verify',
      out,
      '--public-key',
      `-Fq3dash=${path.join(keys, 'public-key.pem')}`,
    ]);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
  });
});

describe('authzd bundle inspect', () => {
  it('prints the manifest, signer, files and hashes, saying it did not verify the signature', async () => {
    const r = await run(['bundle', 'inspect', bundle]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^NOT VERIFIED: .*without checking its signature/);
    expect(r.stdout).toContain('"revision": 42');
    expect(r.stdout).toContain('"scope": "bank-api/prod"');
    expect(r.stdout).toContain(`kid        "${kid}"`);
    expect(r.stdout).toContain('alg        "ES256"');
    expect(r.stdout).toMatch(/\d+ {2}[0-9a-f]{64} {2}routes\.yaml {2}\(matches the signed hash\)/);
  });

  it('still refuses an archive that breaks the entry rules', async () => {
    const garbage = path.join(dir, 'garbage.tar.gz');
    writeFileSync(garbage, 'not a bundle');
    const r = await run(['bundle', 'inspect', garbage]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bundle_corrupt');
  });
});

describe('authzd bundle build refuses', () => {
  it('a policy directory that does not compile, listing the problems and writing nothing', async () => {
    const broken = path.join(dir, 'broken');
    cpSync(POLICIES, broken, { recursive: true });
    writeFileSync(path.join(broken, 'oops.cedar'), 'permit(principal, action, resource) when {');
    const out = path.join(dir, 'broken.tar.gz');
    const r = await run([
      'bundle',
      'build',
      broken,
      '-o',
      out,
      '--signing-key',
      path.join(dir, 'keys', 'signing-key.pem'),
      '--kid',
      kid,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('policy set rejected');
    expect(r.stderr).toContain('oops.cedar');
    expect(existsSync(out)).toBe(false);
  });

  it('a public key as the signing key, and missing flags', async () => {
    const wrongKey = await run([
      'bundle',
      'build',
      POLICIES,
      '-o',
      path.join(dir, 'x.tar.gz'),
      '--signing-key',
      path.join(dir, 'keys', 'public-key.pem'),
      '--kid',
      kid,
    ]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('it holds a public key; bundles are signed with the private key');
    const missing = await run(['bundle', 'build', POLICIES, '-o', path.join(dir, 'x.tar.gz')]);
    expect(missing.code).toBe(2); // a usage error, as in every command
    expect(missing.stderr).toContain('--signing-key PEM is required');
  });
});
