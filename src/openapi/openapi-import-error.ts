// The one error type of `authzd routes import`. Each failure the command can meet has a stable code, and
// the message is written for the person running the command: it names the file and what to change. No
// stack trace or library internals reach the terminal.

export const OPENAPI_IMPORT_ERRORS = [
  /** The document cannot be read (missing, not a file, unreadable). */
  'document_unreadable',
  /** The document is not well-formed YAML or JSON. */
  'document_syntax',
  /** The document is not OpenAPI 3.0 or 3.1 (Swagger 2.0, 3.2, not an OpenAPI document at all). */
  'document_unsupported',
  /** The document breaks the OpenAPI specification's schema or rules. */
  'document_invalid',
  /** A $ref points at a URL: the importer never touches the network. */
  'remote_reference',
  /** An x-authzd extension is malformed, or produces a route routes.yaml would refuse. */
  'extension_invalid',
  /** The document has no operation to import. */
  'no_operations',
  /** A file of the policy directory cannot be read or followed (routes.yaml, schema, state file). */
  'policy_dir_invalid',
  /** The merged policy set would not compile; nothing was written. */
  'result_does_not_compile',
] as const;

export type OpenApiImportErrorCode = (typeof OPENAPI_IMPORT_ERRORS)[number];

export class OpenApiImportError extends Error {
  override readonly name = 'OpenApiImportError';
  constructor(
    readonly code: OpenApiImportErrorCode,
    message: string,
    /** Each problem on its own line, when there are several (validation errors, compile problems). */
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}
