import { readFile, stat } from 'node:fs/promises';
import { DEFAULT_SCOPE, KID_PATTERN, SCOPE_PATTERN } from '../bundle/bundle-format.js';
import { ConfigError } from '../config/config-error.js';
import { placeholderSecretProblem } from '../config/placeholder-secret-problem.js';

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
  readonly dataDir: string;
  readonly bundleName: string;
  readonly scope: string;
  readonly adminToken: string;
  readonly readToken: string | undefined;
  /** Token for POST /v1/decisions (sidecars shipping their decision log); the admin token is accepted too. */
  readonly ingestToken?: string | undefined;
  /** Bundles kept on disk per name. */
  readonly history: number;
  /** Daily decision files kept under `--data/decisions`, today's included (default 30). */
  readonly decisionRetentionDays?: number;
  /** `--min-revision`: no bundle is published below this revision. */
  readonly minRevision?: number;
  readonly timing: ControlPlaneTiming;
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
});

/** The command line as parsed: flag name -> value. */
export interface ControlPlaneFlags {
  readonly policies?: string;
  readonly 'signing-key'?: string;
  readonly kid?: string;
  readonly addr?: string;
  readonly 'admin-addr'?: string;
  readonly data?: string;
  readonly 'bundle-name'?: string;
  readonly scope?: string;
  readonly 'admin-token-file'?: string;
  readonly 'read-token-file'?: string;
  readonly 'ingest-token-file'?: string;
  readonly history?: string;
  readonly 'decision-retention-days'?: string;
  readonly 'min-revision'?: string;
}

export const DEFAULT_BUNDLE_NAME = 'default';
export const DEFAULT_HISTORY = 50;
export const DEFAULT_DECISION_RETENTION_DAYS = 30;
export const MIN_TOKEN_LENGTH = 16;
// A bundle name becomes a directory name and a URL segment.
const BUNDLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ADDRESS = /^(unix:\/\/\/.+|[^\s]*:\d{1,5})$/;
// RFC 6750 b64token: what fits in "Authorization: Bearer <token>" unquoted.
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Checks flags and environment (`AUTHZD_CP_ADMIN_TOKEN`, `AUTHZD_CP_READ_TOKEN`, `AUTHZD_CP_INGEST_TOKEN`; a token file flag wins
 * over the variable) and reads the token files. Throws a ConfigError listing every problem found; token
 * values never appear in it.
 */
export async function resolveControlPlaneOptions(
  flags: ControlPlaneFlags,
  env: Readonly<Record<string, string | undefined>>,
  timing: Partial<ControlPlaneTiming> = {},
): Promise<ControlPlaneOptions> {
  const problems: string[] = [];
  const required = (name: keyof ControlPlaneFlags): string => {
    const value = flags[name];
    if (value === undefined || value === '') problems.push(`--${name} is required`);
    return value ?? '';
  };
  const policies = required('policies');
  const signingKeyFile = required('signing-key');
  const kid = required('kid');
  const address = required('addr');
  const dataDir = required('data');

  if (kid !== '' && !KID_PATTERN.test(kid)) problems.push('--kid: 1-256 printable ASCII characters without spaces');
  if (address !== '' && !isAddress(address)) problems.push(`--addr ${JSON.stringify(address)}: expected HOST:PORT (port 0 picks a free one) or unix:///path`);
  const adminAddress = flags['admin-addr'];
  if (adminAddress !== undefined) {
    if (!isAddress(adminAddress)) problems.push(`--admin-addr ${JSON.stringify(adminAddress)}: expected HOST:PORT (port 0 picks a free one) or unix:///path`);
    else if (adminAddress === address && !/:0$/.test(address)) problems.push(`--admin-addr ${adminAddress}: the same as --addr; give the admin listener an address of its own`);
  }
  const bundleName = flags['bundle-name'] ?? DEFAULT_BUNDLE_NAME;
  if (!BUNDLE_NAME.test(bundleName)) problems.push(`--bundle-name ${JSON.stringify(bundleName)}: letters, digits, ".", "_" and "-", at most 128, not starting with a punctuation mark`);
  const scope = flags.scope ?? DEFAULT_SCOPE;
  if (!SCOPE_PATTERN.test(scope)) problems.push(`--scope ${JSON.stringify(scope)}: 1-256 printable ASCII characters without spaces`);
  let history = DEFAULT_HISTORY;
  if (flags.history !== undefined) {
    history = /^\d{1,6}$/.test(flags.history) ? Number(flags.history) : NaN;
    if (!(history >= 1 && history <= 100_000)) problems.push(`--history ${JSON.stringify(flags.history)}: a whole number from 1 to 100000`);
  }
  let decisionRetentionDays = DEFAULT_DECISION_RETENTION_DAYS;
  const retention = flags['decision-retention-days'];
  if (retention !== undefined) {
    decisionRetentionDays = /^\d{1,5}$/.test(retention) ? Number(retention) : NaN;
    if (!(decisionRetentionDays >= 1 && decisionRetentionDays <= 3650)) problems.push(`--decision-retention-days ${JSON.stringify(retention)}: a whole number of days from 1 to 3650`);
  }
  let minRevision: number | undefined;
  const floor = flags['min-revision'];
  if (floor !== undefined) {
    minRevision = /^\d{1,16}$/.test(floor) ? Number(floor) : NaN;
    if (!(Number.isSafeInteger(minRevision) && minRevision >= 1)) problems.push(`--min-revision ${JSON.stringify(floor)}: a positive whole number (at most 2^53 - 1)`);
  }
  if (policies !== '') {
    const isDir = await stat(policies).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) problems.push(`--policies ${policies}: not a readable directory`);
  }

  const adminToken = await token('admin', flags['admin-token-file'], env.AUTHZD_CP_ADMIN_TOKEN, problems);
  const readToken = await token('read', flags['read-token-file'], env.AUTHZD_CP_READ_TOKEN, problems);
  const ingestToken = await token('ingest', flags['ingest-token-file'], env.AUTHZD_CP_INGEST_TOKEN, problems);
  if (adminToken === undefined && !problems.some((p) => p.includes('admin token'))) {
    problems.push('no admin token: pass --admin-token-file FILE or set AUTHZD_CP_ADMIN_TOKEN (publishing and revoking need it)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    policies,
    signingKeyFile,
    kid,
    address,
    adminAddress,
    dataDir,
    bundleName,
    scope,
    adminToken: adminToken!,
    readToken,
    ingestToken,
    history,
    decisionRetentionDays,
    ...(minRevision !== undefined ? { minRevision } : {}),
    timing: { ...DEFAULT_TIMING, ...timing },
  };
}

function isAddress(address: string): boolean {
  return ADDRESS.test(address) && (address.startsWith('unix://') || Number(address.slice(address.lastIndexOf(':') + 1)) <= 65535);
}

async function token(kind: 'admin' | 'read' | 'ingest', file: string | undefined, fromEnv: string | undefined, problems: string[]): Promise<string | undefined> {
  let value: string;
  let source: string;
  if (file !== undefined) {
    source = `--${kind}-token-file ${file}`;
    try {
      value = await readFile(file, 'utf8');
    } catch (err) {
      problems.push(`${source}: cannot read the ${kind} token: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  } else if (fromEnv !== undefined && fromEnv !== '') {
    source = `AUTHZD_CP_${kind.toUpperCase()}_TOKEN`;
    value = fromEnv;
  } else {
    return undefined;
  }
  // Files usually end with a newline; nothing else is trimmed.
  value = value.replace(/\r?\n$/, '');
  const placeholder = placeholderSecretProblem(value, `the ${kind} token`, source);
  if (placeholder !== undefined) problems.push(placeholder);
  else if (value.length < MIN_TOKEN_LENGTH) problems.push(`${source}: the ${kind} token must be at least ${MIN_TOKEN_LENGTH} characters`);
  else if (!TOKEN.test(value)) problems.push(`${source}: the ${kind} token may hold only letters, digits and - . _ ~ + / (then =)`);
  else return value;
  return undefined;
}
