import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

import { type PolicyTestCase, PolicyTestFileSchema } from './policy-test-schema.js';

export interface ParsedTestFile {
  readonly file: string;
  /** Empty when the file has problems: a file is run whole or not at all. */
  readonly cases: readonly PolicyTestCase[];
  /** `tests/x.yaml:LINE:COL: [2].expect.decision: message`, one per problem. */
  readonly problems: readonly string[];
}

/** Parses and checks one test file strictly, placing every problem at the line and column of the key it is about. */
export function parsePolicyTestFile(file: string, text: string): ParsedTestFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const at = e.linePos?.[0];
      // prettyErrors appends a code frame after the first line; the position is already in front.
      const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return at !== undefined ? `${file}:${at.line}:${at.col}: ${message}` : `${file}: ${message}`;
    });
    return { file, cases: [], problems };
  }
  const value: unknown = doc.toJS();
  const parsed = PolicyTestFileSchema.safeParse(value);
  if (parsed.success) return { file, cases: parsed.data, problems: [] };
  const at = (path: readonly PropertyKey[], key?: string) => {
    const offset = offsetOf(doc.contents, path, key);
    if (offset === undefined) return file;
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const problems = parsed.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${at(issue.path, key)}: ${where([...issue.path, key])}: unknown key`);
    }
    return [
      `${at(issue.path)}: ${where(issue.path)}: ${absent(value, issue.path) && issue.code !== 'custom' ? 'required' : issue.message}`,
    ];
  });
  return { file, cases: [], problems };
}

/** `[2].expect.decision`; the file's top level is `(top level)`. */
function where(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** Whether nothing is at `path` in the parsed value: a missing key, which zod reports as a wrong type or option. */
function absent(value: unknown, path: readonly PropertyKey[]): boolean {
  let node = value;
  for (const step of path) {
    if (typeof node !== 'object' || node === null) return true;
    node = (node as Record<PropertyKey, unknown>)[step];
  }
  return node === undefined;
}

/**
 * The source offset of the node at `path` (of `key` in it, when given), or of the deepest node on the way
 * when the path leads to something absent (a missing required key is reported where its parent starts).
 */
function offsetOf(root: Node | null, path: readonly PropertyKey[], key?: string): number | undefined {
  const steps = key === undefined ? path : [...path, key];
  let node: unknown = root;
  let offset = root?.range?.[0];
  for (const [i, step] of steps.entries()) {
    let next: unknown;
    let keyNode: unknown;
    if (isSeq(node) && typeof step === 'number') next = node.items[step];
    else if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === step);
      keyNode = pair?.key;
      next = pair?.value;
    }
    // An unknown key is placed at the key; so is a key without a value (`reason:`).
    const atKey = (key !== undefined && i === steps.length - 1) || next === undefined || next === null;
    const range = ((atKey ? keyNode : next) as Node | undefined)?.range;
    if (range === undefined || range === null) return offset;
    offset = range[0];
    node = next;
  }
  return offset;
}
