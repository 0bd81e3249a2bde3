import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import nodePath from 'node:path';

import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

import { ConfigError } from '../config/config-error.js';
import { placeholderSecretProblem } from '../config/placeholder-secret-problem.js';
import { readSecretFile } from '../config/read-secret.js';
import type { TracingConfig } from '../config/tracing-config-schema.js';
import {
  CONTROL_PLANE_FLAG_KEYS,
  ControlPlaneConfigSchema,
  DEFAULT_BUNDLE_NAME,
  DEFAULT_DECISION_RETENTION_DAYS,
  DEFAULT_HISTORY,
} from './control-plane-config-schema.js';
import type { StoreSettings } from './store/open-control-plane-store.js';
import { parsePostgresDsn, type PostgresSettings } from './store/postgres/postgres-settings.js';

/** Everything `authzd control-plane` runs with, checked. */
export interface ControlPlaneOptions {
  readonly policies: string;
  readonly signingKeyFile: string;
  readonly kid: string;
  /** HOST:PORT (port 0: any free port) or unix:///path. */
  readonly address: string;
  /**
   * The admin listener: publishing and revoking are served here and refused on `address`, so a network
   * policy can admit sidecars to `address` (reads) and operators to this one. Unset: `address` serves both.
   */
  readonly adminAddress?: string | undefined;
  /** Where bundles, revocations and decisions are kept: the directory (`--data`) or PostgreSQL. */
  readonly store: StoreSettings;
  readonly bundleName: string;
  readonly scope: string;
  readonly adminToken: string;
  readonly readToken: string | undefined;
  /** Token for POST /v1/decisions (sidecars shipping their decision log); the admin token is accepted too. */
  readonly ingestToken?: string | undefined;
  /** Bundles kept in the store per name. */
  readonly history: number;
  /** Days of decision logs kept, today's included (default 30). */
  readonly decisionRetentionDays?: number;
  /** `--min-revision`: no bundle is published below this revision. */
  readonly minRevision?: number;
  readonly timing: ControlPlaneTiming;
  /** The `tracing:` section (the OTEL_* variables are read over it at start-up); off by default. */
  readonly tracing?: TracingConfig;
}

/** Intervals with production defaults; tests shorten them. */
export interface ControlPlaneTiming {
  readonly watchDebounceMs: number;
  /** Content-hash poll of the policy directory and re-read of the bundle pointer. */
  readonly pollMs: number;
  readonly revocationRescanMs: number;
  readonly revocationCompactMs: number;
  /** An expired revocation stays on disk this long before compaction deletes it. */
  readonly revocationGraceSeconds: number;
  /** Resolution of long-poll timeouts. */
  readonly waitTickMs: number;
  /** How long SIGTERM waits for in-flight requests before closing their connections. */
  readonly drainTimeoutMs: number;
  /** How often expired decision files are looked for (also once at start). */
  readonly decisionRetentionCheckMs: number;
  /** How often the PostgreSQL store's connection is checked; an unanswered check is a lost connection. */
  readonly storeHealthCheckMs: number;
}

export const DEFAULT_TIMING: ControlPlaneTiming = Object.freeze({
  watchDebounceMs: 150,
  pollMs: 5_000,
  revocationRescanMs: 2_000,
  revocationCompactMs: 60_000,
  revocationGraceSeconds: 300,
  waitTickMs: 250,
  drainTimeoutMs: 10_000,
  decisionRetentionCheckMs: 3_600_000,
  storeHealthCheckMs: 5_000,
});

/** The command line as parsed: flag name -> value (see CONTROL_PLANE_FLAG_KEYS), and --config. */
export type ControlPlaneFlags = { readonly [F in keyof typeof CONTROL_PLANE_FLAG_KEYS]?: string } & {
  readonly config?: string;
};

export { DEFAULT_BUNDLE_NAME, DEFAULT_DECISION_RETENTION_DAYS, DEFAULT_HISTORY };
export const MIN_TOKEN_LENGTH = 16;
// RFC 6750 b64token: what fits in "Authorization: Bearer <token>" unquoted.
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const ENV = {
  adminFile: 'AUTHZD_CP_ADMIN_TOKEN',
  readFile: 'AUTHZD_CP_READ_TOKEN',
  ingestFile: 'AUTHZD_CP_INGEST_TOKEN',
} as const;
/** The PostgreSQL store's DSN, password included, when no store.dsnFile is given. */
export const STORE_DSN_ENV = 'AUTHZD_CP_STORE_DSN';
const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/**
 * Reads the YAML file (--config, if any), lets each flag replace the key it names, validates the result once
 * against ControlPlaneConfigSchema, then reads the token files (a token file wins over its environment
 * variable: AUTHZD_CP_ADMIN_TOKEN, AUTHZD_CP_READ_TOKEN, AUTHZD_CP_INGEST_TOKEN). Throws a ConfigError
 * listing every problem found, each named by its flag when a flag set it, else by its key path; token values
 * never appear in it. Relative paths in the file are resolved against the file's folder.
 */
export async function resolveControlPlaneOptions(
  flags: ControlPlaneFlags,
  env: Readonly<Record<string, string | undefined>>,
  timing: Partial<ControlPlaneTiming> = {},
): Promise<ControlPlaneOptions> {
  const problems: string[] = [];
  const input = flags.config !== undefined ? readConfigFile(flags.config) : {};
  const fromFlag = new Map<string, string>();
  for (const [flag, spec] of Object.entries(CONTROL_PLANE_FLAG_KEYS) as [
    keyof typeof CONTROL_PLANE_FLAG_KEYS,
    (typeof CONTROL_PLANE_FLAG_KEYS)[keyof typeof CONTROL_PLANE_FLAG_KEYS],
  ][]) {
    const value = flags[flag];
    if (value === undefined) continue;
    if (flag === 'store' && POSTGRES_URL.test(value)) {
      // `--store postgres://USER@HOST/DB`: the kind and the URL at once.
      const store = ((input as Record<string, Record<string, unknown>>).store ??= {});
      store.kind = 'postgres';
      store.url = value;
      fromFlag.set('store.kind', flag);
      fromFlag.set('store.url', flag);
      continue;
    }
    const [section, key] = spec.key;
    const target = ((input as Record<string, Record<string, unknown>>)[section] ??= {});
    // A number flag that is not a whole number stays a string, which the schema names as the wrong type.
    target[key] = 'number' in spec && /^\d{1,16}$/.test(value) ? Number(value) : value;
    fromFlag.set(`${section}.${key}`, flag);
  }
  const parsed = ControlPlaneConfigSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.join('.');
      const flag = fromFlag.get(path);
      const absent =
        issue.path.reduce<unknown>(
          (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k as string] : undefined),
          input,
        ) === undefined;
      const missing = issue.code === 'invalid_type' && absent;
      const flagOf = Object.entries(CONTROL_PLANE_FLAG_KEYS).find(([, spec]) => spec.key.join('.') === path)?.[0];
      // Reported below, whether or not the schema got as far as its cross-key checks.
      if (issue.code === 'custom' && path === 'data.directory') continue;
      if (issue.code === 'custom' && absent)
        problems.push(`${flagOf !== undefined ? `--${flagOf}` : path}: ${issue.message}`);
      else if (missing)
        problems.push(
          flags.config === undefined && flagOf !== undefined
            ? `--${flagOf} is required`
            : `${path || '(top level)'}: required${flagOf !== undefined ? ` (or --${flagOf})` : ''}`,
        );
      else if (flag === 'store' && POSTGRES_URL.test(flags.store ?? ''))
        // Never quote a DSN: it may hold a password.
        problems.push(`--store: ${issue.message}`);
      else if (flag !== undefined)
        problems.push(`--${flag} ${JSON.stringify(flags[flag as keyof ControlPlaneFlags])}: ${issue.message}`);
      else problems.push(`${flags.config}: ${path || '(top level)'}: ${issue.message}`);
    }
  }
  // The schema's cross-key checks run only once every key parsed; this one is reported with the others, once.
  const rawStore = (input as { store?: { kind?: unknown } }).store;
  if (rawStore?.kind !== 'postgres' && (input as { data?: { directory?: unknown } }).data?.directory === undefined)
    problems.push(
      flags.config === undefined
        ? '--data is required'
        : 'data.directory: required with the directory store (or --data)',
    );
  // The checks that read the file system run whatever the schema said, so every problem is listed at once.
  const raw = input as { policies?: { directory?: unknown }; tokens?: Partial<Record<keyof typeof ENV, unknown>> };
  const where = (section: string, key: string) =>
    fromFlag.has(`${section}.${key}`) ? `--${fromFlag.get(`${section}.${key}`)}` : `${section}.${key}`;
  const policies = raw.policies?.directory;
  if (typeof policies === 'string' && policies !== '') {
    const isDir = await stat(policies).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) problems.push(`${where('policies', 'directory')} ${policies}: not a readable directory`);
  }

  const tokens: Partial<Record<keyof typeof ENV, string>> = {};
  for (const kind of ['adminFile', 'readFile', 'ingestFile'] as const) {
    const name = kind.replace('File', '') as 'admin' | 'read' | 'ingest';
    const file = typeof raw.tokens?.[kind] === 'string' ? raw.tokens[kind] : undefined;
    tokens[kind] = token(name, file, file !== undefined ? where('tokens', kind) : undefined, env[ENV[kind]], problems);
  }
  if (tokens.adminFile === undefined && !problems.some((p) => p.includes('admin token'))) {
    problems.push(
      'no admin token: pass --admin-token-file FILE (tokens.adminFile) or set AUTHZD_CP_ADMIN_TOKEN (publishing and revoking need it)',
    );
  }
  const store = parsed.success ? storeSettings(parsed.data, where, env, problems) : undefined;
  if (problems.length > 0 || !parsed.success || store === undefined) throw new ConfigError(problems);
  const c = parsed.data;
  return {
    policies: c.policies.directory,
    signingKeyFile: c.signing.keyFile,
    kid: c.signing.kid,
    address: c.listen.address,
    adminAddress: c.listen.adminAddress,
    store,
    bundleName: c.bundle.name,
    scope: c.bundle.scope,
    adminToken: tokens.adminFile!,
    readToken: tokens.readFile,
    ingestToken: tokens.ingestFile,
    history: c.data.history,
    decisionRetentionDays: c.data.decisionRetentionDays,
    ...(c.bundle.minRevision !== undefined ? { minRevision: c.bundle.minRevision } : {}),
    timing: { ...DEFAULT_TIMING, ...timing },
    tracing: c.tracing,
  };
}

/** The YAML file with every relative path resolved against its folder. */
function readConfigFile(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'), { uniqueKeys: true }) ?? {};
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([
      code !== undefined
        ? `cannot read ${file}: ${code}`
        : `${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    ]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError([`${file}: expected a mapping at the top level`]);
  const base = nodePath.dirname(nodePath.resolve(file));
  const resolve = (section: string, key: string) => {
    const s = (raw as Record<string, Record<string, unknown>>)[section];
    if (typeof s === 'object' && s !== null && typeof s[key] === 'string') s[key] = nodePath.resolve(base, s[key]);
  };
  for (const [section, key] of [
    ['policies', 'directory'],
    ['signing', 'keyFile'],
    ['data', 'directory'],
    ['store', 'dsnFile'],
    ['store', 'tlsCaFile'],
    ['store', 'tlsCertFile'],
    ['store', 'tlsKeyFile'],
    ['tokens', 'adminFile'],
    ['tokens', 'readFile'],
    ['tokens', 'ingestFile'],
  ])
    resolve(section!, key!);
  return raw as Record<string, unknown>;
}

function token(
  kind: 'admin' | 'read' | 'ingest',
  file: string | undefined,
  fileSource: string | undefined,
  fromEnv: string | undefined,
  problems: string[],
): string | undefined {
  let value: string;
  let source: string;
  if (file !== undefined) {
    source = `${fileSource} ${file}`;
    try {
      value = readSecretFile(file);
    } catch (err) {
      problems.push(
        `${source}: cannot read the ${kind} token: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
      return undefined;
    }
  } else if (fromEnv !== undefined && fromEnv !== '') {
    source = `AUTHZD_CP_${kind.toUpperCase()}_TOKEN`;
    value = fromEnv;
  } else {
    return undefined;
  }
  const placeholder = placeholderSecretProblem(value, `the ${kind} token`, source);
  if (placeholder !== undefined) problems.push(placeholder);
  else if (value.length < MIN_TOKEN_LENGTH)
    problems.push(`${source}: the ${kind} token must be at least ${MIN_TOKEN_LENGTH} characters`);
  else if (!TOKEN.test(value))
    problems.push(`${source}: the ${kind} token may hold only letters, digits and - . _ ~ + / (then =)`);
  else return value;
  return undefined;
}

/**
 * The store's settings: the directory, or PostgreSQL with its DSN (store.dsnFile, else AUTHZD_CP_STORE_DSN,
 * else store.url, which may not hold a password: a flag is visible to every user of the machine) and TLS
 * files read now. Problems never quote a DSN.
 */
function storeSettings(
  c: z.output<typeof ControlPlaneConfigSchema>,
  where: (section: string, key: string) => string,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): StoreSettings | undefined {
  if (c.store.kind === 'directory') return { kind: 'directory', directory: c.data.directory! };
  let dsn: string;
  let source: string;
  if (c.store.dsnFile !== undefined) {
    source = `${where('store', 'dsnFile')} ${c.store.dsnFile}`;
    try {
      dsn = readSecretFile(c.store.dsnFile);
    } catch (err) {
      problems.push(
        `${source}: cannot read the store DSN: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
      return undefined;
    }
  } else if (env[STORE_DSN_ENV] !== undefined && env[STORE_DSN_ENV] !== '') {
    source = STORE_DSN_ENV;
    dsn = env[STORE_DSN_ENV];
  } else if (c.store.url !== undefined) {
    source = where('store', 'url');
    dsn = c.store.url;
  } else {
    problems.push(
      `store.kind postgres needs a DSN: --store postgres://USER@HOST/DATABASE, --store-dsn-file FILE (store.dsnFile) or ${STORE_DSN_ENV}`,
    );
    return undefined;
  }
  const parsed = parsePostgresDsn(dsn);
  if (!parsed.ok) {
    problems.push(`${source}: the store DSN is ${parsed.problem}`);
    return undefined;
  }
  const { sslmode, ...connection } = parsed.value;
  if (connection.password !== undefined) {
    if (source === where('store', 'url')) {
      problems.push(
        `${source}: holds a password, which a flag or the configuration file shows to anyone who can list processes or read the file; put the DSN in --store-dsn-file FILE or ${STORE_DSN_ENV}`,
      );
      return undefined;
    }
    const placeholder = placeholderSecretProblem(
      connection.password,
      "the store DSN's password",
      source,
      "your database user's real password",
    );
    if (placeholder !== undefined) {
      problems.push(placeholder);
      return undefined;
    }
  }
  const pem = (key: 'tlsCaFile' | 'tlsCertFile' | 'tlsKeyFile'): string | undefined => {
    const file = c.store[key];
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(
        `${where('store', key)} ${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
      return undefined;
    }
  };
  const ca = pem('tlsCaFile');
  const cert = pem('tlsCertFile');
  const key = pem('tlsKeyFile');
  const mode = c.store.tlsMode ?? sslmode ?? 'require';
  if (mode === 'disable' && (ca !== undefined || cert !== undefined))
    problems.push(`${where('store', 'tlsMode')}: disable, yet TLS files are given; use require or verify-full`);
  const postgres: PostgresSettings = {
    ...connection,
    poolSize: c.store.poolSize,
    tls: {
      mode,
      ...(ca !== undefined ? { ca } : {}),
      ...(cert !== undefined ? { cert } : {}),
      ...(key !== undefined ? { key } : {}),
    },
  };
  return { kind: 'postgres', postgres };
}
