import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type Json, JsonNonLong, parseJsonText } from '../../src/engine/native/json-text.js';

/**
 * The official Cedar conformance corpus (cedar-policy/cedar-integration-tests), kept beside the clone in
 * ../shared/cedar-conformance: 22 handwritten tests and corpus-tests.tar.gz (7,809 generated tests).
 */
export const CORPUS_DIR = path.resolve(import.meta.dirname, '../../../shared/cedar-conformance');

export interface ConformanceRequest {
  readonly description: string;
  readonly principal: { type: string; id: string };
  readonly action: { type: string; id: string };
  readonly resource: { type: string; id: string };
  readonly context: Json;
  readonly validateRequest: boolean;
  readonly decision: 'allow' | 'deny';
  readonly reason: readonly string[];
  readonly errors: readonly string[];
}

export interface ConformanceTest {
  readonly file: string;
  readonly policiesText: string;
  readonly schemaText: string | undefined;
  readonly entitiesText: string;
  readonly requests: readonly ConformanceRequest[];
}

/** Reads one test file; JSON is read losslessly (contexts hold 64-bit integers). */
export function readConformanceTest(root: string, file: string): ConformanceTest {
  const t = parseJsonText(readFileSync(file, 'utf8')) as Record<string, Json>;
  const rd = (p: Json) => readFileSync(path.join(root, p as string), 'utf8');
  const requests = (t.requests as Record<string, Json>[]).map((r) => ({
    description: r.description as string,
    principal: r.principal as never,
    action: r.action as never,
    resource: r.resource as never,
    context: r.context ?? {},
    validateRequest: r.validateRequest !== false,
    decision: r.decision as 'allow' | 'deny',
    reason: r.reason as string[],
    errors: r.errors as string[],
  }));
  return {
    file: path.relative(root, file),
    policiesText: rd(t.policies),
    schemaText: t.schema === undefined || t.schema === null ? undefined : rd(t.schema),
    entitiesText: rd(t.entities),
    requests,
  };
}

/** The handwritten tests' files, in a stable order. */
export function handwrittenTestFiles(): string[] {
  const dir = path.join(CORPUS_DIR, 'tests');
  return readdirSync(dir)
    .sort()
    .flatMap((sub) =>
      readdirSync(path.join(dir, sub))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => path.join(dir, sub, f)),
    );
}

/** Unpacks corpus-tests.tar.gz into a fresh temporary directory; returns it and its test files (sorted). */
export function unpackCorpus(): { root: string; files: string[]; cleanup: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cedar-corpus-'));
  execFileSync('tar', ['xzf', path.join(CORPUS_DIR, 'corpus-tests.tar.gz'), '-C', root]);
  const dir = path.join(root, 'corpus-tests');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.entities.json'))
    .sort()
    .map((f) => path.join(dir, f));
  return { root, files, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export const corpusPresent = (): boolean => existsSync(path.join(CORPUS_DIR, 'corpus-tests.tar.gz'));

/** Whether JSON holds an integer JavaScript numbers cannot hold exactly (cedar-wasm's JSON interface cannot take it). */
export function jsonHasWideInteger(v: Json): boolean {
  if (typeof v === 'bigint') return true;
  if (Array.isArray(v)) return v.some(jsonHasWideInteger);
  if (typeof v === 'object' && v !== null && !(v instanceof JsonNonLong))
    return Object.values(v as Record<string, Json>).some(jsonHasWideInteger);
  return false;
}
