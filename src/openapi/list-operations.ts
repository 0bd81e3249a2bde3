import {
  type AuthzdExtension,
  mergeExtensions,
  OperationExtensionSchema,
  PathItemExtensionSchema,
} from './authzd-extension.js';

/** The operation fields of a path item, in the order the OpenAPI specification lists them. */
export const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface ServerObject {
  readonly url: string;
  readonly variables?: Readonly<Record<string, { readonly default?: unknown }>>;
}

export interface OpenApiOperation {
  /** Upper case: GET, POST, ... */
  readonly method: string;
  /** The path as the document writes it (without the server's base path). */
  readonly path: string;
  /** `METHOD path`: how the import recognises the operation again on the next import. */
  readonly key: string;
  readonly operationId: string | undefined;
  /** The path item's x-authzd merged with the operation's. */
  readonly extension: AuthzdExtension;
  /** Whether the operation itself carries x-authzd (an explicit `skip: false` imports OPTIONS and TRACE). */
  readonly ownExtension: boolean;
  /** `x-cedar.appliesToResourceTypes` (Cedar's own OpenAPI tooling), if the operation has it. */
  readonly cedarResourceTypes: readonly string[] | undefined;
  /** The servers in force for the operation: its own, else its path item's, else the document's. */
  readonly servers: readonly ServerObject[] | undefined;
}

export interface OperationList {
  readonly operations: readonly OpenApiOperation[];
  /** Malformed x-authzd extensions, each naming where it is. */
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

/** Every operation of the (dereferenced) document's `paths`, in document order. Webhooks are not routes. */
export function listOperations(document: Readonly<Record<string, unknown>>): OperationList {
  const operations: OpenApiOperation[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  const paths = isObject(document.paths) ? document.paths : {};
  const documentServers = serversOf(document.servers);
  for (const [path, item] of Object.entries(paths)) {
    if (path.startsWith('x-') || !isObject(item)) continue;
    const pathExtension = parseExtension(
      PathItemExtensionSchema,
      item['x-authzd'],
      `paths[${JSON.stringify(path)}].x-authzd`,
      problems,
    );
    const pathServers = serversOf(item.servers) ?? documentServers;
    for (const method of OPERATION_METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const where = `paths[${JSON.stringify(path)}].${method}`;
      const own = parseExtension(OperationExtensionSchema, operation['x-authzd'], `${where}.x-authzd`, problems);
      const upper = method.toUpperCase();
      operations.push({
        method: upper,
        path,
        key: `${upper} ${path}`,
        operationId:
          typeof operation.operationId === 'string' && operation.operationId !== '' ? operation.operationId : undefined,
        extension: mergeExtensions(pathExtension, own),
        ownExtension: operation['x-authzd'] !== undefined,
        cedarResourceTypes: cedarResourceTypes(operation['x-cedar'], where, warnings),
        servers: serversOf(operation.servers) ?? pathServers,
      });
    }
  }
  return { operations, problems, warnings };
}

function parseExtension(
  schema: typeof OperationExtensionSchema | typeof PathItemExtensionSchema,
  value: unknown,
  where: string,
  problems: string[],
): AuthzdExtension {
  if (value === undefined) return {};
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues)
    problems.push(`${where}${issue.path.map((p) => `.${String(p)}`).join('')}: ${issue.message}`);
  return {};
}

// Cedar's SimpleRest generator reads `x-cedar: { appliesToResourceTypes: [...] }` on operations. An authzd
// route has exactly one resource type, so only a single type carries over.
function cedarResourceTypes(value: unknown, where: string, warnings: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  const types = isObject(value) ? value.appliesToResourceTypes : undefined;
  if (!Array.isArray(types) || !types.every((t) => typeof t === 'string')) {
    warnings.push(`${where}.x-cedar: expected { appliesToResourceTypes: [names] }; ignored`);
    return undefined;
  }
  return types;
}

function serversOf(value: unknown): ServerObject[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.filter((s): s is ServerObject => isObject(s) && typeof s.url === 'string');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
