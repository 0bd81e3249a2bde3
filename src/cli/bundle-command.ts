import { open } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';

import { buildBundle, BundleBuildError } from '../bundle/build-bundle.js';
import { DEFAULT_SCOPE } from '../bundle/bundle-format.js';
import { readPublicKey, readSigningKey } from '../bundle/bundle-keys.js';
import { DEFAULT_BUNDLE_LIMITS } from '../bundle/bundle-limits.js';
import { BUNDLE_REJECTIONS, type BundleRejection } from '../bundle/bundle-rejections.js';
import { inspectBundle } from '../bundle/inspect-bundle.js';
import { printableJson, quoteUntrusted } from '../bundle/quote-untrusted.js';
import { type TrustedKey, verifyBundle } from '../bundle/verify-bundle.js';
import { writeTar } from '../bundle/write-tar.js';
import { ConfigError } from '../config/config-error.js';
import { readSecretFile } from '../config/read-secret.js';
import { readPolicyDir } from '../policy/policy-files.js';
import { replaceDurably } from '../util/write-durably.js';
import { EXIT } from './exit-codes.js';
import { formatPublishAnswer } from './format-publish-answer.js';
import { parseFlags, UsageError } from './parse-flags.js';

const HELP = `usage: authzd bundle <build|verify|inspect|publish> ...

Signed policy bundles (docs/bundles.md).

  authzd bundle build DIR -o FILE --signing-key PEM --kid ID [--revision R] [--scope S]
      compiles the policy set in DIR (refusing a broken one), then writes a signed bundle to FILE
      --revision R   positive integer, newer bundles get larger ones (default: Unix time in seconds)
      --scope S      the scope verifiers expect (default: ${DEFAULT_SCOPE}, as everywhere)

  authzd bundle verify FILE --public-key [KID=]PEM [--public-key ...] [--scope S] [--min-revision R]
      verifies FILE as a sidecar would; repeat --public-key to trust several keys (rotation). The kid of a
      key is its RFC 7638 thumbprint unless given as KID=PEM (write ./PEM for a path containing "=")
      --scope S          expected scope (default: ${DEFAULT_SCOPE})
      --min-revision R   refuse bundles older than revision R

  authzd bundle inspect FILE
      prints the manifest, files, hashes and signer WITHOUT verifying the signature

  authzd bundle publish [DIR] --url URL [--token-file F]
      asks a control plane to publish now: its policy directory (which the gate compiles and tests against
      its tests/*.yaml), or with DIR the policy files of DIR, uploaded (uploads carry no tests; run
      \`authzd policy test DIR\` first). Prints the revision published, or why the gate refused the set
      with every problem and failing test case (exit 1)
      --url URL        the bundle URL on the control plane's admin listener (--admin-addr, else --addr),
                       e.g. http://127.0.0.1:8081/v1/bundles/default
      --token-file F   file holding the admin token (default: env AUTHZD_CP_ADMIN_TOKEN)

exit status: 0 ok, 1 failure (verify: the bundle was rejected; publish: the set was refused), 2 usage error.`;

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'build':
      return build(rest);
    case 'verify':
      return verify(rest);
    case 'inspect':
      return inspect(rest);
    case 'publish':
      return publish(rest);
    case undefined:
      process.stderr.write(`${HELP}\n`);
      return EXIT.usage;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${HELP}\n`);
      return EXIT.ok;
    default:
      throw new UsageError(`unknown bundle subcommand "${sub}"; expected build, verify, inspect or publish`);
  }
}

async function build(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      out: { type: 'string', short: 'o' },
      'signing-key': { type: 'string' },
      kid: { type: 'string' },
      revision: { type: 'string' },
      scope: { type: 'string', default: DEFAULT_SCOPE },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) return help();
  const dir = onePositional(positionals, 'DIR');
  if (values.out === undefined) throw new UsageError('-o FILE is required');
  if (values['signing-key'] === undefined) throw new UsageError('--signing-key PEM is required');
  if (values.kid === undefined) throw new UsageError('--kid ID is required (`authzd keys generate` printed it)');
  const revision =
    values.revision === undefined ? Math.floor(Date.now() / 1000) : parseInteger('--revision', values.revision, 1);

  let files;
  try {
    files = await readPolicyDir(dir);
  } catch (err) {
    return fail('build', `cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (files.size === 0)
    return fail('build', `${dir} holds no policy files (*.cedar, schema.cedarschema, entities.json, routes.yaml)`);

  // Loaded here rather than at the top: only building needs cedar-wasm, and verify stays quick to start.
  const { compilePolicyModel, PolicyModelError } = await import('../policy/compile-policy-model.js');
  try {
    const model = compilePolicyModel(files);
    for (const warning of model.warnings) process.stderr.write(`warning: ${warning}\n`);
  } catch (err) {
    if (err instanceof PolicyModelError)
      return fail('build', `${err.message}\nno bundle written: fix the policy set first.`);
    throw err;
  }

  let bundle: Uint8Array;
  let alg: string;
  try {
    const signing = await readSigningKey(values['signing-key']);
    alg = signing.alg;
    bundle = await buildBundle(files, {
      signingKey: signing.key,
      alg: signing.alg,
      kid: values.kid,
      revision,
      scope: values.scope,
    });
  } catch (err) {
    if (err instanceof ConfigError || err instanceof BundleBuildError) return fail('build', err.message);
    throw err;
  }
  // Replaced in one rename, so whoever watches FILE never sees half a bundle.
  try {
    await replaceDurably(values.out, bundle, 0o644);
  } catch (err) {
    return fail('build', `cannot write ${values.out}: ${(err as Error).message}`);
  }
  process.stdout.write(
    `wrote ${values.out}: ${bundle.length} bytes, ${files.size} policy files\n` +
      `  revision  ${revision}\n  scope     ${values.scope}\n  signer    ${values.kid} (${alg})\n`,
  );
  return 0;
}

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      'public-key': { type: 'string', multiple: true, default: [] },
      scope: { type: 'string', default: DEFAULT_SCOPE },
      'min-revision': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) return help();
  const file = onePositional(positionals, 'FILE');
  if (values['public-key'].length === 0)
    throw new UsageError('--public-key PEM is required (repeat it to trust several keys)');
  const minRevision =
    values['min-revision'] === undefined ? undefined : parseInteger('--min-revision', values['min-revision'], 0);

  let keys: TrustedKey[];
  let bytes: Uint8Array;
  try {
    keys = await Promise.all(values['public-key'].map((arg) => readPublicKey(...keyArgument(arg))));
    bytes = await readBundleFile(file);
  } catch (err) {
    if (err instanceof ConfigError) return fail('verify', err.problems.join('\n  '));
    throw err;
  }
  const result = await verifyBundle(bytes, {
    keys,
    scope: values.scope,
    ...(minRevision !== undefined ? { minRevision } : {}),
  });
  if (!result.ok) return rejected(result.reason, result.detail);

  const { bundle } = result;
  const signer = keys.find((k) => k.kid === bundle.kid)!;
  const lines = [
    `bundle verified: ${file}`,
    `  revision  ${bundle.revision}`,
    `  scope     ${bundle.scope}`,
    `  signer    ${bundle.kid} (${signer.alg})`,
    `  created   ${bundle.created}`,
    `  digest    sha256:${bundle.digest}`,
    ...Object.entries(bundle.metadata).map(([k, v]) => `  metadata  ${k}=${quoteUntrusted(v)}`),
    `  files (${bundle.files.size}):`,
    ...[...bundle.files.keys()].map((name) => `    ${bundle.hashes.get(name)}  ${name}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function inspect(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) return help();
  const file = onePositional(positionals, 'FILE');
  let bytes: Uint8Array;
  try {
    bytes = await readBundleFile(file);
  } catch (err) {
    if (err instanceof ConfigError) return fail('inspect', err.problems.join('\n  '));
    throw err;
  }
  const result = await inspectBundle(bytes);
  if (!result.ok) return rejected(result.reason, result.detail);

  const { manifest, manifestProblem, signature, files, missing, digest } = result.inspection;
  const header = signature.header ?? {};
  const lines = [
    'NOT VERIFIED: inspect shows what the bundle claims without checking its signature; use `authzd bundle verify` before trusting it.',
    `bundle    ${file} (${bytes.length} bytes, sha256:${digest})`,
    '',
    'manifest:',
    manifest === undefined ? '  (none)' : printableJson(manifest).replace(/^/gm, '  '),
    ...(manifestProblem !== undefined ? [`  problem: ${manifestProblem}`] : []),
    '',
    'signature (unverified):',
    `  signatures ${signature.count}`,
    ...(signature.header !== undefined
      ? [
          `  kid        ${quoteUntrusted(header.kid)}`,
          `  alg        ${quoteUntrusted(header.alg)}`,
          `  typ        ${quoteUntrusted(header.typ)}`,
        ]
      : []),
    ...(signature.scope !== undefined
      ? [`  scope      ${quoteUntrusted(signature.scope)}`, `  revision   ${signature.revision}`]
      : []),
    ...(signature.problem !== undefined ? [`  problem: ${signature.problem}`] : []),
    '',
    `files (${files.length}):`,
    ...files.map((f) => {
      const note =
        f.signedSha256 === undefined
          ? 'not in the signed list'
          : f.signedSha256 === f.sha256
            ? 'matches the signed hash'
            : 'DIFFERS from the signed hash';
      return `  ${String(f.size).padStart(9)}  ${f.sha256}  ${f.name}  (${note})`;
    }),
    ...missing.map((name) => `  ${'-'.padStart(9)}  ${'-'.padEnd(64)}  ${quoteUntrusted(name)}  (signed but absent)`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function publish(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    { url: { type: 'string' }, 'token-file': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (values.help) return help();
  if (positionals.length > 1) throw new UsageError(`expected at most one DIR, got ${positionals.length}`);
  if (values.url === undefined)
    throw new UsageError("--url URL is required: the bundle URL on the control plane's admin listener");
  let target: URL;
  try {
    target = new URL(`${values.url.replace(/\/+$/, '')}/publish`);
  } catch {
    throw new UsageError(`--url ${values.url}: not a URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw new UsageError(`--url ${values.url}: expected http or https`);
  let token: string | undefined;
  if (values['token-file'] !== undefined) {
    try {
      token = readSecretFile(values['token-file']);
    } catch (err) {
      return fail(
        'publish',
        `--token-file ${values['token-file']}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  } else {
    token = process.env.AUTHZD_CP_ADMIN_TOKEN;
  }
  if (token === undefined || token === '')
    throw new UsageError('no admin token: pass --token-file F or set AUTHZD_CP_ADMIN_TOKEN');

  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let body: Uint8Array | undefined;
  const dir = positionals[0];
  if (dir !== undefined) {
    let files;
    try {
      files = await readPolicyDir(dir);
    } catch (err) {
      return fail('publish', `cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (files.size === 0)
      return fail('publish', `${dir} holds no policy files (*.cedar, schema.cedarschema, entities.json, routes.yaml)`);
    body = gzipSync(writeTar([...files].map(([name, text]) => [name, Buffer.from(text, 'utf8')] as const)));
    headers['content-type'] = 'application/gzip';
  }
  let res: Response;
  try {
    res = await fetch(target, {
      method: 'POST',
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return fail('publish', `cannot reach ${target.origin}: ${cause}`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const report = formatPublishAnswer(res.status, json);
  (report.ok ? process.stdout : process.stderr).write(
    report.ok ? report.text : `authzd bundle publish: ${report.text}`,
  );
  return report.ok ? 0 : 1;
}

/** Reads at most one byte more than the compressed cap: a huge file is refused without being loaded. */
async function readBundleFile(file: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file, 'r');
    const buffer = Buffer.alloc(DEFAULT_BUNDLE_LIMITS.maxCompressedBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length);
  } catch (err) {
    throw new ConfigError([`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  } finally {
    await handle?.close();
  }
}

/** `--public-key [KID=]PEM`: a kid prefix cannot contain "/", so a path like ./a=b.pem stays a path. */
function keyArgument(arg: string): [file: string, kid?: string] {
  const eq = arg.indexOf('=');
  if (eq > 0 && !arg.slice(0, eq).includes('/')) return [arg.slice(eq + 1), arg.slice(0, eq)];
  return [arg];
}

function rejected(reason: BundleRejection, detail: string): number {
  process.stderr.write(`bundle rejected: ${reason}: ${detail}\n  ${BUNDLE_REJECTIONS[reason]}\n`);
  return 1;
}

function fail(sub: string, message: string): number {
  process.stderr.write(`authzd bundle ${sub}: ${message}\n`);
  return 1;
}

function help(): number {
  process.stdout.write(`${HELP}\n`);
  return 0;
}

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one ${what}, got ${positionals.length}`);
  return positionals[0]!;
}

function parseInteger(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min)
    throw new UsageError(`${flag} ${text}: expected an integer >= ${min}`);
  return value;
}
