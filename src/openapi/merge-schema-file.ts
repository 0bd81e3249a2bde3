// Merging the generated declarations into schema.cedarschema (docs/openapi.md, "Merging"). The import
// owns one marked region inside routes.yaml's namespace block and nothing else:
//   - a declaration anywhere outside the region is the person's; the import never generates its name;
//   - in the region, a declaration whose fingerprint the state file recorded is the import's: it is
//     updated or removed with the document;
//   - in the region, any other declaration was edited (or added) by hand: it stays, verbatim;
//   - a generated declaration the document no longer needs stays while a policy, route, entity or
//     declaration still names it, so the set keeps compiling.
import { type Declaration, declarationKey } from './build-schema-declarations.js';
import type { KeptEntry, SchemaDiff } from './import-report.js';
import { fingerprint, type ImportState } from './import-state.js';
import { OpenApiImportError } from './openapi-import-error.js';
import {
  parseSchemaLayout,
  REGION_BEGIN,
  REGION_END,
  type SchemaBlock,
  type SchemaDeclaration,
  type SchemaLayout,
  SchemaLayoutError,
  tokenizeSchema,
} from './schema-layout.js';

export interface SchemaMergeInput {
  readonly existing: string;
  readonly namespace: string | undefined;
  readonly documentTitle: string;
  readonly previous: ImportState['schema'];
  /** The declarations wanted, given which keys already exist (see buildSchemaDeclarations). */
  readonly build: (declared: (key: string) => boolean) => Declaration[];
  /** Who still names a declaration the document no longer needs (undefined: nobody). */
  readonly referencedBy: (
    key: string,
    name: string,
    handDeclarations: readonly SchemaDeclaration[],
  ) => string | undefined;
}

export interface SchemaMerge {
  readonly text: string;
  readonly diff: SchemaDiff;
  readonly state: ImportState['schema'];
}

/** Fingerprint of a declaration's tokens: layout and comments are not edits. */
export function declarationFingerprint(text: string): string {
  return fingerprint(
    tokenizeSchema(text)
      .filter((t) => t.kind !== 'comment')
      .map((t) => t.text)
      .join(' '),
  );
}

export function mergeSchemaFile(input: SchemaMergeInput): SchemaMerge {
  let layout: SchemaLayout;
  try {
    layout = parseSchemaLayout(input.existing);
  } catch (err) {
    if (err instanceof SchemaLayoutError)
      throw new OpenApiImportError('policy_dir_invalid', `schema.cedarschema: ${err.message}`);
    throw err;
  }
  const namespace = input.namespace ?? '';
  const block = layout.blocks.find((b) => b.namespace === namespace);
  const region = block?.region;
  const inRegion = (d: SchemaDeclaration) => region !== undefined && d.start >= region.start && d.end <= region.end;
  const outside = (block?.declarations ?? []).filter((d) => !inRegion(d));
  const regional = (block?.declarations ?? []).filter(inRegion);

  const keysOf = (d: SchemaDeclaration) => d.names.map((n) => declarationKey(d.kind, n));
  const handKeys = new Set(outside.flatMap(keysOf));
  const owned = new Map<string, SchemaDeclaration>();
  const handInRegion: SchemaDeclaration[] = [];
  for (const d of regional) {
    const [key] = keysOf(d);
    const text = input.existing.slice(d.start, d.end);
    if (d.names.length === 1 && input.previous[key!] === declarationFingerprint(text)) owned.set(key!, d);
    else handInRegion.push(d);
  }
  const regionHandKeys = new Set(handInRegion.flatMap(keysOf));
  const declared = (key: string) => handKeys.has(key) || regionHandKeys.has(key);

  const wanted = input.build(declared);
  const everything = new Map(input.build(() => false).map((d) => [d.key, d]));
  const state: Record<string, string> = {};
  const added: string[] = [];
  const changed: { before: string; after: string }[] = [];
  const removed: string[] = [];
  const kept: KeptEntry[] = [];
  let unchanged = 0;

  for (const d of wanted) {
    const fp = declarationFingerprint(d.text);
    state[d.key] = fp;
    const before = owned.get(d.key);
    if (before === undefined) added.push(d.text);
    else if (input.previous[d.key] === fp) unchanged++;
    else changed.push({ before: input.existing.slice(before.start, before.end), after: d.text });
  }

  // What the import generated last time and a person took over since.
  for (const [key, fp] of Object.entries(input.previous)) {
    if (owned.has(key)) continue;
    const now = everything.get(key);
    if (regionHandKeys.has(key)) {
      const documentChanged = now !== undefined && declarationFingerprint(now.text) !== fp;
      kept.push({
        name: key,
        reason: documentChanged
          ? `edited by hand; kept, although the document now wants: ${oneLine(now.text)}`
          : 'edited by hand; kept',
        conflict: documentChanged,
      });
      if (now !== undefined) state[key] = declarationFingerprint(now.text);
    } else if (handKeys.has(key)) {
      kept.push({
        name: key,
        reason: 'now declared by hand outside the generated region; the generated one is gone',
        conflict: false,
      });
    }
  }

  // What the document no longer needs.
  const indent = region?.indent ?? (namespace === '' ? '' : guessIndent(input.existing, block));
  const keptTexts: string[] = [];
  const wantedKeys = new Set(wanted.map((d) => d.key));
  for (const [key, d] of owned) {
    if (wantedKeys.has(key)) continue;
    const text = input.existing.slice(d.start, d.end);
    const by = input.referencedBy(key, d.names[0]!, [...outside, ...handInRegion]);
    if (by !== undefined) {
      keptTexts.push(verbatim(input.existing, d, indent));
      state[key] = input.previous[key]!;
      kept.push({ name: key, reason: `no longer in the document, but ${by} still names it`, conflict: true });
    } else {
      removed.push(text);
    }
  }

  const body = [
    ...handInRegion.map((d) => verbatim(input.existing, d, indent)),
    ...keptTexts,
    ...wanted.map((d) => indentLines(d.text, indent)),
  ];
  const regionText = `${indent}${REGION_BEGIN} for the OpenAPI document "${oneLine(input.documentTitle)}" (docs/openapi.md). Declarations edited here by hand are kept.\n${body.map((b) => `${b}\n`).join('')}${indent}${REGION_END}\n`;
  return {
    text: place(input.existing, block, namespace, regionText),
    diff: { added, changed, removed, kept, unchanged },
    state,
  };
}

function place(text: string, block: SchemaBlock | undefined, namespace: string, regionText: string): string {
  if (block?.region !== undefined) return text.slice(0, block.region.start) + regionText + text.slice(block.region.end);
  if (block !== undefined && namespace !== '') {
    const lineStart = text.lastIndexOf('\n', block.close - 1) + 1;
    const closeOnOwnLine = text.slice(lineStart, block.close).trim() === '';
    return closeOnOwnLine
      ? `${text.slice(0, lineStart)}\n${regionText}${text.slice(lineStart)}`
      : `${text.slice(0, block.close)}\n${regionText}${text.slice(block.close)}`;
  }
  const sep = text === '' || text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
  return namespace === '' ? `${text}${sep}${regionText}` : `${text}${sep}namespace ${namespace} {\n${regionText}}\n`;
}

function guessIndent(text: string, block: SchemaBlock | undefined): string {
  const first = block?.declarations[0];
  if (first === undefined) return '  ';
  const lineStart = text.lastIndexOf('\n', first.start - 1) + 1;
  const indent = text.slice(lineStart, first.start);
  return /^[ \t]*$/.test(indent) ? indent : '  ';
}

function indentLines(text: string, indent: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `${indent}${line}`))
    .join('\n');
}

// A kept declaration is copied as it was written, comments above it included, from the start of its line.
function verbatim(source: string, d: SchemaDeclaration, indent: string): string {
  const lineStart = source.lastIndexOf('\n', d.leadingStart - 1) + 1;
  const before = source.slice(lineStart, d.leadingStart);
  return /^[ \t]*$/.test(before) ? source.slice(lineStart, d.end) : `${indent}${source.slice(d.leadingStart, d.end)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
