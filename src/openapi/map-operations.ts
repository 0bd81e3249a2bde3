// OpenAPI operations -> routes.yaml routes, following Cedar's SimpleRest mapping where it fits authzd's
// model (docs/openapi.md, "Mapping"): one action per operation, named by its operationId (else
// "<method> <path>", as SimpleRest names it), principal from routes.yaml, resource from the path, and
// x-authzd to say otherwise.
import { type RiskClass } from '../contract/risk-class.js';
import { RoutesFileSchema, type RouteSpec } from '../policy/routes-schema.js';
import { checkRouteTemplate } from './check-route-template.js';
import type { OpenApiOperation } from './list-operations.js';
import { defaultResourceId, type NamedResource, nameResources } from './name-resources.js';
import { parsePathTemplate, type TemplateSegment } from './parse-path-template.js';
import { resolveBasePath } from './resolve-base-path.js';
import { routeIdFor } from './route-id.js';

export type ActionGroup = 'read' | 'write';
export const ACTION_GROUPS: readonly ActionGroup[] = ['read', 'write'];

export interface GeneratedRoute {
  /** `METHOD path` of the operation (see OpenApiOperation.key). */
  readonly key: string;
  /** The route as generated; its id may still change to stay unique in routes.yaml (unless explicit). */
  readonly spec: RouteSpec;
  /** Whether x-authzd chose the id: a change of it is then followed, where a derived id keeps its number. */
  readonly explicitId: boolean;
  readonly group: ActionGroup;
  readonly segments: readonly TemplateSegment[];
}

export interface OperationNote {
  readonly method: string;
  /** The path as the document writes it. */
  readonly path: string;
  readonly reason: string;
}

export interface MappedOperations {
  readonly routes: readonly GeneratedRoute[];
  /** Operations authzd's router cannot serve as the document describes them. */
  readonly refused: readonly OperationNote[];
  /** Operations left out on purpose (x-authzd skip, OPTIONS and TRACE by default). */
  readonly skipped: readonly OperationNote[];
  /** x-authzd values routes.yaml would refuse: the document must change. */
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

export interface MappingOptions {
  /** --base-path: overrides what the servers say. */
  readonly basePath: string | undefined;
  /** The API itself as a resource: what a path without parameters acts on. */
  readonly application: NamedResource;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const DEFAULT_RISK: Record<string, RiskClass> = {
  GET: 'low',
  HEAD: 'low',
  OPTIONS: 'low',
  TRACE: 'low',
  DELETE: 'high',
};
const RouteSchema = RoutesFileSchema.shape.routes.element;

export function mapOperations(operations: readonly OpenApiOperation[], options: MappingOptions): MappedOperations {
  const refused: OperationNote[] = [];
  const skipped: OperationNote[] = [];
  const problems: string[] = [];
  const warnings: string[] = [];
  const note = (op: OpenApiOperation, reason: string) => ({ method: op.method, path: op.path, reason });

  const parsed: {
    op: OpenApiOperation;
    segments: readonly TemplateSegment[];
    path: string;
    renames: ReadonlyMap<string, string>;
  }[] = [];
  for (const op of operations) {
    if (op.extension.skip === true) {
      skipped.push(note(op, 'x-authzd skip'));
      continue;
    }
    // SimpleRest ignores OPTIONS; CORS preflights carry no token, so a route for them would deny them all.
    if ((op.method === 'OPTIONS' || op.method === 'TRACE') && !(op.ownExtension && op.extension.skip === false)) {
      skipped.push(note(op, `${op.method} operations are imported only with x-authzd: { skip: false }`));
      continue;
    }
    const base =
      options.basePath !== undefined ? { ok: true as const, basePath: options.basePath } : resolveBasePath(op.servers);
    if (!base.ok) {
      refused.push(note(op, base.reason));
      continue;
    }
    const template = parsePathTemplate(`${base.basePath}${op.path}`);
    if (!template.ok) {
      refused.push(note(op, template.reason));
      continue;
    }
    parsed.push({ op, segments: template.segments, path: template.path, renames: template.renames });
  }

  // Operations whose type the document chooses take no part in naming the others.
  const derived = nameResources(
    parsed.filter((p) => explicitType(p.op) === undefined).map((p) => ({ key: p.op.key, segments: p.segments })),
    options.application,
  );

  const routes: GeneratedRoute[] = [];
  const shapes = new Map<string, string>();
  for (const { op, segments, path, renames } of parsed) {
    const where = `x-authzd of ${op.key}`;
    const resource = resourceFor(
      op,
      derived.get(op.key) ?? { type: '', id: defaultResourceId(segments, options.application) },
      renames,
      where,
      problems,
      warnings,
    );
    if (resource === undefined) continue;
    const action = op.extension.action ?? op.operationId ?? `${op.method.toLowerCase()} ${op.path}`;
    if ((ACTION_GROUPS as readonly string[]).includes(action)) {
      refused.push(note(op, `its action would be "${action}", the name of an action group; set x-authzd.action`));
      continue;
    }
    const candidate = {
      id: op.extension.id ?? routeIdFor(op.operationId, op.method, op.path),
      method: op.method,
      path,
      action,
      resource,
      risk: op.extension.risk ?? DEFAULT_RISK[op.method] ?? 'medium',
      allowWorkloads: op.extension.allowWorkloads ?? false,
    };
    const checked = RouteSchema.safeParse(candidate);
    if (!checked.success) {
      for (const issue of checked.error.issues) problems.push(`${where}: ${issue.path.join('.')}: ${issue.message}`);
      continue;
    }
    const unreachable = checkRouteTemplate(op.method, segments, path, resource.id);
    if (unreachable !== undefined) {
      refused.push(note(op, unreachable));
      continue;
    }
    // Two templates that differ only in parameter names are one route to the router: the first wins.
    const shape = `${op.method} ${segments.map((s) => ('literal' in s ? encodeURIComponent(s.literal) : '{}')).join('/')}`;
    const first = shapes.get(shape);
    if (first !== undefined) {
      refused.push(
        note(op, `${first} has the same method and path shape, so it would receive every request for this one`),
      );
      continue;
    }
    shapes.set(shape, op.key);
    routes.push({
      key: op.key,
      spec: checked.data,
      explicitId: op.extension.id !== undefined,
      group: READ_METHODS.has(op.method) ? 'read' : 'write',
      segments,
    });
  }
  return { routes, refused, skipped, problems, warnings };
}

/** The resource type the document names: x-authzd's, else a single x-cedar.appliesToResourceTypes entry. */
function explicitType(op: OpenApiOperation): string | undefined {
  return op.extension.resource?.type ?? (op.cedarResourceTypes?.length === 1 ? op.cedarResourceTypes[0] : undefined);
}

function resourceFor(
  op: OpenApiOperation,
  derived: NamedResource,
  renames: ReadonlyMap<string, string>,
  where: string,
  problems: string[],
  warnings: string[],
): NamedResource | undefined {
  const wanted = op.extension.resource;
  const type = explicitType(op);
  if (type === undefined && op.cedarResourceTypes !== undefined && op.cedarResourceTypes.length !== 1) {
    warnings.push(
      `x-cedar of ${op.key} lists ${op.cedarResourceTypes.length} resource types; an authzd route has one, so the path decides (set x-authzd.resource.type)`,
    );
  }
  if (wanted?.id === undefined) return { type: type ?? derived.type, id: derived.id };
  const id = wanted.id;
  if (!id.includes('{')) {
    // A bare parameter name is that parameter; any other word is a literal id.
    const param = renames.get(id);
    return { type: type ?? derived.type, id: param !== undefined ? `{${param}}` : id };
  }
  let unknown: string | undefined;
  const template = id.replace(/\{([^{}]*)\}/g, (whole, name: string) => {
    const renamed = renames.get(name);
    if (renamed === undefined) unknown ??= name;
    return renamed !== undefined ? `{${renamed}}` : whole;
  });
  if (unknown !== undefined) {
    problems.push(`${where}: resource.id uses {${unknown}}, which is not a parameter of the path`);
    return undefined;
  }
  return { type: type ?? derived.type, id: template };
}
