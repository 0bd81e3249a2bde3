// What the last import generated, so the next one can tell an entry it generated and nobody touched (it
// may change or go with the document) from one edited by hand (it stays). It is a file of its own in the
// policy directory: authzd reads only policy files (src/policy/policy-files.ts), so the sidecar, bundles
// and the control plane never see it. Keep it in version control beside routes.yaml.
import { createHash } from 'node:crypto';

import { z } from 'zod';

import { parseJson } from '../util/parse-json.js';
import { OpenApiImportError } from './openapi-import-error.js';

export const STATE_FILE = 'openapi-import.state.json';

const RouteRecordSchema = z.strictObject({
  /** The route id the entry has in routes.yaml. */
  id: z.string(),
  /** Fingerprint of the entry as last generated (see fingerprint). */
  fingerprint: z.string(),
  /** The entry was deleted from routes.yaml by hand: the import does not bring it back. */
  deletedByHand: z.boolean().optional(),
});

export const ImportStateSchema = z.strictObject({
  version: z.literal(1),
  /** Title of the document last imported (information for people). */
  document: z.string(),
  /** Operation key (`GET /pets/{id}`) -> its generated routes.yaml entry. */
  routes: z.record(z.string(), RouteRecordSchema),
  /** Declaration key (`entity Pet`, `action "getPet"`, `type HttpContext`) -> fingerprint as last generated. */
  schema: z.record(z.string(), z.string()),
});

export type ImportState = z.output<typeof ImportStateSchema>;
export type RouteRecord = z.output<typeof RouteRecordSchema>;

export function emptyState(document: string): ImportState {
  return { version: 1, document, routes: {}, schema: {} };
}

export function parseImportState(text: string | undefined, document: string): ImportState {
  if (text === undefined) return emptyState(document);
  let raw: unknown;
  try {
    raw = parseJson(text);
  } catch (err) {
    throw stateError(`not JSON: ${(err as Error).message}`);
  }
  const parsed = ImportStateSchema.safeParse(raw);
  if (!parsed.success)
    throw stateError(parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; '));
  return parsed.data;
}

/** Keys sorted, so that the file changes only where the import changed something. */
export function formatImportState(state: ImportState): string {
  const sortKeys = <T>(record: Record<string, T>) =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify({ ...state, routes: sortKeys(state.routes), schema: sortKeys(state.schema) }, null, 2)}\n`;
}

/** A short hash of a value's canonical JSON (object keys sorted): equal meaning, equal fingerprint. */
export function fingerprint(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16)}`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function stateError(detail: string): OpenApiImportError {
  return new OpenApiImportError(
    'policy_dir_invalid',
    `${STATE_FILE} is not a state file authzd routes import wrote (${detail}); restore it from version control, or delete it: every existing route then counts as written by hand`,
  );
}
