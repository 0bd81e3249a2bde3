import { applyImport } from '../openapi/apply-import.js';
import { formatImportReport, type ImportOutcome } from '../openapi/format-import-report.js';
import { OpenApiImportError } from '../openapi/openapi-import-error.js';
import { planImport } from '../openapi/plan-import.js';
import { normalizeBasePath } from '../openapi/resolve-base-path.js';
import { parseFlags, UsageError } from './parse-flags.js';

const HELP = `usage: authzd routes import OPENAPI_FILE [--policies DIR] [--base-path PATH] [--namespace NAME]
                            [--skip-unsupported] [--dry-run] [--output text|json]

Routes from an OpenAPI 3.0 or 3.1 document (docs/openapi.md).

  authzd routes import OPENAPI_FILE
      maps each operation of the document (YAML or JSON, local $refs resolved) to a routes.yaml route and
      the Cedar schema declarations it needs, merges them into the policy directory keeping what was
      edited by hand, checks that the result compiles, and prints what changed
      --policies DIR       the policy directory (default: policies); created when missing
      --base-path PATH     path prefix of every route instead of the servers' URL path ("/": none)
      --namespace NAME     Cedar namespace of a routes.yaml the import creates
      --skip-unsupported   import the other operations when the router cannot serve some, listing those
      --dry-run            print what would change, write nothing
      --output text|json   the changes for people (default), or one JSON object

exit status: 0 imported, or nothing to change; 1 nothing written: the document is unreadable or invalid,
the router cannot serve some operations (without --skip-unsupported), or the result would not compile;
2 usage error.`;

const USAGE_ERROR = 2;

/** The flags of `authzd routes import` (docs/openapi.md lists them; a test keeps the two equal). */
export const IMPORT_OPTIONS = {
  policies: { type: 'string', default: 'policies' },
  'base-path': { type: 'string' },
  namespace: { type: 'string' },
  'skip-unsupported': { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  output: { type: 'string', default: 'text' },
  help: { type: 'boolean', short: 'h' },
} as const;
const CEDAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/;

export async function run(args: string[]): Promise<number> {
  try {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'import':
        return await importRoutes(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${HELP}\n`);
        return sub === undefined ? USAGE_ERROR : 0;
      default:
        throw new UsageError(`unknown routes subcommand "${sub}"; expected import`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`authzd routes: ${err.message}\n\n${HELP}\n`);
    return USAGE_ERROR;
  }
}

async function importRoutes(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, IMPORT_OPTIONS, true);
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one OpenAPI file, got ${positionals.length} arguments`);
  const output = values.output;
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, got "${output}"`);
  if (values.namespace !== undefined && !CEDAR_NAME.test(values.namespace))
    throw new UsageError(`--namespace must be a Cedar name (Bank, Acme::Payments), got "${values.namespace}"`);
  const basePath = values['base-path'];
  if (basePath !== undefined && (!basePath.startsWith('/') || /[?#{}]/.test(basePath))) {
    throw new UsageError(
      `--base-path must be a path beginning with "/" (no query, fragment or parameters), got "${basePath}"`,
    );
  }

  try {
    const plan = await planImport({
      documentFile: positionals[0]!,
      policyDir: values.policies,
      basePath: basePath !== undefined ? normalizeBasePath(basePath) : undefined,
      namespace: values.namespace,
    });
    const refused = plan.report.refused.length > 0 && !values['skip-unsupported'];
    let outcome: ImportOutcome;
    if (refused) outcome = { kind: 'refused' };
    else if (values['dry-run']) outcome = { kind: 'dry-run' };
    else outcome = { kind: 'written', files: await applyImport(plan) };
    if (output === 'json') {
      write({
        ok: !refused,
        dryRun: values['dry-run'],
        written: outcome.kind === 'written' ? outcome.files : [],
        ...plan.report,
      });
    } else {
      process.stdout.write(formatImportReport(plan.report, outcome));
    }
    return refused ? 1 : 0;
  } catch (err) {
    if (!(err instanceof OpenApiImportError)) throw err;
    if (output === 'json') write({ ok: false, error: { code: err.code, message: err.message, details: err.details } });
    else
      process.stderr.write(
        `authzd routes import: ${err.message}\n${err.details.map((d) => `  ${d.replace(/\n/g, '\n  ')}\n`).join('')}`,
      );
    return 1;
  }
}

function write(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
