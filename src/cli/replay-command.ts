import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';

import { DEFAULT_SCOPE } from '../bundle/bundle-format.js';
import { readPublicKey } from '../bundle/bundle-keys.js';
import { DEFAULT_BUNDLE_LIMITS } from '../bundle/bundle-limits.js';
import { BUNDLE_REJECTIONS } from '../bundle/bundle-rejections.js';
import { type TrustedKey, verifyBundle } from '../bundle/verify-bundle.js';
import { ConfigError } from '../config/config-error.js';
import { readSecretFile } from '../config/read-secret.js';
import { STORE_DSN_ENV } from '../control-plane/control-plane-options.js';
import {
  describePostgres,
  parsePostgresDsn,
  type PostgresSettings,
} from '../control-plane/store/postgres/postgres-settings.js';
import type { PolicyFiles } from '../policy/policy-files.js';
import { parseFlags, UsageError } from './parse-flags.js';

const HELP = `usage: authzd replay (LOG... | --store-dsn-file F | --store postgres://...)
                     (--policies DIR | --bundle FILE --public-key [KID=]PEM [--scope S]) [options]

Re-evaluates logged decisions against another policy set and reports which would change (docs/audit.md).
LOG is NDJSON: a sidecar's audit log or the control plane's --data/decisions/YYYY-MM-DD.ndjson; "-" is stdin.
Or the decisions a PostgreSQL control-plane store holds (docs/control-plane.md, Storage):

  --store URL              postgres://USER@HOST[:PORT]/DATABASE[?sslmode=...] (no password here)
  --store-dsn-file F       file holding the whole DSN, password included (or env ${STORE_DSN_ENV})
  --store-tls MODE         disable, require or verify-full (default: the DSN's sslmode, else require)
  --store-tls-ca PEM       CA certificate(s) for verify-full
  --from DAY, --to DAY     UTC days (YYYY-MM-DD, inclusive) to read; default all that are kept

  --policies DIR           the policy set to replay against (a policy directory)
  --bundle FILE            ... or a signed bundle, verified first with
  --public-key [KID=]PEM   a trusted public key (repeatable)
  --scope S                the scope the bundle must be signed for (default: ${DEFAULT_SCOPE})
  --engine native|cedar-wasm  the Cedar evaluator (default: native, as the sidecar's policies.engine)
  --output text|json       report format (default: text)
  --limit N                stop after N decision events
  --fail-on-change         exit 1 when any decision with plain identifiers would change (a CI gate)

Events policies did not decide (malformed requests, token failures, unknown routes, rate limits), errors
and events logged without input are counted as not replayable. Events with hashed identifiers are
replayed approximately and counted apart.

exit status: 0 done, 1 a change with --fail-on-change, or a failure (bad flags, policy set or log).`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      policies: { type: 'string' },
      bundle: { type: 'string' },
      'public-key': { type: 'string', multiple: true, default: [] },
      scope: { type: 'string', default: DEFAULT_SCOPE },
      output: { type: 'string', default: 'text' },
      engine: { type: 'string', default: 'native' },
      limit: { type: 'string' },
      'fail-on-change': { type: 'boolean', default: false },
      store: { type: 'string' },
      'store-dsn-file': { type: 'string' },
      'store-tls': { type: 'string' },
      'store-tls-ca': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const fromStore =
    values.store !== undefined || values['store-dsn-file'] !== undefined || values['store-tls'] !== undefined;
  if (fromStore && positionals.length > 0)
    throw new UsageError('read LOG files or the store (--store, --store-dsn-file), not both');
  if (!fromStore && positionals.length === 0 && (process.env[STORE_DSN_ENV] ?? '') === '')
    throw new UsageError('name at least one LOG file (or - for standard input), or the store to read');
  if (!fromStore && (values.from !== undefined || values.to !== undefined) && positionals.length > 0)
    throw new UsageError('--from and --to select days of the store, not of LOG files');
  for (const [flag, day] of Object.entries({ from: values.from, to: values.to })) {
    if (day !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))))
      throw new UsageError(`--${flag} ${day}: expected a UTC day, YYYY-MM-DD`);
  }
  let store: PostgresSettings | undefined;
  if (positionals.length === 0) {
    const resolved = resolveReplayStore(values);
    if (typeof resolved === 'string') return fail(resolved);
    store = resolved;
  }
  if ((values.policies === undefined) === (values.bundle === undefined))
    throw new UsageError('give exactly one of --policies DIR and --bundle FILE');
  if (values.bundle !== undefined && values['public-key'].length === 0)
    throw new UsageError('--bundle needs --public-key PEM: bundles are always verified');
  if (values.policies !== undefined && values['public-key'].length > 0)
    throw new UsageError('--public-key goes with --bundle');
  if (values.engine !== 'native' && values.engine !== 'cedar-wasm')
    throw new UsageError(`--engine ${values.engine}: expected native or cedar-wasm`);
  if (values.output !== 'text' && values.output !== 'json')
    throw new UsageError(`--output ${values.output}: expected text or json`);
  let limit: number | undefined;
  if (values.limit !== undefined) {
    limit = Number(values.limit);
    if (!/^\d{1,15}$/.test(values.limit) || limit < 1)
      throw new UsageError(`--limit ${values.limit}: expected a positive whole number`);
  }
  for (const file of positionals) {
    if (file === '-') continue;
    const isFile = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!isFile) return fail(`${file}: not a readable file`);
  }

  // cedar-wasm loads with these: keep --help and flag errors instant.
  const { compilePolicyModel, PolicyModelError } = await import('../policy/compile-policy-model.js');
  const { readPolicyDir } = await import('../policy/policy-files.js');
  const { CedarWasmEngine } = await import('../engine/cedar-wasm/cedar-wasm-engine.js');
  const { NativeDecisionEngine } = await import('../engine/native/native-decision-engine.js');
  const { replayDecisions, exactChanges } = await import('../audit/replay-decisions.js');
  const { readLogLines } = await import('../audit/read-log-lines.js');
  const { formatReplayReport } = await import('../audit/format-replay-report.js');

  let files: PolicyFiles;
  let version: string | undefined;
  let described: string;
  if (values.policies !== undefined) {
    described = values.policies;
    try {
      files = await readPolicyDir(values.policies);
    } catch (err) {
      return fail(
        `--policies ${values.policies}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  } else {
    const loaded = await loadBundle(values.bundle!, values['public-key'], values.scope);
    if (typeof loaded === 'string') return fail(loaded);
    ({ files, version } = loaded);
    described = `${values.bundle} (revision ${version})`;
  }
  let model;
  try {
    model = compilePolicyModel(files, version);
  } catch (err) {
    if (err instanceof PolicyModelError) return fail(err.message);
    throw err;
  }
  // As a sidecar with the default configuration decides: requests validated against the schema.
  const engine =
    values.engine === 'cedar-wasm'
      ? new CedarWasmEngine({ validateRequests: true })
      : new NativeDecisionEngine({ validateRequests: true });
  const set = engine.prepare(model);

  const started = process.hrtime.bigint();
  let report;
  try {
    const lines =
      store === undefined
        ? readLogLines(positionals)
        : (await import('../control-plane/store/postgres/read-postgres-decisions.js')).readPostgresDecisions(store, {
            ...(values.from !== undefined ? { from: values.from } : {}),
            ...(values.to !== undefined ? { to: values.to } : {}),
          });
    report = await replayDecisions(lines, {
      engine,
      set,
      ...(limit !== undefined ? { limit } : {}),
    });
  } catch (err) {
    return fail(`reading the log failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const sources = store === undefined ? positionals : [describePostgres(store)];
  if (values.output === 'json') {
    process.stdout.write(
      `${JSON.stringify({ ...report, files: sources, policies: described, elapsedSeconds: Number(seconds.toFixed(3)) }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(formatReplayReport(report, { files: sources, policies: described }));
  }
  process.stderr.write(`replay: ${report.events} events in ${seconds.toFixed(2)} s\n`);
  return values['fail-on-change'] && exactChanges(report) > 0 ? 1 : 0;
}

/**
 * The PostgreSQL store to read decisions from: the DSN from --store-dsn-file, else AUTHZD_CP_STORE_DSN, else
 * --store (which may not hold a password: a flag is visible to anyone who lists processes). Or why not,
 * never quoting a DSN.
 */
function resolveReplayStore(values: {
  store?: string | undefined;
  'store-dsn-file'?: string | undefined;
  'store-tls'?: string | undefined;
  'store-tls-ca'?: string | undefined;
}): PostgresSettings | string {
  let dsn: string;
  let source: string;
  if (values['store-dsn-file'] !== undefined) {
    source = `--store-dsn-file ${values['store-dsn-file']}`;
    try {
      dsn = readSecretFile(values['store-dsn-file']);
    } catch (err) {
      return `${source}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
  } else if ((process.env[STORE_DSN_ENV] ?? '') !== '') {
    source = STORE_DSN_ENV;
    dsn = process.env[STORE_DSN_ENV]!;
  } else if (values.store !== undefined) {
    source = '--store';
    dsn = values.store;
  } else return 'the store needs a DSN: --store postgres://USER@HOST/DATABASE or --store-dsn-file FILE';
  const parsed = parsePostgresDsn(dsn);
  if (!parsed.ok) return `${source}: the store DSN is ${parsed.problem}`;
  const { sslmode, ...connection } = parsed.value;
  if (source === '--store' && connection.password !== undefined)
    return `--store: holds a password, which a flag shows to anyone who can list processes; use --store-dsn-file FILE or ${STORE_DSN_ENV}`;
  const mode = values['store-tls'] ?? sslmode ?? 'require';
  if (mode !== 'disable' && mode !== 'require' && mode !== 'verify-full')
    return `--store-tls ${mode}: expected disable, require or verify-full`;
  let ca: string | undefined;
  if (values['store-tls-ca'] !== undefined) {
    try {
      ca = readFileSync(values['store-tls-ca'], 'utf8');
    } catch (err) {
      return `--store-tls-ca ${values['store-tls-ca']}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    }
  }
  return { ...connection, poolSize: 1, tls: { mode, ...(ca !== undefined ? { ca } : {}) } };
}

/** Reads and verifies a bundle: its policy files and revision, or why it cannot be used. */
async function loadBundle(
  file: string,
  keyArgs: readonly string[],
  scope: string,
): Promise<{ files: PolicyFiles; version: string } | string> {
  let keys: TrustedKey[];
  let bytes: Uint8Array;
  try {
    keys = await Promise.all(keyArgs.map((arg) => readPublicKey(...keyArgument(arg))));
    const size = (await stat(file)).size;
    if (size > DEFAULT_BUNDLE_LIMITS.maxCompressedBytes)
      return `--bundle ${file}: larger than ${DEFAULT_BUNDLE_LIMITS.maxCompressedBytes} bytes`;
    bytes = await readFile(file);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n  ');
    return `--bundle ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  const result = await verifyBundle(bytes, { keys, scope });
  if (!result.ok) return `bundle rejected: ${result.reason}: ${result.detail}\n  ${BUNDLE_REJECTIONS[result.reason]}`;
  return { files: result.bundle.files, version: String(result.bundle.revision) };
}

/** `--public-key [KID=]PEM`, as `authzd bundle verify` reads it: a kid prefix cannot contain "/". */
function keyArgument(arg: string): [file: string, kid?: string] {
  const eq = arg.indexOf('=');
  if (eq > 0 && !arg.slice(0, eq).includes('/')) return [arg.slice(eq + 1), arg.slice(0, eq)];
  return [arg];
}

function fail(message: string): number {
  process.stderr.write(`authzd replay: ${message}\n`);
  return 1;
}
