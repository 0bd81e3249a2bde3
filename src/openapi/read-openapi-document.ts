// Reading an OpenAPI document is the parser library's job (@readme/openapi-parser: validation against the
// OpenAPI 3.0 / 3.1 schemas and its extra rules, $ref resolution across local files); this module is the
// one place that talks to it and turns what it throws into OpenApiImportError. docs/openapi.md says why
// this library and not another.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { compileErrors, dereference, type ParserOptions, validate } from '@readme/openapi-parser';

import { OpenApiImportError } from './openapi-import-error.js';
import { parseDocumentText } from './parse-document-text.js';
import { scanReferences } from './scan-references.js';

export interface OpenApiDocument {
  /** The file as given. */
  readonly file: string;
  /** The `openapi` field: 3.0.x or 3.1.x. */
  readonly openapi: string;
  readonly title: string;
  readonly version: string;
  /** The document with every $ref resolved (objects may be shared, and cyclic where schemas are). */
  readonly document: Readonly<Record<string, unknown>>;
  /** What the parser reported as warnings (rules that matter to a validator, not to routing). */
  readonly warnings: readonly string[];
}

const SUPPORTED = /^3\.[01]\.\d+$/;

// Rules that concern parameter lists and schemas, not paths or operation ids, are reported as warnings:
// real descriptions break them often, and routes do not depend on them. Duplicate operation ids stay an
// error because they name actions.
const OPTIONS: ParserOptions = {
  resolve: { file: true, external: true },
  dereference: { circular: true },
  validate: {
    rules: {
      openapi: {
        'array-without-items': 'warning',
        'duplicate-non-request-body-parameters': 'warning',
        'invalid-security-scheme-properties': 'warning',
        'non-optional-path-parameters': 'warning',
        'path-parameters-not-in-parameters': 'warning',
        'path-parameters-not-in-path': 'warning',
      },
    },
  },
};

export async function readOpenApiDocument(file: string): Promise<OpenApiDocument> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    if (!(await stat(absolute)).isFile()) throw Object.assign(new Error('not a file'), { code: 'not a regular file' });
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    throw new OpenApiImportError(
      'document_unreadable',
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const raw = parseDocumentText(file, text);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new OpenApiImportError(
      'document_unsupported',
      `${file} is not an OpenAPI document (expected an object with an "openapi" field)`,
    );
  }
  const fields = raw as Record<string, unknown>;
  if (fields.swagger !== undefined) {
    throw new OpenApiImportError(
      'document_unsupported',
      `${file} is a Swagger ${typeof fields.swagger === 'string' || typeof fields.swagger === 'number' ? fields.swagger : JSON.stringify(fields.swagger)} document; authzd routes import reads OpenAPI 3.0 and 3.1 (convert it first, for example with swagger2openapi)`,
    );
  }
  if (typeof fields.openapi !== 'string') {
    throw new OpenApiImportError(
      'document_unsupported',
      `${file} is not an OpenAPI document (no "openapi" version field)`,
    );
  }
  if (!SUPPORTED.test(fields.openapi)) {
    throw new OpenApiImportError(
      'document_unsupported',
      `${file} is OpenAPI ${fields.openapi}; authzd routes import reads OpenAPI 3.0.x and 3.1.x`,
    );
  }

  const scan = await scanReferences(absolute, raw);
  if (scan.remote.length > 0) {
    throw new OpenApiImportError(
      'remote_reference',
      `${file}: ${scan.remote.length} $ref${scan.remote.length === 1 ? '' : 's'} point${scan.remote.length === 1 ? 's' : ''} at a URL; the import never fetches anything. Download the referenced documents next to ${path.basename(file)} and refer to them by relative path:`,
      scan.remote.map((r) => `${path.relative(process.cwd(), r.file) || r.file}: $ref ${JSON.stringify(r.ref)}`),
    );
  }

  let warnings: string[];
  try {
    const result = await validate(absolute, OPTIONS);
    if (!result.valid) {
      throw new OpenApiImportError('document_invalid', `${file} is not a valid OpenAPI ${fields.openapi} document:`, [
        describeValidation(compileErrors(result)),
      ]);
    }
    warnings = result.warnings.map((w) => w.message);
  } catch (err) {
    throw translate(err, file);
  }

  let document: Record<string, unknown>;
  try {
    document = (await dereference(absolute, OPTIONS)) as unknown as Record<string, unknown>;
  } catch (err) {
    throw translate(err, file);
  }
  const info = (document.info ?? {}) as Record<string, unknown>;
  return {
    file,
    openapi: fields.openapi,
    title: typeof info.title === 'string' ? info.title : '',
    version: typeof info.version === 'string' ? info.version : '',
    document,
    warnings,
  };
}

function translate(err: unknown, file: string): OpenApiImportError {
  if (err instanceof OpenApiImportError) return err;
  // MissingPointerError, ResolverError, the library's YAML errors: all carry a message meant for people.
  const message = err instanceof Error ? err.message : String(err);
  return new OpenApiImportError('document_invalid', `${file} could not be resolved: ${message.split('\n')[0]}`);
}

// compileErrors starts with a headline of its own ("OpenAPI schema validation failed."); ours says it.
function describeValidation(text: string): string {
  return text.replace(/^[^\n]*validation failed\.\s*\n+/, '').trimEnd();
}
