// Known placeholders are refused for every secret, by real processes at start-up: the control plane's
// tokens (the very files deploy/kubernetes ships, and environment variables) and signing key, and the
// sidecar's bundle, revocation, remote and decision-shipping tokens and audit salt. The message names the
// secret and where it came from, never the value; a real secret in the same place starts.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKeys } from '../../src/bundle/bundle-keys.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { CLI, ROOT, spawnCli } from '../helpers/spawn-cli.js';

const SECRETS = path.join(ROOT, 'deploy', 'kubernetes', 'control-plane', 'secrets');
const ADMIN_PLACEHOLDER = path.join(SECRETS, 'admin-token.placeholder');
const READ_PLACEHOLDER = path.join(SECRETS, 'read-token.placeholder');
const KEY_PLACEHOLDER = path.join(SECRETS, 'signing-key.pem.placeholder');
const REAL = 'f3a91c07d25e4b8a9c1d6e2f7a0b3c4d5e6f7a8b9c0d1e2f';

/** Runs the CLI to its exit; a process that starts instead of refusing is killed after 20 s (code null). */
function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 100_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
      },
    );
  });
}

let dir: string;
let keys: Awaited<ReturnType<typeof generateSigningKeys>>;
let issuer: TestIssuer;
let policies: string;
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-placeholders-'));
  keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'ES256', kid: 'placeholder-test' });
  issuer = await createTestIssuer();
  policies = path.join(dir, 'policies');
  cpSync(path.join(ROOT, 'policies'), policies, { recursive: true });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (issuer !== undefined) rmSync(issuer.dir, { recursive: true, force: true });
});

const controlPlane = (extra: string[], signingKey = keys.privateKeyFile) => [
  'control-plane',
  '--policies',
  policies,
  '--signing-key',
  signingKey,
  '--kid',
  keys.kid,
  '--addr',
  '127.0.0.1:0',
  '--data',
  path.join(dir, `data-${Math.random().toString(36).slice(2)}`),
  ...extra,
];

/** The refusal: exit 1, the source and the secret named, the value nowhere. */
function expectRefused(
  result: { code: number | null; stderr: string; stdout: string },
  source: string,
  what: string,
  value: string,
): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toContain(`${source}: ${what} is a known placeholder, not a secret`);
  expect(`${result.stdout}${result.stderr}`).not.toContain(value);
}

describe('the control plane refuses placeholder secrets', () => {
  it('the admin and read tokens of deploy/kubernetes, each named with its flag and file', async () => {
    const r = await run(controlPlane(['--admin-token-file', ADMIN_PLACEHOLDER, '--read-token-file', READ_PLACEHOLDER]));
    expectRefused(
      r,
      `--admin-token-file ${ADMIN_PLACEHOLDER}`,
      'the admin token',
      readFileSync(ADMIN_PLACEHOLDER, 'utf8').trim(),
    );
    expectRefused(
      r,
      `--read-token-file ${READ_PLACEHOLDER}`,
      'the read token',
      readFileSync(READ_PLACEHOLDER, 'utf8').trim(),
    );
  });

  it('a placeholder in an environment variable, named by the variable', async () => {
    const value = 'Replace_Me_Replace_Me_42';
    const r = await run(controlPlane([]), { AUTHZD_CP_ADMIN_TOKEN: REAL, AUTHZD_CP_INGEST_TOKEN: value });
    expectRefused(r, 'AUTHZD_CP_INGEST_TOKEN', 'the ingest token', value);
  });

  it('the signing key placeholder of deploy/kubernetes', async () => {
    const r = await run(controlPlane([], KEY_PLACEHOLDER), { AUTHZD_CP_ADMIN_TOKEN: REAL });
    expectRefused(r, KEY_PLACEHOLDER, 'the signing key', 'not a key. Replace');
  });

  it('starts with secrets of its own in the same places', async () => {
    const cp = await spawnCli(
      controlPlane([
        '--admin-token-file',
        file('admin', `${REAL}\n`),
        '--read-token-file',
        file('read', `${REAL.split('').reverse().join('')}\n`),
      ]),
      (l) => (l.msg === 'control plane ready' ? (l.port as number) : undefined),
    );
    expect((await fetch(`http://127.0.0.1:${cp.info}/readyz`)).status).toBe(200);
    expect(await cp.stop()).toBe(0);
  });
});

describe('a sidecar refuses placeholder secrets', () => {
  const jwt = () => ['--issuer', ISSUER, '--audience', AUDIENCE, '--jwks', issuer.jwksFile];
  const serve = (config: string, env: Record<string, string> = {}) =>
    run(
      [
        'serve',
        '--config',
        file(
          `authzd-${Math.random().toString(36).slice(2)}.yaml`,
          `grpc: { address: "127.0.0.1:0" }\nadmin: { address: "127.0.0.1:0" }\n${config}`,
        ),
        ...jwt(),
      ],
      env,
    );

  it('the bundle token, from a file', async () => {
    const token = file('bundle-token', 'PLACEHOLDER-read-token-replace-me\n');
    const r = await serve(
      `bundle: { url: "http://127.0.0.1:9/v1/bundles/default", publicKeys: [{ file: ${JSON.stringify(keys.publicKeyFile)} }], tokenFile: ${JSON.stringify(token)} }`,
    );
    expectRefused(r, `bundle.tokenFile ${token}`, 'the bundle token', 'PLACEHOLDER-read-token');
  });

  it('the revocation token, from an environment variable', async () => {
    const r = await serve(`revocation: { url: "http://127.0.0.1:9/v1/revocations", tokenEnv: FEED_TOKEN }`, {
      FEED_TOKEN: 'changeme-changeme-changeme',
    });
    expectRefused(r, 'revocation.tokenEnv FEED_TOKEN', 'the revocation token', 'changeme-changeme');
  });

  it('the remote token', async () => {
    const token = file('remote-token', 'your-token-here-0123456789');
    const r = await serve(`remote: { url: "http://127.0.0.1:9/v1/authorize", tokenFile: ${JSON.stringify(token)} }`);
    expectRefused(r, `remote.tokenFile ${token}`, 'the remote token', 'your-token-here');
  });

  it('the decision-shipping token', async () => {
    const token = file('ship-token', 'xxxxxxxxxxxxxxxxxxxxxxxx');
    const r = await serve(
      `audit: { ship: { url: "http://127.0.0.1:9/v1/decisions", tokenFile: ${JSON.stringify(token)} } }`,
    );
    expectRefused(r, `audit.ship.tokenFile ${token}`, 'the audit.ship token', 'xxxxxxxxxxxxxxxx');
  });

  it('the audit hashing salt', async () => {
    const salt = file('salt', 'CHANGE-ME-CHANGE-ME');
    const r = await serve(`audit: { hashIdentifiers: true, hashSaltFile: ${JSON.stringify(salt)} }`);
    expectRefused(r, `audit.hashSaltFile ${salt}`, 'the hashing salt', 'CHANGE-ME');
  });
});
