import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../../src/config/config-error.js';
import { resolveControlPlaneOptions } from '../../../src/control-plane/control-plane-options.js';

const dir = mkdtempSync(path.join(tmpdir(), 'authzd-cp-options-'));
const tokenFile = path.join(dir, 'admin-token');
writeFileSync(tokenFile, 'file-token-0123456789abcdef\n');
const flags = { policies: dir, 'signing-key': 'k.pem', kid: 'k1', addr: '127.0.0.1:0', data: dir };

async function problems(
  f: Parameters<typeof resolveControlPlaneOptions>[0],
  env: Record<string, string> = {},
): Promise<readonly string[]> {
  try {
    await resolveControlPlaneOptions(f, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('resolveControlPlaneOptions', () => {
  it('applies defaults and takes the admin token from a file before the environment', async () => {
    const options = await resolveControlPlaneOptions(
      { ...flags, 'admin-token-file': tokenFile },
      { AUTHZD_CP_ADMIN_TOKEN: 'env-token-0123456789abcdef' },
    );
    expect(options).toMatchObject({
      bundleName: 'default',
      scope: 'authzd',
      history: 50,
      adminToken: 'file-token-0123456789abcdef',
      readToken: undefined,
    });
    const fromEnv = await resolveControlPlaneOptions(
      { ...flags, 'bundle-name': 'payments', history: '7' },
      { AUTHZD_CP_ADMIN_TOKEN: 'env-token-0123456789abcdef', AUTHZD_CP_READ_TOKEN: 'read-token-0123456789abcdef' },
    );
    expect(fromEnv).toMatchObject({
      bundleName: 'payments',
      scope: 'authzd',
      history: 7,
      adminToken: 'env-token-0123456789abcdef',
      readToken: 'read-token-0123456789abcdef',
    });
  });

  it('lists every problem at once, never a token value', async () => {
    const found = await problems(
      {
        policies: path.join(dir, 'missing'),
        kid: 'has space',
        addr: 'localhost',
        'bundle-name': '../x',
        history: '0',
        'read-token-file': path.join(dir, 'nope'),
      },
      { AUTHZD_CP_ADMIN_TOKEN: 'short-secret' },
    );
    expect(found).toEqual([
      '--signing-key is required',
      '--kid "has space": 1-256 printable ASCII characters without spaces',
      '--addr "localhost": expected HOST:PORT (port 0 picks a free one) or unix:///path',
      '--history "0": a whole number from 1 to 100000',
      '--bundle-name "../x": letters, digits, ".", "_" and "-", at most 128, not starting with a punctuation mark',
      '--data is required',
      `--policies ${path.join(dir, 'missing')}: not a readable directory`,
      'AUTHZD_CP_ADMIN_TOKEN: the admin token must be at least 16 characters',
      `--read-token-file ${path.join(dir, 'nope')}: cannot read the read token: ENOENT`,
    ]);
    expect(found.join('\n')).not.toContain('short-secret');
  });

  it('takes an admin listener address of its own, checked like --addr', async () => {
    const env = { AUTHZD_CP_ADMIN_TOKEN: 'env-token-0123456789abcdef' };
    expect(await resolveControlPlaneOptions({ ...flags, 'admin-addr': '127.0.0.1:8081' }, env)).toMatchObject({
      address: '127.0.0.1:0',
      adminAddress: '127.0.0.1:8081',
    });
    expect((await resolveControlPlaneOptions(flags, env)).adminAddress).toBeUndefined();
    expect(await problems({ ...flags, 'admin-addr': 'nowhere' }, env)).toEqual([
      '--admin-addr "nowhere": expected HOST:PORT (port 0 picks a free one) or unix:///path',
    ]);
    expect(await problems({ ...flags, addr: '0.0.0.0:8080', 'admin-addr': '0.0.0.0:8080' }, env)).toEqual([
      '--admin-addr "0.0.0.0:8080": the same as listen.address; give the admin listener an address of its own',
    ]);
  });

  it('refuses placeholder tokens, naming where each came from', async () => {
    const placeholder = path.join(dir, 'admin.placeholder');
    writeFileSync(placeholder, 'PLACEHOLDER-admin-token-replace-me\n');
    const found = await problems(
      { ...flags, 'admin-token-file': placeholder },
      { AUTHZD_CP_READ_TOKEN: 'change-me-change-me-0123' },
    );
    expect(found.map((p) => p.split(': put one')[0])).toEqual([
      `--admin-token-file ${placeholder}: the admin token is a known placeholder, not a secret`,
      'AUTHZD_CP_READ_TOKEN: the read token is a known placeholder, not a secret',
    ]);
    expect(found.join('\n')).not.toMatch(/PLACEHOLDER-admin|change-me-change/);
  });

  it('requires an admin token', async () => {
    expect(await problems(flags)).toEqual([
      'no admin token: pass --admin-token-file FILE (tokens.adminFile) or set AUTHZD_CP_ADMIN_TOKEN (publishing and revoking need it)',
    ]);
  });

  it("reads a YAML file (--config) in the sidecar's idiom: paths relative to it, flags win, unknown keys named by path", async () => {
    const cfg = path.join(dir, 'cp.yaml');
    writeFileSync(path.join(dir, 'read-token'), 'read-token-0123456789abcdef\n');
    writeFileSync(
      cfg,
      [
        'policies: { directory: . }',
        'signing: { keyFile: k.pem, kid: from-file }',
        'listen: { address: "127.0.0.1:8080", adminAddress: "127.0.0.1:8081" }',
        'data: { directory: data, history: 9 }',
        'bundle: { name: bank }',
        'tokens: { readFile: read-token }',
        '',
      ].join('\n'),
    );
    const env = { AUTHZD_CP_ADMIN_TOKEN: 'env-token-0123456789abcdef' };
    const options = await resolveControlPlaneOptions({ config: cfg, kid: 'from-flag' }, env);
    expect(options).toMatchObject({
      policies: dir,
      signingKeyFile: path.join(dir, 'k.pem'),
      kid: 'from-flag',
      address: '127.0.0.1:8080',
      adminAddress: '127.0.0.1:8081',
      store: { kind: 'directory', directory: path.join(dir, 'data') },
      history: 9,
      bundleName: 'bank',
      scope: 'authzd',
      readToken: 'read-token-0123456789abcdef',
    });
    writeFileSync(
      cfg,
      [
        'policies: { directory: ., watch: true }',
        'signing: { keyFile: k.pem, kid: k }',
        'listen: { address: "127.0.0.1:0" }',
        'data: { directory: data, history: "9" }',
        'extra: 1',
        '',
      ].join('\n'),
    );
    const found = await problems({ config: cfg }, env);
    expect([...found].sort()).toEqual([
      `${cfg}: (top level): Unrecognized key: "extra"`,
      `${cfg}: data.history: a whole number from 1 to 100000`,
      `${cfg}: policies: Unrecognized key: "watch"`,
    ]);
    writeFileSync(cfg, 'signing: { kid: k }\n');
    expect(await problems({ config: cfg }, env)).toEqual([
      'policies: required',
      'signing.keyFile: required (or --signing-key)',
      'listen: required',
      'data.directory: required with the directory store (or --data)',
    ]);
  });

  describe('the PostgreSQL store', () => {
    const env = { AUTHZD_CP_ADMIN_TOKEN: 'env-token-0123456789abcdef' };
    const { data: _data, ...noData } = flags;
    const dsnFile = path.join(dir, 'store-dsn');
    writeFileSync(dsnFile, 'postgres://authzd:s3cr3t-db-password-7f1c@db.internal:6432/authzd?sslmode=verify-full\n');
    const caFile = path.join(dir, 'store-ca.pem');
    writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

    it('takes the DSN from a file, the environment or --store, in that order, and needs no --data', async () => {
      const fromFile = await resolveControlPlaneOptions(
        { ...noData, store: 'postgres', 'store-dsn-file': dsnFile, 'store-tls-ca': caFile },
        { ...env, AUTHZD_CP_STORE_DSN: 'postgres://other@elsewhere/db' },
      );
      expect(fromFile.store).toEqual({
        kind: 'postgres',
        postgres: {
          host: 'db.internal',
          port: 6432,
          database: 'authzd',
          user: 'authzd',
          password: 's3cr3t-db-password-7f1c',
          poolSize: 10,
          tls: { mode: 'verify-full', ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
        },
      });
      const fromEnv = await resolveControlPlaneOptions(
        { ...noData, store: 'postgres', 'store-pool-size': '3', 'store-tls': 'disable' },
        { ...env, AUTHZD_CP_STORE_DSN: 'postgresql://cp:pw-0123456789abcdef@10.0.0.5/control' },
      );
      expect(fromEnv.store).toMatchObject({
        kind: 'postgres',
        postgres: {
          host: '10.0.0.5',
          port: 5432,
          user: 'cp',
          database: 'control',
          poolSize: 3,
          tls: { mode: 'disable' },
        },
      });
      const fromFlag = await resolveControlPlaneOptions({ ...noData, store: 'postgres://cp@db/authzd' }, env);
      // TLS unless told otherwise: a database across a network is reached encrypted.
      expect(fromFlag.store).toMatchObject({ kind: 'postgres', postgres: { host: 'db', tls: { mode: 'require' } } });
    });

    it('refuses a password in --store, a placeholder password and a bad DSN, never quoting the DSN', async () => {
      const withPassword = await problems({ ...noData, store: 'postgres://cp:hunter2-secret@db/authzd' }, env);
      expect(withPassword).toHaveLength(1);
      expect(withPassword[0]).toMatch(/holds a password/);
      expect(withPassword.join()).not.toContain('hunter2');

      const placeholder = path.join(dir, 'placeholder-dsn');
      writeFileSync(placeholder, 'postgres://authzd:PLACEHOLDER-store-password-replace-me@db/authzd\n');
      const refused = await problems({ ...noData, store: 'postgres', 'store-dsn-file': placeholder }, env);
      expect(refused.join()).toMatch(/known placeholder/);
      expect(refused.join()).not.toContain('PLACEHOLDER-store-password');

      const bad = await problems({ ...noData, store: 'postgres' }, { ...env, AUTHZD_CP_STORE_DSN: 'mysql://u:pw@h/d' });
      expect(bad).toEqual(['AUTHZD_CP_STORE_DSN: the store DSN is scheme mysql: is not postgres:// or postgresql://']);
      expect(await problems({ ...noData, store: 'postgres' }, env)).toEqual([
        'store.kind postgres needs a DSN: --store postgres://USER@HOST/DATABASE, --store-dsn-file FILE (store.dsnFile) or AUTHZD_CP_STORE_DSN',
      ]);
      expect(await problems({ ...flags, 'store-pool-size': '0', 'store-tls': 'verify-full' }, env)).toEqual(
        expect.arrayContaining([expect.stringMatching(/--store-pool-size "0": a whole number from 1 to 100/)]),
      );
      expect(await problems({ ...noData }, env)).toEqual(['--data is required']);
    });
  });
});
