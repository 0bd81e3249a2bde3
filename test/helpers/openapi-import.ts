import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parse as parseYaml } from 'yaml';

import { applyImport } from '../../src/openapi/apply-import.js';
import { type ImportPlan, planImport } from '../../src/openapi/plan-import.js';
import { compilePolicyModel, type PolicyModel } from '../../src/policy/compile-policy-model.js';
import { readPolicyDir } from '../../src/policy/policy-files.js';
import type { RouteSpec } from '../../src/policy/routes-schema.js';
import { EXAMPLE_POLICIES } from './policy-files.js';
import { ROOT } from './spawn-cli.js';

export const OPENAPI_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'openapi');
/** Public example descriptions ReadMe ships for its own tests (@readme/oas-examples). */
export const OAS_EXAMPLES = path.join(ROOT, 'node_modules', '@readme', 'oas-examples');
/** GitHub's REST API description as Octokit publishes it (@octokit/openapi). */
export const GITHUB_OPENAPI = path.join(
  ROOT,
  'node_modules',
  '@octokit',
  'openapi',
  'generated',
  'api.github.com.json',
);

/** A fresh directory, empty or holding a copy of the example policy set. */
export function policyDir(copyExample = false): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'authzd-openapi-import-')), 'policies');
  if (copyExample) cpSync(EXAMPLE_POLICIES, dir, { recursive: true });
  return dir;
}

export async function importInto(
  documentFile: string,
  dir: string,
  options: { basePath?: string; namespace?: string } = {},
): Promise<ImportPlan> {
  const plan = await planImport({
    documentFile,
    policyDir: dir,
    basePath: options.basePath,
    namespace: options.namespace,
  });
  await applyImport(plan);
  return plan;
}

export async function compileDir(dir: string): Promise<PolicyModel> {
  return compilePolicyModel(await readPolicyDir(dir));
}

export function routesOf(dir: string): RouteSpec[] {
  return (parseYaml(readFileSync(path.join(dir, 'routes.yaml'), 'utf8')) as { routes: RouteSpec[] }).routes;
}

export function read(dir: string, name: string): string {
  return readFileSync(path.join(dir, name), 'utf8');
}

/** Every file of the directory (tests/ included) by name, to check what an import left alone. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (sub: string) => {
    for (const entry of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const name = path.join(sub, entry.name);
      if (entry.isDirectory()) walk(name);
      else out.set(name, readFileSync(path.join(dir, name), 'utf8'));
    }
  };
  walk('');
  return out;
}
