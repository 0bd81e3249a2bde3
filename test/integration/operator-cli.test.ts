// What an operator meets at the command line, with the built CLI in real processes: the version, one exit
// status for usage errors everywhere, start-up errors reported once with file, line and column, log lines
// that say what really happens (a reload refused while a set keeps serving; a bundle refused once; none
// active yet), a port in use named with its setting and address, a cache directory that cannot be created
// failing start-up, the demo's temporary folder removed however it ends, the README's key id, and the
// generated keys, data and caches kept out of git and docker.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildBundle } from '../../src/bundle/build-bundle.js';
import { generateSigningKeys, readSigningKey } from '../../src/bundle/bundle-keys.js';
import { startBundleServer, type TestBundleServer } from '../helpers/bundle-server.js';
import { freePorts } from '../helpers/free-port.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { examplePolicyFiles } from '../helpers/policy-files.js';
import { CLI, ROOT, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { until } from '../helpers/until.js';

interface Result {
  /** null: killed after the timeout, i.e. the process neither finished nor failed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...options.env }, cwd: options.cwd, timeout: 100_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr }),
    );
  });
}

const count = (text: string, needle: string) => text.split(needle).length - 1;
const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

let dir: string;
let issuer: TestIssuer;
const jwt = () => ['--issuer', ISSUER, '--audience', AUDIENCE, '--jwks', issuer.jwksFile];
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-operator-cli-'));
  issuer = await createTestIssuer();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (issuer !== undefined) rmSync(issuer.dir, { recursive: true, force: true });
});

describe('authzd --version', () => {
  it('prints the package version, Cedar and Node.js, like authzd version', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const flag = await run(['--version']);
    expect(flag.code).toBe(0);
    expect(flag.stdout).toMatch(
      new RegExp(
        `^authzd ${pkg.version.replace(/\./g, '\\.')} \\(cedar \\d+\\.\\d+\\.\\d+, node ${process.versions.node}\\)\\n$`,
      ),
    );
    expect((await run(['version'])).stdout).toBe(flag.stdout);
  });
});

describe('one exit status for usage errors, in every command', () => {
  const cases: [string[], RegExp][] = [
    [[], /^usage: authzd <command>/],
    [['nope'], /^authzd: unknown command "nope"/],
    [['version', '--x'], /^authzd version: Unknown option '--x'/],
    [
      ['serve', '--polices', 'x'],
      /^authzd serve: Unknown option '--polices'\nrun "authzd serve --help" for its options\n$/,
    ],
    [['serve', '--bundle-scope', 'x'], /^authzd serve: .*--bundle-scope need --bundle-url/],
    [['check'], /^authzd check: --path is required/],
    [['demo', '--bogus'], /^authzd demo: Unknown option '--bogus'/],
    [['keys'], /^usage: authzd keys generate/],
    [['keys', 'generate'], /^authzd keys: --out DIR is required/],
    [['bundle'], /^usage: authzd bundle/],
    [['bundle', 'frobnicate'], /^authzd bundle: unknown bundle subcommand "frobnicate"/],
    [['bundle', 'build'], /^authzd bundle: expected exactly one DIR/],
    [['bundle', 'publish'], /^authzd bundle: --url URL is required/],
    [
      ['control-plane'],
      /^authzd control-plane: required: --policies, --signing-key, --kid, --addr, --data \(or --config FILE\)\n/,
    ],
    [['control-plane', '--nope'], /^authzd control-plane: Unknown option '--nope'/],
    [['policy'], /^usage: authzd policy test/],
    [['policy', 'test'], /^authzd policy: expected one policy directory/],
    [['replay'], /^authzd replay: name at least one LOG file/],
  ];
  it.each(cases)('authzd %j exits 2 and says why on standard error', async (args, message) => {
    const r = await run(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('help is not an error, a failure is 1, and the README documents the three', async () => {
    for (const args of [
      ['--help'],
      ['serve', '--help'],
      ['keys', '--help'],
      ['bundle', '--help'],
      ['policy', '--help'],
    ])
      expect((await run(args)).code, args.join(' ')).toBe(0);
    const broken = path.join(dir, 'broken-for-test');
    cpSync(path.join(ROOT, 'policies'), broken, { recursive: true });
    writeFileSync(path.join(broken, 'oops.cedar'), 'permit (principal, action,');
    expect((await run(['policy', 'test', broken])).code).toBe(1);
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(
      /\*\*Exit codes\*\*, the same for every command: `0` done[^]*`1` a failure[^]*`2` a usage error/,
    );
    expect(readme).toContain('`authzd --version`');
  });
});

describe('start-up errors, reported once and where they are', () => {
  it('a Cedar parse error: file, line and column, once, and no log line claiming a set keeps serving', async () => {
    const policies = path.join(dir, 'parse-error');
    cpSync(path.join(ROOT, 'policies'), policies, { recursive: true });
    const broken = '  when { context.request.method == "GET" && };';
    writeFileSync(path.join(policies, 'oops.cedar'), `@id("ok")\npermit (principal, action, resource)\n${broken}\n`);
    const r = await run([
      'serve',
      '--grpc-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
      '--policies',
      policies,
      ...jwt(),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`\n  - oops.cedar:3:${broken.indexOf('}') + 1}: unexpected token \`}\` (expected `);
    expect(count(r.stderr, 'oops.cedar')).toBe(1);
    expect(r.stderr).not.toMatch(/keeps serving/);
  });

  it('a schema error: reported once (not again for entities.json), with its line and column', async () => {
    const policies = path.join(dir, 'schema-error');
    cpSync(path.join(ROOT, 'policies'), policies, { recursive: true });
    const schema = readFileSync(path.join(policies, 'schema.cedarschema'), 'utf8');
    writeFileSync(path.join(policies, 'schema.cedarschema'), `${schema}\nentity Broken {\n  field: ,\n};\n`);
    const r = await run([
      'serve',
      '--grpc-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
      '--policies',
      policies,
      ...jwt(),
    ]);
    expect(r.code).toBe(1);
    const line = schema.split('\n').length + 2;
    expect(r.stderr).toMatch(new RegExp(`\\n {2}- schema\\.cedarschema:${line}:10: .*unexpected token`));
    expect(count(r.stderr, 'unexpected token')).toBe(1);
  });
});

describe('log lines say what happens', () => {
  let sidecar: RunningCli<{ adminPort: number }> | undefined;
  afterAll(async () => {
    await sidecar?.stop();
  });

  it('SIGHUP with a broken set: one line saying the active set keeps serving, and it does', async () => {
    const policies = path.join(dir, 'reload');
    cpSync(path.join(ROOT, 'policies'), policies, { recursive: true });
    sidecar = await spawnCli(
      ['serve', '--grpc-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--policies', policies, ...jwt()],
      (l) => (l.msg === 'authzd ready' ? { adminPort: l.adminPort as number } : undefined),
    );
    const active = jsonLines(sidecar.stderr()).find((l) => l.msg === 'policy set activated')!.version;
    writeFileSync(path.join(policies, 'oops.cedar'), 'permit (principal, action,');
    sidecar.child.kill('SIGHUP');
    await until('the reload to be refused', () =>
      sidecar!.stderr().includes('policy reload rejected') ? true : undefined,
    );
    const lines = jsonLines(sidecar.stderr()).filter((l) => String(l.msg).includes('rejected'));
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'policy reload rejected; the active set keeps serving',
        active,
        err: expect.stringContaining('oops.cedar:1:'),
      }),
    ]);
    expect((await fetch(`http://127.0.0.1:${sidecar.info.adminPort}/readyz`)).status).toBe(200);
  });

  describe('with bundles', () => {
    let server: TestBundleServer;
    let keys: Awaited<ReturnType<typeof generateSigningKeys>>;
    let follower: RunningCli<{ adminPort: number }> | undefined;
    const sign = async (revision: number, scope = 'authzd') => {
      const { key, alg } = await readSigningKey(keys.privateKeyFile);
      return buildBundle(examplePolicyFiles(), { signingKey: key, alg, kid: keys.kid, revision, scope });
    };
    const start = () =>
      spawnCli(
        [
          'serve',
          '--grpc-addr',
          '127.0.0.1:0',
          '--admin-addr',
          '127.0.0.1:0',
          '--bundle-url',
          server.url,
          '--bundle-public-key',
          `${keys.kid}=${keys.publicKeyFile}`,
          ...jwt(),
        ],
        (l) =>
          typeof l.adminPort === 'number' && typeof l.grpcPort === 'number' ? { adminPort: l.adminPort } : undefined,
      );
    const metrics = async () => (await fetch(`http://127.0.0.1:${follower!.info.adminPort}/metrics`)).text();
    beforeAll(async () => {
      server = await startBundleServer();
      keys = await generateSigningKeys(path.join(dir, 'bundle-keys'), { alg: 'ES256', kid: 'friction' });
    });
    afterAll(async () => {
      await follower?.stop();
      await server?.close();
    });

    it('a first bundle refused: says no policy set is active yet, not that one keeps serving', async () => {
      server.serve(await sign(4, 'another-deployment'));
      follower = await start();
      await until('the refusal', async () =>
        /bundle_scope_mismatch"\} [1-9]/.test(await metrics()) ? true : undefined,
      );
      const refusals = jsonLines(follower.stderr()).filter((l) => l.level === 50);
      expect(refusals.length).toBeGreaterThan(0);
      for (const l of refusals) expect(l.msg).toBe('bundle update failed; no policy set is active yet');
      expect(follower.stderr()).not.toMatch(/keeps serving/);
    });

    it('a rollback refused: logged once, saying the active set keeps serving', async () => {
      server.serve(await sign(5));
      await until('revision 5 to be active', async () =>
        /\nauthzd_bundle_revision 5\n/.test(await metrics()) ? true : undefined,
      );
      const before = jsonLines(follower!.stderr()).length;
      server.serve(await sign(3));
      await until('the rollback to be refused', async () =>
        /reason="bundle_rollback"\} 1/.test(await metrics()) ? true : undefined,
      );
      const after = jsonLines(follower!.stderr())
        .slice(before)
        .filter((l) => l.level === 50);
      expect(after).toEqual([
        expect.objectContaining({
          msg: 'bundle update failed; the active policy set keeps serving',
          stage: 'verify',
          reason: 'bundle_rollback',
          activeRevision: 5,
        }),
      ]);
    });
  });
});

describe('a port in use names its setting and address', () => {
  let holder: net.Server;
  let taken: string;
  beforeAll(async () => {
    holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    taken = `127.0.0.1:${(holder.address() as net.AddressInfo).port}`;
  });
  afterAll(() => holder?.close());

  it.each([
    ['--grpc-addr', 'grpc.address (--grpc-addr)'],
    ['--admin-addr', 'admin.address (--admin-addr)'],
    ['--http-addr', 'http.address (--http-addr)'],
  ])('serve %s: exits 1 with "%s <address>: cannot listen: the address is in use"', async (flag, setting) => {
    const addresses: Record<string, string> = {
      '--grpc-addr': '127.0.0.1:0',
      '--admin-addr': '127.0.0.1:0',
      [flag]: taken,
    };
    const r = await run(['serve', ...Object.entries(addresses).flat(), ...jwt()]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      `${setting} ${taken}: cannot listen: the address is in use (another process listens there)`,
    );
  });

  it('control-plane --addr: exits 1 naming --addr and the address', async () => {
    const keys = await generateSigningKeys(path.join(dir, 'cp-port-keys'), { alg: 'ES256', kid: 'port' });
    const r = await run(
      [
        'control-plane',
        '--policies',
        path.join(ROOT, 'policies'),
        '--signing-key',
        keys.privateKeyFile,
        '--kid',
        keys.kid,
        '--addr',
        taken,
        '--data',
        path.join(dir, 'cp-port-data'),
      ],
      {
        env: { AUTHZD_CP_ADMIN_TOKEN: 'port-admin-token-0123456789abcdef' },
      },
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`--addr ${taken}: cannot listen: the address is in use`);
  });
});

describe('a bundle cache directory that cannot be created', () => {
  it("under /proc: a start-up error naming the setting, promptly (Node's recursive mkdir would spin there forever)", async () => {
    const keys = await generateSigningKeys(path.join(dir, 'proc-keys'), { alg: 'ES256', kid: 'proc' });
    const started = Date.now();
    const r = await run([
      'serve',
      '--grpc-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
      '--bundle-url',
      'http://127.0.0.1:9/v1/bundles/default',
      '--bundle-public-key',
      keys.publicKeyFile,
      '--bundle-cache-dir',
      '/proc/authzd-test-cache',
      ...jwt(),
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      'bundle.cacheDir (--bundle-cache-dir) /proc/authzd-test-cache: cannot create or write it: ENOENT',
    );
    expect(Date.now() - started).toBeLessThan(25_000);
  });
});

describe('authzd demo removes its temporary folder on every exit', () => {
  const demo = async (signal: NodeJS.Signals | undefined, ports?: [number, number]) => {
    const tmp = mkdtempSync(path.join(dir, 'demo-tmp-'));
    const [grpc, admin] = ports ?? ((await freePorts(2)) as [number, number]);
    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, 'demo', '--grpc-addr', `127.0.0.1:${grpc}`, '--admin-addr', `127.0.0.1:${admin}`],
      { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    if (signal !== undefined) {
      await until('the demo to be ready', () => (out.includes('Ctrl-C stops the demo.') ? true : undefined), 30_000);
      expect(readdirSync(tmp).filter((n) => n.startsWith('authzd-demo-'))).toHaveLength(1);
      child.kill(signal);
    }
    const code = await exit;
    return { code, left: readdirSync(tmp), err };
  };

  it.each(['SIGINT', 'SIGTERM'] as const)('%s: exits 0 and the folder is gone', async (signal) => {
    const r = await demo(signal);
    expect(r.code, r.err).toBe(0);
    expect(r.left).toEqual([]);
  });

  it('a failed start (its port in use): exits 1 and the folder is gone', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const [admin] = await freePorts(1);
    try {
      const r = await demo(undefined, [(holder.address() as net.AddressInfo).port, admin]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('grpc.address (--grpc-addr)');
      expect(r.left).toEqual([]);
    } finally {
      holder.close();
    }
  });
});

describe('the README and the files its commands create', () => {
  const readme = () => readFileSync(path.join(ROOT, 'README.md'), 'utf8');

  it('keys generate prints the key id the next README commands use', async () => {
    const block = /### With a control plane[^]*?```sh\n([^]*?)```/.exec(readme())![1];
    const generate = /node dist\/cli\/main\.js (keys generate [^#\n]*)/.exec(block)![1].trim().split(/\s+/);
    const cwd = mkdtempSync(path.join(dir, 'readme-'));
    const r = await run(generate, { cwd });
    expect(r.code, r.stderr).toBe(0);
    const kid = r.stdout.trim();
    expect(block).toContain(`--kid ${kid} `);
    expect(block).toContain(`--bundle-public-key ${kid}=keys/public-key.pem`);
    expect(/# prints the key id: (\S+)/.exec(block)?.[1]).toBe(kid);
    expect(existsSync(path.join(cwd, 'keys', 'signing-key.pem'))).toBe(true);
  });

  // Paths the README's and docs' commands create in a checkout.
  const GENERATED = [
    'keys/signing-key.pem',
    'keys/public-key.pem',
    'keys-2026-07/signing-key.pem',
    'cp-keys/signing-key.pem',
    'cp-data/bundles/default/1.tar.gz',
    'cp-data/revocations/entries/1.json',
    'cache/bundle.tar.gz',
    'admin-token',
    'read-token',
    'ingest-token',
    'my-key.pem',
  ];

  it('git ignores them', () => {
    for (const file of GENERATED) {
      // Exit 0 when ignored, 1 when not.
      expect(() => execFileSync('git', ['check-ignore', '-q', '--no-index', file], { cwd: ROOT }), file).not.toThrow();
    }
    expect(() =>
      execFileSync('git', ['check-ignore', '-q', '--no-index', 'policies/accounts.cedar'], { cwd: ROOT }),
    ).toThrow();
  });

  it('docker leaves them out of the build context', () => {
    const patterns = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    // Docker matches each pattern (Go filepath.Match: `*` within one path segment) against a path and the
    // directories above it.
    const glob = (pattern: string) =>
      new RegExp(
        `^${pattern
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]')}$`,
      );
    const excluded = (file: string) => {
      const parts = file.split('/');
      return parts.some((_, i) => patterns.some((p) => glob(p).test(parts.slice(0, i + 1).join('/'))));
    };
    for (const file of GENERATED) expect(excluded(file), file).toBe(true);
    for (const needed of ['src/cli/main.ts', 'policies/accounts.cedar', 'package.json'])
      expect(excluded(needed), needed).toBe(false);
  });
});
