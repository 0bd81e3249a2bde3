import cluster from 'node:cluster';

import { AggregatorRegistry, Registry } from 'prom-client';

import { DEFAULT_SCOPE } from '../bundle/bundle-format.js';
import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/config-schema.js';
import { loadConfig } from '../config/load-config.js';
import { compilePolicyModel, PolicyModelError } from '../policy/compile-policy-model.js';
import { readPolicyDir } from '../policy/policy-files.js';
import { AssertionKeyring } from '../server/assertion-keyring.js';
import { isClusterMessage, runCluster } from '../server/run-cluster.js';
import { type Authzd, EMBEDDED_POLICIES, startAuthzd } from '../server/start-authzd.js';
import { createLogger } from '../telemetry/create-logger.js';
import { parseFlags, UsageError } from './parse-flags.js';

const HELP = `usage: authzd serve [options]

  --config FILE        YAML configuration (docs/configuration.md); flags below override it
  --policies DIR       policy directory (default: the embedded example policies)
  --issuer URL         accepted token issuer (needs --audience and --jwks)
  --audience AUD       accepted audience for --issuer (repeatable)
  --jwks FILE|URL      key set of --issuer: a local JWKS file or an https URL
  --grpc-addr ADDR     ext_authz listener, HOST:PORT or unix:///path (default 0.0.0.0:9191)
  --admin-addr ADDR    metrics/health listener (default 0.0.0.0:9192)
  --http-addr ADDR     plain-HTTP authorization listener for Envoy http_service, nginx auth_request,
                       Traefik forwardAuth (default off; bind to loopback or unix://; docs/http-interface.md)
  --workers N          serving processes sharing the listener (default 1; config grpc.workers)
  --bundle-url URL     take policies from signed bundles at URL (a control plane or any HTTP server)
  --bundle-public-key [KID=]PEM   key trusted to sign bundles (repeatable, for rotation)
  --bundle-cache-dir DIR   keep the last verified bundle here and start from it
  --bundle-scope S     scope the bundles must be signed for (default: ${DEFAULT_SCOPE}, the control plane's default)
  --revocation-url URL follow this revocation feed (the control plane's /v1/revocations)

signals: SIGTERM/SIGINT drain and exit 0; SIGHUP re-reads the policy directory.`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    config: { type: 'string' },
    policies: { type: 'string' },
    issuer: { type: 'string' },
    audience: { type: 'string', multiple: true },
    jwks: { type: 'string' },
    'grpc-addr': { type: 'string' },
    'admin-addr': { type: 'string' },
    'http-addr': { type: 'string' },
    workers: { type: 'string' },
    'bundle-url': { type: 'string' },
    'bundle-public-key': { type: 'string', multiple: true },
    'bundle-cache-dir': { type: 'string' },
    'bundle-scope': { type: 'string' },
    'revocation-url': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const issuerFlags = [values.issuer, values.audience, values.jwks].filter((v) => v !== undefined).length;
  if (issuerFlags !== 0 && issuerFlags !== 3) throw new UsageError('--issuer, --audience and --jwks go together');
  if (
    (values['bundle-public-key'] !== undefined ||
      values['bundle-cache-dir'] !== undefined ||
      values['bundle-scope'] !== undefined) &&
    values['bundle-url'] === undefined
  ) {
    throw new UsageError('--bundle-public-key, --bundle-cache-dir and --bundle-scope need --bundle-url');
  }

  let app: Authzd | undefined;
  let config;
  try {
    config = loadConfig(values.config, {
      ...(values.policies !== undefined ? { policies: values.policies } : {}),
      ...(values['grpc-addr'] !== undefined ? { grpcAddress: values['grpc-addr'] } : {}),
      ...(values['admin-addr'] !== undefined ? { adminAddress: values['admin-addr'] } : {}),
      ...(values['http-addr'] !== undefined ? { httpAddress: values['http-addr'] } : {}),
      ...(values.workers !== undefined ? { workers: parseWorkers(values.workers) } : {}),
      ...(values['bundle-url'] !== undefined
        ? {
            bundle: {
              url: values['bundle-url'],
              publicKeys: (values['bundle-public-key'] ?? []).map(parseKeyFlag),
              ...(values['bundle-cache-dir'] !== undefined ? { cacheDir: values['bundle-cache-dir'] } : {}),
              ...(values['bundle-scope'] !== undefined ? { scope: values['bundle-scope'] } : {}),
            },
          }
        : {}),
      ...(values['revocation-url'] !== undefined ? { revocationUrl: values['revocation-url'] } : {}),
      ...(values.issuer !== undefined
        ? { issuer: { issuer: values.issuer, audiences: values.audience!, jwks: values.jwks! } }
        : {}),
    });
    if (config.grpc.workers > 1 && cluster.isPrimary) {
      // Check the policies once here, so a broken set fails start-up instead of every worker in a loop.
      if (config.bundle.url === undefined)
        compilePolicyModel(await readPolicyDir(config.policies.directory ?? EMBEDDED_POLICIES));
      return await runCluster(config, createLogger(config.log.level));
    }
    if (cluster.isWorker) return runWorker(config);
    installSignalHandlers(() => app);
    app = await startAuthzd(config);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PolicyModelError) {
      process.stderr.write(`authzd: ${err.message}\n`);
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

/**
 * Signal handling, installed before start-up: a signal that arrives as the ready line is written must not
 * meet Node's defaults (SIGHUP would end the process, SIGTERM skip the drain). Until the sidecar runs,
 * SIGTERM and SIGINT end the process at once (nothing is in flight) and SIGHUP is ignored (the policy set is
 * being read anyway).
 */
function installSignalHandlers(current: () => Authzd | undefined): void {
  const stop = (signal: string) => {
    const app = current();
    if (app === undefined) process.exit(0);
    app.logger.info({ signal }, 'signal received');
    app.shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    current()
      ?.reloadPolicies()
      .catch(() => {
        /* logged by reloadPolicies, with the set that keeps serving */
      });
  });
}

/** `--bundle-public-key KID=path` or `path` (kid: the key's RFC 7638 thumbprint). */
function parseKeyFlag(value: string): { file: string; kid?: string } {
  const eq = value.indexOf('=');
  return eq > 0 ? { kid: value.slice(0, eq), file: value.slice(eq + 1) } : { file: value };
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--workers ${value}: expected a positive integer`);
  return n;
}

/** A cluster worker: serves ext_authz; the primary owns signals, readiness and the admin endpoints. */
async function runWorker(config: Config): Promise<number> {
  const registry = new Registry();
  // Constructing one installs the worker's answer to the primary's metrics requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries(registry);
  const logger = createLogger(config.log.level).child({ worker: cluster.worker?.id });
  let assertionKeys: AssertionKeyring | undefined;
  if (config.assertions.enabled) {
    // The primary owns the assertion keys; wait for them before serving, and take every rotation.
    assertionKeys = new AssertionKeyring(config.assertions);
    const keyring = assertionKeys;
    await new Promise<void>((resolve) => {
      process.on('message', (message: unknown) => {
        if (isClusterMessage(message) && message.type === 'authzd:assertion-keys')
          void keyring.load(message.keys).then(resolve);
      });
      process.send?.({ type: 'authzd:need-assertion-keys' });
    });
  }
  const app = await startAuthzd(config, {
    registry,
    logger,
    adminServer: false,
    ...(assertionKeys !== undefined ? { assertionKeys } : {}),
  });
  // Signals reach the whole process group from a terminal; the primary decides when workers stop.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.type === 'authzd:shutdown')
      app.shutdown().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    if (message.type === 'authzd:reload') app.reloadPolicies().catch(() => {});
  });
  // The primary's /readyz is on while every worker can decide.
  const report = (status: string) =>
    process.send?.({ type: status === 'SERVING' ? 'authzd:ready' : 'authzd:not-ready' });
  app.readiness.watch(report);
  report(app.readiness.status);
  return new Promise<number>(() => {});
}
