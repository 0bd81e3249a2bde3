import type { ClientConfig } from 'pg';

export type PostgresTlsMode = 'disable' | 'require' | 'verify-full';

/** Where the PostgreSQL store is and how to reach it; built once from the configuration (never logged whole). */
export interface PostgresSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** From the DSN file or AUTHZD_CP_STORE_DSN; never in a flag, the configuration file or a log line. */
  readonly password?: string;
  /**
   * `disable`: plain TCP (a Unix socket, a loopback or an encrypted overlay network); `require`: TLS without
   * verifying the server (encryption only); `verify-full`: TLS, the server's certificate checked against `ca`
   * (or the system's roots) and its name against `host`.
   */
  readonly tls: {
    readonly mode: PostgresTlsMode;
    /** PEM contents, read at start-up. */
    readonly ca?: string;
    readonly cert?: string;
    readonly key?: string;
  };
  /** Connections in the query pool; the LISTEN connection comes on top. */
  readonly poolSize: number;
}

export type ParsedDsn = Omit<PostgresSettings, 'tls' | 'poolSize'> & { readonly sslmode?: PostgresTlsMode };

const SSLMODES: Record<string, PostgresTlsMode> = {
  disable: 'disable',
  require: 'require',
  'verify-full': 'verify-full',
};

/**
 * `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…&host=/unix/socket/dir]` (`postgresql://` too).
 * Returns the settings or a problem that never quotes the DSN (it may hold a password).
 */
export function parsePostgresDsn(dsn: string): { ok: true; value: ParsedDsn } | { ok: false; problem: string } {
  let url: URL;
  try {
    url = new URL(dsn.trim());
  } catch {
    return { ok: false, problem: 'not a URL; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE' };
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    return { ok: false, problem: `scheme ${url.protocol.slice(0, 20)} is not postgres:// or postgresql://` };
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) return { ok: false, problem: 'no database name after the host' };
  const user = decodeURIComponent(url.username);
  if (user === '') return { ok: false, problem: 'no user name (postgres://USER@HOST/DATABASE)' };
  let host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let sslmode: PostgresTlsMode | undefined;
  for (const [key, value] of url.searchParams) {
    if (key === 'host') host = value;
    else if (key === 'sslmode') {
      sslmode = SSLMODES[value];
      if (sslmode === undefined)
        return { ok: false, problem: `sslmode=${value}: expected disable, require or verify-full` };
    } else return { ok: false, problem: `parameter ${key}: not supported (only sslmode and host)` };
  }
  if (host === '') return { ok: false, problem: 'no host' };
  const port = url.port === '' ? 5432 : Number(url.port);
  return {
    ok: true,
    value: {
      host,
      port,
      database,
      user,
      ...(url.password !== '' ? { password: decodeURIComponent(url.password) } : {}),
      ...(sslmode !== undefined ? { sslmode } : {}),
    },
  };
}

/** The DSN as it may be logged: no password, whatever it holds. */
export function describePostgres(s: Pick<PostgresSettings, 'host' | 'port' | 'database' | 'user'>): string {
  const host = s.host.startsWith('/') ? `[${s.host}]` : s.host.includes(':') ? `[${s.host}]` : s.host;
  return `postgres://${encodeURIComponent(s.user)}@${host}:${s.port}/${encodeURIComponent(s.database)}`;
}

/** node-postgres' client configuration for these settings. */
export function pgClientConfig(s: PostgresSettings, applicationName: string): ClientConfig {
  return {
    host: s.host,
    port: s.port,
    database: s.database,
    user: s.user,
    ...(s.password !== undefined ? { password: s.password } : {}),
    application_name: applicationName,
    // A database that does not answer must not hang start-up or a readiness check.
    connectionTimeoutMillis: 5_000,
    // Nor a query on a connection that went silent (a partition, not a refusal): the request fails with 500
    // instead of hanging until TCP gives up, and the listener has already turned readiness off.
    query_timeout: 15_000,
    keepAlive: true,
    ssl:
      s.tls.mode === 'disable'
        ? false
        : {
            rejectUnauthorized: s.tls.mode === 'verify-full',
            ...(s.tls.ca !== undefined ? { ca: s.tls.ca } : {}),
            ...(s.tls.cert !== undefined ? { cert: s.tls.cert } : {}),
            ...(s.tls.key !== undefined ? { key: s.tls.key } : {}),
          },
  };
}
