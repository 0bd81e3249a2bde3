// The Cedar schema declarations the imported routes need (docs/openapi.md, "The schema"): each action
// with its action group and `appliesTo` (routes.yaml's principal type, the routes' resource types, the
// HTTP context authzd builds), the entity types of resources and principals, and authzd's context types
// when the schema lacks them. Anything a person already declared is left to them.
import type { RouteSpec } from '../policy/routes-schema.js';
import { ACTION_GROUPS, type ActionGroup } from './map-operations.js';
import { quote } from './schema-layout.js';

export interface Declaration {
  /** `entity Pet`, `type HttpContext`, `action "getPet"`: what the declaration declares. */
  readonly key: string;
  readonly text: string;
}

export interface SchemaNeeds {
  readonly namespace: string | undefined;
  /** Routes that came from the document (generated, or generated and edited by hand). */
  readonly routes: readonly RouteSpec[];
  readonly principalType: string;
  /** routes.yaml principal.roleType, when roles come from a claim. */
  readonly roleType: string | undefined;
  /** routes.yaml network.principalType: the principal of allowWorkloads routes without a token. */
  readonly workloadType: string;
  readonly contextExtensions: readonly string[];
}

export const CONTEXT_TYPE = 'HttpContext';
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export function declarationKey(kind: 'entity' | 'type' | 'action', name: string): string {
  return `${kind} ${kind === 'action' ? quote(name) : name}`;
}

/** Everything the routes need, minus what `declared` says exists already (by key). */
export function buildSchemaDeclarations(needs: SchemaNeeds, declared: (key: string) => boolean): Declaration[] {
  const local = (type: string) => localName(needs.namespace, type);
  const entities = new Map<string, string>();
  const wantEntity = (type: string, text?: string) => {
    const name = local(type);
    if (name !== undefined && !entities.has(name)) entities.set(name, text ?? `entity ${name};`);
  };

  interface ActionUse {
    resources: Set<string>;
    principals: Set<string>;
    groups: Set<ActionGroup>;
    routes: RouteSpec[];
  }
  const actions = new Map<string, ActionUse>();
  for (const route of needs.routes) {
    const use = actions.get(route.action) ?? {
      resources: new Set(),
      principals: new Set(),
      groups: new Set(),
      routes: [],
    };
    use.resources.add(route.resource.type);
    use.principals.add(needs.principalType);
    if (route.allowWorkloads) use.principals.add(needs.workloadType);
    const methods = route.method === '*' ? ['*'] : typeof route.method === 'string' ? [route.method] : route.method;
    for (const m of methods) use.groups.add(READ_METHODS.has(m) ? 'read' : 'write');
    use.routes.push(route);
    actions.set(route.action, use);
  }

  const role = needs.roleType !== undefined ? local(needs.roleType) : undefined;
  wantEntity(
    needs.principalType,
    role !== undefined && local(needs.principalType) !== undefined
      ? `entity ${local(needs.principalType)} in [${role}];`
      : undefined,
  );
  if (needs.roleType !== undefined)
    wantEntity(needs.roleType, role !== undefined ? `entity ${role} in [${role}];` : undefined);
  for (const use of actions.values()) {
    for (const p of use.principals) wantEntity(p);
    for (const r of use.resources) wantEntity(r);
  }

  const out: Declaration[] = [];
  for (const [name, text] of entities) out.push({ key: declarationKey('entity', name), text });
  if (!declared(declarationKey('type', CONTEXT_TYPE))) {
    for (const [name, text] of contextTypes(needs.contextExtensions))
      out.push({ key: declarationKey('type', name), text });
  }
  const groups = new Set([...actions.values()].flatMap((u) => [...u.groups]));
  for (const group of ACTION_GROUPS)
    if (groups.has(group)) out.push({ key: declarationKey('action', group), text: `action ${group};` });
  for (const [name, use] of actions) {
    const list = (types: Set<string>) => (types.size === 1 ? [...types][0]! : `[${[...types].join(', ')}]`);
    // Cedar's SimpleRest generator annotates each action with the operation it came from; so does this.
    const only = use.routes.length === 1 ? use.routes[0]! : undefined;
    const annotations =
      only !== undefined && typeof only.method === 'string' && only.method !== '*'
        ? `@httpVerb(${quote(only.method.toLowerCase())}) @httpPathTemplate(${quote(only.path)})\n`
        : '';
    const groupList = ACTION_GROUPS.filter((g) => use.groups.has(g));
    out.push({
      key: declarationKey('action', name),
      text: `${annotations}action ${quote(name)} in [${groupList.join(', ')}] appliesTo { principal: ${list(use.principals)}, resource: ${list(use.resources)}, context: ${CONTEXT_TYPE} };`,
    });
  }
  return out.filter((d) => !declared(d.key));
}

/** The type's name inside the namespace block, or undefined when it belongs to another namespace. */
function localName(namespace: string | undefined, type: string): string | undefined {
  if (!type.includes('::')) return type;
  if (namespace !== undefined && type.startsWith(`${namespace}::`) && !type.slice(namespace.length + 2).includes('::'))
    return type.slice(namespace.length + 2);
  return undefined;
}

/** authzd's HTTP context (docs/policy-model.md, "Context shape"), as the example schema declares it. */
export function contextTypes(extensions: readonly string[]): [string, string][] {
  const ext = extensions.length > 0 ? `\n  extensions?: { ${extensions.map((e) => `${e}?: String`).join(', ')} },` : '';
  return [
    [
      'RequestFacts',
      'type RequestFacts = {\n  method: String,\n  path: String,\n  host: String,\n  scheme: String,\n  routeId: String,\n  time: Long,\n  sourceIp?: ipaddr,\n};',
    ],
    [
      'TokenFacts',
      'type TokenFacts = {\n  iss: String,\n  sub: String,\n  exp: Long,\n  scope: Set<String>,\n  amr: Set<String>,\n  acr?: String,\n  authTime?: Long,\n  iat?: Long,\n  tenant?: String,\n  clientId?: String,\n};',
    ],
    ['PeerFacts', 'type PeerFacts = { principal: String };'],
    ['RiskFacts', 'type RiskFacts = { recentRequests: Long, score?: Long, deviceTrust?: String };'],
    [
      CONTEXT_TYPE,
      `type ${CONTEXT_TYPE} = {\n  request: RequestFacts,\n  token?: TokenFacts,\n  peer?: PeerFacts,\n  risk?: RiskFacts,${ext}\n};`,
    ],
  ];
}
