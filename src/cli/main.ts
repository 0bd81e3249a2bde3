#!/usr/bin/env node
// authzd's command-line entry point. Kept thin: it applies the engine's V8 flag before anything can load
// cedar-wasm, then hands over to the command.
import '../cedar/engine-flags.js';

import { EXIT } from './exit-codes.js';
import { UsageError } from './parse-flags.js';

const USAGE = `usage: authzd <command> [options]

commands:
  serve     run the sidecar (ext_authz gRPC + admin HTTP)
  check     send one CheckRequest to a running sidecar and print the decision
  demo      run the sidecar on the example policies with a throwaway issuer and print ready-to-run checks
  bundle    build, verify or inspect a signed policy bundle
  keys      generate a bundle signing key pair
  control-plane  sign and serve policy bundles and the revocation feed
  policy    test a policy set against the cases in its tests/*.yaml
  routes    import routes and schema declarations from an OpenAPI document
  replay    re-evaluate logged decisions against another policy set (impact analysis)
  version   print the version (also: authzd --version)

run "authzd <command> --help" for a command's options.
exit status, every command: 0 done, 1 failure, 2 usage error (nothing was done).`;

const commands: Record<string, () => Promise<{ run(args: string[]): Promise<number> }>> = {
  serve: () => import('./serve-command.js'),
  check: () => import('./check-command.js'),
  demo: () => import('./demo-command.js'),
  bundle: () => import('./bundle-command.js'),
  keys: () => import('./keys-command.js'),
  'control-plane': () => import('./control-plane-command.js'),
  policy: () => import('./policy-command.js'),
  routes: () => import('./routes-command.js'),
  replay: () => import('./replay-command.js'),
  version: () => import('./version-command.js'),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  const command = name === '--version' ? 'version' : name;
  const load = commands[command];
  if (load === undefined) {
    process.stderr.write(`authzd: unknown command "${name}"\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  try {
    return await (await load()).run(rest);
  } catch (err) {
    // Every command's usage errors end here, so they share one exit status and one shape.
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`authzd ${command}: ${err.message}\nrun "authzd ${command} --help" for its options\n`);
    return EXIT.usage;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`authzd: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failure;
  },
);
