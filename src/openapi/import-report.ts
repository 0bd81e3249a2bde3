import type { RouteSpec } from '../policy/routes-schema.js';
import type { OperationNote } from './map-operations.js';

/** What an import changes (or, with --dry-run, would change), and what it left alone and why. */
export interface ImportReport {
  readonly document: {
    readonly file: string;
    readonly openapi: string;
    readonly title: string;
    readonly version: string;
  };
  readonly policyDir: string;
  readonly routes: RoutesDiff;
  readonly schema: SchemaDiff;
  /** Files the import creates because the directory lacks them (routes.yaml, schema, a starter policy file). */
  readonly created: readonly string[];
  readonly skipped: readonly OperationNote[];
  readonly refused: readonly OperationNote[];
  readonly warnings: readonly string[];
}

export interface RoutesDiff {
  readonly added: readonly RouteSpec[];
  readonly changed: readonly { readonly before: RouteSpec; readonly after: RouteSpec }[];
  readonly removed: readonly RouteSpec[];
  /** Entries the document would change or remove but a person edited: they stay as they are. */
  readonly kept: readonly KeptEntry[];
  readonly unchanged: number;
}

export interface SchemaDiff {
  /** Declarations as written (one statement each). */
  readonly added: readonly string[];
  readonly changed: readonly { readonly before: string; readonly after: string }[];
  readonly removed: readonly string[];
  readonly kept: readonly KeptEntry[];
  readonly unchanged: number;
}

export interface KeptEntry {
  /** Route id, or declaration key (`action "getPet"`). */
  readonly name: string;
  readonly reason: string;
  /** The document wanted something else than the hand edit (a conflict the person should look at). */
  readonly conflict: boolean;
}

export function hasChanges(report: ImportReport): boolean {
  const r = report.routes;
  const s = report.schema;
  return (
    report.created.length > 0 ||
    r.added.length + r.changed.length + r.removed.length + s.added.length + s.changed.length + s.removed.length > 0
  );
}
