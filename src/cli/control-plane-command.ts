import { DEFAULT_SCOPE } from '../bundle/bundle-format.js';
import { ConfigError } from '../config/config-error.js';
import { resolveControlPlaneOptions } from '../control-plane/control-plane-options.js';
import { type ControlPlane, startControlPlane } from '../control-plane/start-control-plane.js';
import { parseFlags, UsageError } from './parse-flags.js';

const HELP = `usage: authzd control-plane [options]

Authors, signs and serves policy bundles and the revocation feed (docs/control-plane.md).

  --config FILE            YAML file with the settings below (docs/control-plane.md, Configuration); each
                           flag given replaces the key it names
  --policies DIR           policy directory to publish (watched; every change is validated, then signed)
  --signing-key PEM        PKCS#8 private key that signs bundles (P-256 or Ed25519; authzd keys generate)
  --kid ID                 key id written into bundle signatures; verifiers select the public key by it
  --addr HOST:PORT         HTTP listener (port 0 picks a free one), or unix:///path
  --admin-addr HOST:PORT   a second listener for publishing and revoking, which --addr then refuses, so a
                           network policy can admit sidecars (reads) and operators (writes) apart
  --data DIR               the directory store: bundles/<name>/<revision>.tar.gz, current.json, revocations/,
                           decisions/ (one replica, or several on one volume)
  --store KIND|URL         directory (default) or postgres; postgres://USER@HOST[:PORT]/DB (no password
                           here) selects PostgreSQL for several replicas (docs/control-plane.md, Storage)
  --store-dsn-file F       file holding the whole DSN, password included (or env AUTHZD_CP_STORE_DSN)
  --store-pool-size N      connections per replica (default 10; the LISTEN connection comes on top)
  --store-tls MODE         disable, require (default: encrypted, server not verified) or verify-full
  --store-tls-ca PEM       CA certificate(s) for verify-full
  --store-tls-cert PEM     client certificate (with --store-tls-key)
  --store-tls-key PEM      client certificate's private key
  --bundle-name NAME       the bundle's name in /v1/bundles/NAME (default: default)
  --scope S                scope signed into every bundle (default: ${DEFAULT_SCOPE}, what sidecars and
                           authzd bundle verify expect unless told otherwise)
  --admin-token-file F     bearer token for publishing and revoking (or env AUTHZD_CP_ADMIN_TOKEN; required)
  --read-token-file F      bearer token for bundles, revocations and authorize (or env AUTHZD_CP_READ_TOKEN;
                           without one, reads are open)
  --ingest-token-file F    bearer token for POST /v1/decisions, the sidecars' decision logs (or env
                           AUTHZD_CP_INGEST_TOKEN; without one, only the admin token may append)
  --history N              bundles kept on disk (default 50)
  --decision-retention-days N   daily decision files kept under DIR/decisions (default 30)
  --min-revision N         publish no bundle revision below N (revisions are at least the Unix time in
                           seconds anyway; this is for a clock that was once ahead, docs/operations.md)

signals: SIGTERM/SIGINT answer parked long polls, drain and exit 0; SIGHUP publishes the policy directory now.`;

const REQUIRED_FLAGS = ['policies', 'signing-key', 'kid', 'addr'] as const;

/** The command's flags; docs/control-plane.md has a row for each (checked by a test). */
export const CONTROL_PLANE_FLAGS = {
  config: { type: 'string' },
  policies: { type: 'string' },
  'signing-key': { type: 'string' },
  kid: { type: 'string' },
  addr: { type: 'string' },
  'admin-addr': { type: 'string' },
  data: { type: 'string' },
  'bundle-name': { type: 'string' },
  scope: { type: 'string' },
  'admin-token-file': { type: 'string' },
  'read-token-file': { type: 'string' },
  'ingest-token-file': { type: 'string' },
  history: { type: 'string' },
  'decision-retention-days': { type: 'string' },
  'min-revision': { type: 'string' },
  store: { type: 'string' },
  'store-dsn-file': { type: 'string' },
  'store-pool-size': { type: 'string' },
  'store-tls': { type: 'string' },
  'store-tls-ca': { type: 'string' },
  'store-tls-cert': { type: 'string' },
  'store-tls-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, CONTROL_PLANE_FLAGS);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }

  // Without a file every required setting must come from a flag; with one, the schema says what is missing.
  // --data is the directory store's; another store needs none.
  const required = [
    ...REQUIRED_FLAGS,
    ...(values.store === undefined || values.store === 'directory' ? ['data' as const] : []),
  ];
  const missing = required.filter((name) => values[name] === undefined || values[name] === '');
  if (values.config === undefined && missing.length > 0)
    throw new UsageError(`required: ${missing.map((name) => `--${name}`).join(', ')} (or --config FILE)`);

  // Handlers from before start-up, as in serve: a signal right after the ready line must not meet Node's
  // defaults. Until the control plane runs, SIGTERM and SIGINT end the process at once; SIGHUP is ignored.
  let app: ControlPlane | undefined;
  const stop = (signal: string) => {
    const running = app;
    if (running === undefined) process.exit(0);
    running.logger.info({ signal }, 'signal received');
    running.shutdown().then(
      () => running.logger.flush(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    app?.publishDirectory().catch(() => {
      /* logged and counted by the publication itself */
    });
  });
  try {
    app = await startControlPlane(await resolveControlPlaneOptions(values, process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`authzd control-plane: ${err.message}\n`);
      return 1;
    }
    throw err;
  }

  const running = app;
  process.on('uncaughtException', (err) => {
    running.logger.fatal({ err: err.message, stack: err.stack }, 'uncaught exception');
    running.logger.flush();
    process.exit(1);
  });
  // Keep running until a signal arrives.
  return new Promise<number>(() => {});
}
