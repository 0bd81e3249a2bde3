// Regression guard for the Node 20 V8 crash on cedar-wasm workloads (see src/cedar/cedar.ts): the known
// crashing workload runs in a fresh process through authzd's engine module and must finish.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('V8 deoptimizer crash guard', () => {
  it('survives 1,000 calls on a 1,000-policy set followed by a 10,000-entity slice', async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [path.join(ROOT, 'test/fixtures/v8-deopt-workload.mjs')],
        { timeout: 60_000 },
        (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
    expect(result.stderr).not.toContain('unreachable code');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ allowed: 1, lastDecision: 'allow' });
  }, 90_000);

  it('every entry point sets the flag before anything can load cedar-wasm', () => {
    const main = readFileSync(path.join(ROOT, 'src/cli/main.ts'), 'utf8');
    const firstImport = main.split('\n').find((l) => l.startsWith('import '));
    expect(firstImport).toBe("import '../cedar/engine-flags.js';");
    const engine = readFileSync(path.join(ROOT, 'src/cedar/cedar.ts'), 'utf8');
    expect(engine.indexOf("v8.setFlagsFromString('--no-turbo-inline-js-wasm-calls')")).toBeGreaterThan(0);
    expect(engine.indexOf("v8.setFlagsFromString('--no-turbo-inline-js-wasm-calls')")).toBeLessThan(
      engine.indexOf("require('@cedar-policy/cedar-wasm/nodejs')"),
    );
  });
});
