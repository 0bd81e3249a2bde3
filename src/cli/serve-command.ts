import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/load-config.js';
import { PolicyModelError } from '../policy/compile-policy-model.js';
import { startAuthzd } from '../server/start-authzd.js';
import { parseFlags, UsageError } from './parse-flags.js';

const HELP = `usage: authzd serve [options]

  --config FILE        YAML configuration (docs/configuration.md); flags below override it
  --policies DIR       policy directory (default: the embedded example policies)
  --issuer URL         accepted token issuer (needs --audience and --jwks)
  --audience AUD       accepted audience for --issuer (repeatable)
  --jwks FILE|URL      key set of --issuer: a local JWKS file or an https URL
  --grpc-addr ADDR     ext_authz listener, HOST:PORT or unix:///path (default 0.0.0.0:9191)
  --admin-addr ADDR    metrics/health listener (default 0.0.0.0:9192)

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
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const issuerFlags = [values.issuer, values.audience, values.jwks].filter((v) => v !== undefined).length;
  if (issuerFlags !== 0 && issuerFlags !== 3) throw new UsageError('--issuer, --audience and --jwks go together');

  let app;
  try {
    const config = loadConfig(values.config, {
      ...(values.policies !== undefined ? { policies: values.policies } : {}),
      ...(values['grpc-addr'] !== undefined ? { grpcAddress: values['grpc-addr'] } : {}),
      ...(values['admin-addr'] !== undefined ? { adminAddress: values['admin-addr'] } : {}),
      ...(values.issuer !== undefined ? { issuer: { issuer: values.issuer, audiences: values.audience!, jwks: values.jwks! } } : {}),
    });
    app = await startAuthzd(config);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PolicyModelError) {
      process.stderr.write(`authzd: ${err.message}\n`);
      return 1;
    }
    throw err;
  }

  const stop = (signal: string) => {
    app.logger.info({ signal }, 'signal received');
    app.shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    app.reloadPolicies().catch(() => {
      /* logged by activate; the active set keeps serving */
    });
  });
  process.on('uncaughtException', (err) => {
    app.logger.fatal({ err: err.message, stack: err.stack }, 'uncaught exception');
    app.logger.flush();
    process.exit(1);
  });
  // Keep running until a signal arrives.
  return new Promise<number>(() => {});
}
