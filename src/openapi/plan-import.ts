// `authzd routes import`, everything short of writing: read the document, map its operations, merge the
// routes and schema declarations into the policy directory, and compile the result as `authzd serve`
// would. applyImport writes what this plans.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { parse as parseYaml } from 'yaml';

import { compilePolicyModel, PolicyModelError } from '../policy/compile-policy-model.js';
import { isPolicyFile } from '../policy/policy-files.js';
import { qualifyType } from '../policy/qualify-type.js';
import { type RoutesFile, RoutesFileSchema } from '../policy/routes-schema.js';
import { buildSchemaDeclarations, contextTypes } from './build-schema-declarations.js';
import type { ImportReport } from './import-report.js';
import { formatImportState, type ImportState, parseImportState, STATE_FILE } from './import-state.js';
import { listOperations } from './list-operations.js';
import { mapOperations } from './map-operations.js';
import { type FinalRoute, mergeRoutesFile } from './merge-routes-file.js';
import { mergeSchemaFile } from './merge-schema-file.js';
import { OpenApiImportError } from './openapi-import-error.js';
import { readOpenApiDocument } from './read-openapi-document.js';
import type { SchemaDeclaration } from './schema-layout.js';
import { quote } from './schema-layout.js';

export interface ImportOptions {
  readonly documentFile: string;
  readonly policyDir: string;
  /** --base-path (normalised): replaces the servers' base path. */
  readonly basePath: string | undefined;
  /** --namespace: the namespace of a routes.yaml the import creates. */
  readonly namespace: string | undefined;
}

export interface ImportPlan {
  readonly report: ImportReport;
  /** File name (in the policy directory) -> new content, for the files the import creates or changes. */
  readonly writes: ReadonlyMap<string, string>;
  /** Warnings of the compiled result (as `authzd serve` would log them). */
  readonly compileWarnings: readonly string[];
}

export const STARTER_POLICY_FILE = 'policies.cedar';

export async function planImport(options: ImportOptions): Promise<ImportPlan> {
  const doc = await readOpenApiDocument(options.documentFile);
  const listed = listOperations(doc.document);
  if (listed.problems.length > 0)
    throw new OpenApiImportError(
      'extension_invalid',
      `${options.documentFile}: invalid x-authzd extensions:`,
      listed.problems,
    );
  if (listed.operations.length === 0) {
    throw new OpenApiImportError(
      'no_operations',
      `${options.documentFile} has no operations under "paths" (webhooks and callbacks are requests the API sends, not routes)`,
    );
  }

  const dir = options.policyDir;
  const files = await readDirFiles(dir);
  const existingRoutes = files.get('routes.yaml');
  const namespace = namespaceOf(existingRoutes, options.namespace);
  const application = { type: 'Application', id: namespace ?? 'api' };
  const mapped = mapOperations(listed.operations, { basePath: options.basePath, application });
  if (mapped.problems.length > 0)
    throw new OpenApiImportError(
      'extension_invalid',
      `${options.documentFile}: x-authzd extensions that routes.yaml would refuse:`,
      mapped.problems,
    );

  const state = parseImportState(files.get(STATE_FILE), doc.title);
  const routes = mergeRoutesFile(existingRoutes, mapped.routes, state.routes, { namespace, documentTitle: doc.title });
  if (routes.routes.length === 0) {
    const notes = [...mapped.refused, ...mapped.skipped].map((n) => `${n.method} ${n.path}: ${n.reason}`);
    throw new OpenApiImportError('no_operations', `no operation of ${options.documentFile} can become a route:`, notes);
  }
  const routesFile = parseMergedRoutes(routes.text);

  const created: string[] = [];
  if (existingRoutes === undefined) created.push('routes.yaml');
  let existingSchema = files.get('schema.cedarschema');
  if (existingSchema === undefined) {
    existingSchema = starterSchema(routesFile);
    created.push('schema.cedarschema');
  }
  const fromDocument = routes.routes.filter((r) => r.key !== undefined).map((r) => r.spec);
  const schema = mergeSchemaFile({
    existing: existingSchema,
    namespace: routesFile.namespace,
    documentTitle: doc.title,
    previous: state.schema,
    build: (declared) =>
      buildSchemaDeclarations(
        {
          namespace: routesFile.namespace,
          routes: fromDocument,
          principalType: routesFile.principal.type,
          roleType: routesFile.principal.rolesClaim !== undefined ? routesFile.principal.roleType : undefined,
          workloadType: routesFile.network.principalType,
          contextExtensions: routesFile.contextExtensions,
        },
        declared,
      ),
    referencedBy: referenceFinder(files, routes.routes, routesFile),
  });

  const writes = new Map<string, string>();
  if (schema.text !== files.get('schema.cedarschema')) writes.set('schema.cedarschema', schema.text);
  if (![...files.keys()].some((name) => name.endsWith('.cedar'))) {
    writes.set(STARTER_POLICY_FILE, starterPolicies(routesFile.namespace, doc.title));
    created.push(STARTER_POLICY_FILE);
  }
  if (routes.text !== existingRoutes) writes.set('routes.yaml', routes.text);
  const newState: ImportState = { version: 1, document: doc.title, routes: routes.state, schema: schema.state };
  const stateText = formatImportState(newState);
  if (stateText !== files.get(STATE_FILE)) writes.set(STATE_FILE, stateText);

  // The result must be a set `authzd serve` accepts; otherwise nothing is written.
  const policyFiles = new Map([...files].filter(([name]) => isPolicyFile(name)));
  for (const [name, text] of writes) if (isPolicyFile(name)) policyFiles.set(name, text);
  let compileWarnings: readonly string[];
  try {
    compileWarnings = compilePolicyModel(policyFiles).warnings;
  } catch (err) {
    if (!(err instanceof PolicyModelError)) throw err;
    throw new OpenApiImportError(
      'result_does_not_compile',
      `the policy set in ${dir} would not compile after the import, so nothing was written:`,
      err.problems,
    );
  }

  return {
    report: {
      document: { file: options.documentFile, openapi: doc.openapi, title: doc.title, version: doc.version },
      policyDir: dir,
      routes: routes.diff,
      schema: schema.diff,
      created,
      skipped: [...mapped.skipped, ...routes.routedByHand],
      refused: mapped.refused,
      warnings: [
        ...doc.warnings.map((w) => `document: ${w}`),
        ...listed.warnings,
        ...mapped.warnings,
        ...routes.warnings,
        ...compileWarnings.map((w) => `policy set: ${w}`),
      ],
    },
    writes,
    compileWarnings,
  };
}

/** The directory's files the import reads: policy files and the state file. A missing directory is empty. */
async function readDirFiles(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : false),
  );
  if (isDir === undefined) return files;
  if (!isDir) throw new OpenApiImportError('policy_dir_invalid', `${dir} is not a directory`);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!isPolicyFile(entry.name) && entry.name !== STATE_FILE) continue;
    const file = path.join(dir, entry.name);
    if (!(await stat(file)).isFile()) continue;
    files.set(entry.name, await readFile(file, 'utf8'));
  }
  return files;
}

function namespaceOf(routesText: string | undefined, wanted: string | undefined): string | undefined {
  if (routesText === undefined) return wanted;
  let current: unknown;
  try {
    current = (parseYaml(routesText) as { namespace?: unknown } | null)?.namespace;
  } catch {
    current = undefined; // mergeRoutesFile reports the YAML error
  }
  const namespace = typeof current === 'string' ? current : undefined;
  if (wanted !== undefined && wanted !== namespace) {
    throw new OpenApiImportError(
      'policy_dir_invalid',
      `--namespace ${wanted}: routes.yaml exists with ${namespace === undefined ? 'no namespace' : `namespace ${namespace}`}; --namespace only names the namespace of a routes.yaml the import creates`,
    );
  }
  return namespace;
}

function parseMergedRoutes(text: string): RoutesFile {
  const parsed = RoutesFileSchema.safeParse(parseYaml(text, { uniqueKeys: true }));
  if (!parsed.success) {
    throw new OpenApiImportError(
      'result_does_not_compile',
      'routes.yaml would not be valid after the import, so nothing was written:',
      parsed.error.issues.map((i) => `routes.yaml: ${i.path.join('.') || '(top level)'}: ${i.message}`),
    );
  }
  return parsed.data;
}

// Who still names a declaration the document no longer needs: removing it would break the set.
function referenceFinder(files: ReadonlyMap<string, string>, routes: readonly FinalRoute[], routesFile: RoutesFile) {
  const q = (t: string) => qualifyType(routesFile.namespace, t);
  const cedar = [...files]
    .filter(([name]) => name.endsWith('.cedar'))
    .map(([name, text]) => [name, text.replace(/\/\/[^\n]*/g, '')] as const);
  const entities = files.get('entities.json') ?? '';
  const word = (name: string) => new RegExp(`(?<![A-Za-z0-9_])${escape(name)}(?![A-Za-z0-9_])`);
  return (key: string, name: string, hand: readonly SchemaDeclaration[]): string | undefined => {
    const handNames = (d: SchemaDeclaration) =>
      d.tokens.some(
        (t) => (t.kind === 'ident' ? t.text : t.kind === 'string' ? t.text.slice(1, -1) : undefined) === name,
      );
    if (key.startsWith('action ')) {
      const pattern = new RegExp(`Action\\s*::\\s*${escape(quote(name))}`);
      const file = cedar.find(([, text]) => pattern.test(text));
      if (file !== undefined) return file[0];
      const route = routes.find((r) => r.spec.action === name);
      if (route !== undefined) return `route ${route.spec.id}`;
      if (routesFile.network.action === name) return 'routes.yaml network.action';
      return hand.some((d) => d.kind === 'action' && handNames(d)) ? 'schema.cedarschema' : undefined;
    }
    const qualified = q(name);
    if (key.startsWith('entity ')) {
      const file = cedar.find(([, text]) => word(name).test(text));
      if (file !== undefined) return file[0];
      if (new RegExp(`"(?:[A-Za-z0-9_]+::)*${escape(name)}"`).test(entities)) return 'entities.json';
      const route = routes.find((r) => q(r.spec.resource.type) === qualified);
      if (route !== undefined) return `route ${route.spec.id}`;
      const p = routesFile.principal;
      if (
        [p.type, p.roleType, routesFile.network.principalType, routesFile.network.resourceType].some(
          (t) => t !== undefined && q(t) === qualified,
        )
      )
        return 'routes.yaml';
    }
    return hand.some(handNames) ? 'schema.cedarschema' : undefined;
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A schema for a directory without one: authzd's context types and the principal, for people to edit. */
function starterSchema(routesFile: RoutesFile): string {
  const indent = routesFile.namespace === undefined ? '' : '  ';
  const p = routesFile.principal;
  const lines = [
    '// Cedar schema (docs/policy-model.md). The context types are the ones authzd builds for HTTP requests;',
    '// add attributes to the principal and resource types as your policies need them. `authzd routes import`',
    '// maintains only the marked region (docs/openapi.md).',
  ];
  const n = routesFile.network;
  const body = [
    ...contextTypes(routesFile.contextExtensions).map(([, text]) => text),
    p.rolesClaim !== undefined && p.roleType !== undefined
      ? `entity ${p.roleType} in [${p.roleType}];\nentity ${p.type} in [${p.roleType}];`
      : `entity ${p.type};`,
    // Checks without HTTP attributes (Envoy's network filter), as routes.yaml's network section maps them.
    'type ConnectionFacts = { time: Long, sourceIp?: ipaddr, destinationIp?: ipaddr, destinationPort?: Long };',
    `entity ${n.principalType};\nentity ${n.resourceType};\naction ${quote(n.action)} appliesTo { principal: ${n.principalType}, resource: ${n.resourceType}, context: { connection: ConnectionFacts } };`,
  ]
    .join('\n\n')
    .split('\n')
    .map((l) => (l === '' ? l : `${indent}${l}`))
    .join('\n');
  return routesFile.namespace === undefined
    ? `${lines.join('\n')}\n\n${body}\n`
    : `${lines.join('\n')}\nnamespace ${routesFile.namespace} {\n${body}\n}\n`;
}

function starterPolicies(namespace: string | undefined, title: string): string {
  const action = `${namespace !== undefined ? `${namespace}::` : ''}Action`;
  return [
    `// Policies for the routes of the OpenAPI document "${title}". authzd denies every request that no policy permits`,
    '// (reason no_matching_permit), so nothing is allowed until you add permits. For example:',
    '//',
    '// @id("read-with-scope")',
    `// permit (principal, action in ${action}::"read", resource)`,
    '// when { context has token && context.token.scope.contains("api:read") };',
    '//',
    '// Then add test cases to tests/*.yaml and run `authzd policy test .` (docs/policy-tests.md, docs/openapi.md).',
    '',
  ].join('\n');
}
