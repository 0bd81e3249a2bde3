import { stat } from 'node:fs/promises';

import { compilePolicyModel, type PolicyModel, PolicyModelError } from '../policy/compile-policy-model.js';
import { readPolicyDir } from '../policy/policy-files.js';
import { formatTextReport } from '../policy-test/format-text-report.js';
import { readPolicyTests } from '../policy-test/read-policy-tests.js';
import { runPolicyTests } from '../policy-test/run-policy-tests.js';
import { EXIT } from './exit-codes.js';
import { parseFlags, UsageError } from './parse-flags.js';

const HELP = `usage: authzd policy test DIR [--output text|json] [--filter SUBSTRING]

Policy tests (docs/policy-tests.md).

  authzd policy test DIR
      compiles the policy set in DIR, then decides every case of DIR/tests/*.yaml with the sidecar's own
      Check pipeline (tokens from a throwaway issuer, no decision cache) and compares with its expectation
      --output text|json   a tree of files and cases (default), or one JSON object for CI
      --filter SUBSTRING   run only the cases whose name or file contains SUBSTRING

exit status: 0 every case passed; 1 a case failed, a test file is invalid, no case ran, or the policy set
does not compile; 2 usage error.`;

const USAGE_ERROR = EXIT.usage;

export async function run(args: string[]): Promise<number> {
  try {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'test':
        return await test(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        (sub === undefined ? process.stderr : process.stdout).write(`${HELP}\n`);
        return sub === undefined ? USAGE_ERROR : EXIT.ok;
      default:
        throw new UsageError(`unknown policy subcommand "${sub}"; expected test`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`authzd policy: ${err.message}\n\n${HELP}\n`);
    return USAGE_ERROR;
  }
}

async function test(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    { output: { type: 'string', default: 'text' }, filter: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`expected one policy directory, got ${positionals.length} arguments`);
  const dir = positionals[0]!;
  const output = values.output;
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, got "${output}"`);
  if (values.filter === '') throw new UsageError('--filter needs a non-empty SUBSTRING');
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new UsageError(`${dir} is not a readable directory`);

  const files = await readPolicyDir(dir);
  const tests = await readPolicyTests(dir);
  let model: PolicyModel;
  try {
    model = compilePolicyModel(files);
  } catch (err) {
    if (!(err instanceof PolicyModelError)) throw err;
    if (output === 'json') {
      const empty = { files: tests.size, cases: 0, passed: 0, failed: 0 };
      const problems = err.problems.map((p) => `policy set: ${p}`);
      write({
        ok: false,
        directory: dir,
        policyVersion: null,
        files: [...tests.keys()],
        problems,
        cases: [],
        totals: empty,
        uncovered: [],
        warnings: [],
      });
    } else {
      process.stdout.write(
        `authzd policy test ${dir}: the policy set does not compile; no case was run:\n${err.problems.map((p) => `  - ${p}`).join('\n')}\n`,
      );
    }
    return 1;
  }

  const report = await runPolicyTests(model, tests, values.filter !== undefined ? { filter: values.filter } : {});
  if (output === 'json') write({ directory: dir, ...report });
  else process.stdout.write(formatTextReport(report, dir));
  return report.ok ? 0 : 1;
}

function write(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
