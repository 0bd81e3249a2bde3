import { createHash } from 'node:crypto';

import { parse as parseYaml } from 'yaml';

import { cedar, type DetailedError, type PolicyJson, type SchemaJson } from '../cedar/cedar.js';
import type { StepUp } from '../contract/decision.js';
import { parseJson } from '../util/parse-json.js';
import { type ContextReads, contextReads } from './context-reads.js';
import { type EntityReach, entityReach } from './entity-reach.js';
import { entityKey, EntityStore, EntityStoreError } from './entity-store.js';
import { planSlices, type PolicyScope, type SlicePlan } from './plan-slices.js';
import type { PolicyFiles } from './policy-files.js';
import { qualifyType } from './qualify-type.js';
import { RouteTable, RouteTableError } from './route-table.js';
import { type RoutesFile, RoutesFileSchema, type RouteSpec } from './routes-schema.js';
import { sourcePosition } from './source-position.js';

/** Everything the hot path needs from a policy directory or bundle, derived and checked once. */
export interface PolicyModel {
  /** Content hash of the files (directory) or the bundle revision. */
  readonly version: string;
  /** Policy id -> Cedar text of that one policy. */
  readonly policies: Readonly<Record<string, string>>;
  readonly policyInfo: ReadonlyMap<string, PolicyInfo>;
  readonly schema: string | undefined;
  /** The schema as Cedar JSON (the engine preparses JSON faster than text). */
  readonly schemaJson: SchemaJson<string> | undefined;
  readonly entities: EntityStore;
  readonly routes: RouteTable;
  /** routes.yaml's routes and namespace, from which `routes` is built (and rebuilt on another thread). */
  readonly routeSpecs: readonly RouteSpec[];
  readonly namespace: string | undefined;
  readonly mapping: RequestMapping;
  /** The context attribute paths policies read: what a cached decision must be keyed on. */
  readonly contextReads: ContextReads;
  /** Which policies each planned kind of request needs (see planSlices). */
  readonly slicePlan: SlicePlan;
  /** Each policy's scope, for slicing a kind of request no route planned. */
  readonly policyScopes: ReadonlyMap<string, PolicyScope>;
  /**
   * Action entityKey -> the entityKeys of every action group it is in, transitively (from the schema, else
   * entities.json). Whole uids: a group may be declared in another namespace than its members.
   */
  readonly actionAncestors: ReadonlyMap<string, ReadonlySet<string>>;
  /** What of the entity store evaluation can read (see entity-reach.ts). */
  readonly entityReach: EntityReach;
  readonly warnings: readonly string[];
}

export interface PolicyInfo {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly file: string;
  readonly annotations: Readonly<Record<string, string>>;
  /** From `@stepUp("acr=mfa;max_age=300")` on a forbid: the login that would lift it (RFC 9470). */
  readonly stepUp: StepUp | undefined;
}

/** routes.yaml with every type name qualified by the namespace. */
export interface RequestMapping {
  readonly actionType: string;
  readonly principal: RoutesFile['principal'] & { readonly qualifiedType: string; readonly qualifiedRoleType?: string };
  readonly network: { readonly principalType: string; readonly action: string; readonly resourceType: string };
  readonly contextExtensions: readonly string[];
  readonly riskClasses: RoutesFile['riskClasses'];
}

export class PolicyModelError extends Error {
  override readonly name = 'PolicyModelError';
  constructor(readonly problems: readonly string[]) {
    super(`policy set rejected:\n  - ${problems.join('\n  - ')}`);
  }
}

const POLICY_ID = /^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}$/;

export function compilePolicyModel(files: PolicyFiles, version?: string): PolicyModel {
  const problems: string[] = [];
  const warnings: string[] = [];
  const text = (name: string) => files.get(name);

  // routes.yaml
  const routesText = text('routes.yaml');
  let routesFile: RoutesFile | undefined;
  if (routesText === undefined) problems.push('routes.yaml: missing');
  else {
    try {
      const parsed = RoutesFileSchema.safeParse(parseYaml(routesText, { uniqueKeys: true }));
      if (parsed.success) routesFile = parsed.data;
      else
        for (const i of parsed.error.issues)
          problems.push(`routes.yaml: ${i.path.join('.') || '(top level)'}: ${i.message}`);
    } catch (err) {
      problems.push(`routes.yaml: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  // *.cedar
  const policies: Record<string, string> = {};
  const policyInfo = new Map<string, PolicyInfo>();
  const policyJson = new Map<string, PolicyJson>();
  const cedarFiles = [...files.keys()].filter((n) => n.endsWith('.cedar')).sort();
  if (cedarFiles.length === 0) problems.push('no *.cedar files');
  // Where each policy starts in its file (UTF-8 bytes), so validation errors point at lines of the file.
  const policyStart = new Map<string, number>();
  for (const file of cedarFiles) {
    const fileText = files.get(file)!;
    const parts = cedar.policySetTextToParts(fileText);
    if (parts.type === 'failure') {
      problems.push(...parts.errors.map((e) => located(file, fileText, e)));
      continue;
    }
    let searchFrom = 0;
    if (parts.policy_templates.length > 0) problems.push(`${file}: policy templates are not supported`);
    parts.policies.forEach((policyText, index) => {
      // The parts are the file's own text, in order.
      const at = fileText.indexOf(policyText, searchFrom);
      const byteBase = at < 0 ? 0 : Buffer.byteLength(fileText.slice(0, at), 'utf8');
      if (at >= 0) searchFrom = at + policyText.length;
      const json = cedar.policyToJson(policyText);
      if (json.type === 'failure') {
        problems.push(...json.errors.map((e) => located(file, fileText, e, byteBase)));
        return;
      }
      const annotations = json.json.annotations ?? {};
      const id = annotations.id ?? `${file.replace(/\.cedar$/, '')}#${index}`;
      if (!POLICY_ID.test(id)) problems.push(`${file}: policy id ${JSON.stringify(id)} must match ${POLICY_ID.source}`);
      else if (policyInfo.has(id))
        problems.push(`${file}: duplicate policy id ${JSON.stringify(id)} (also in ${policyInfo.get(id)!.file})`);
      else {
        if (annotations.id === undefined)
          warnings.push(`${file}: policy ${index} has no @id annotation; its id is ${id}`);
        const stepUp = annotations.stepUp === undefined ? undefined : parseStepUp(annotations.stepUp);
        if (typeof stepUp === 'string') problems.push(`${file}: ${id}: @stepUp: ${stepUp}`);
        else if (stepUp !== undefined && json.json.effect !== 'forbid')
          problems.push(`${file}: ${id}: @stepUp belongs on a forbid (the policy a stronger login lifts)`);
        else if (stepUp?.maxAge !== undefined && !checksLoginAge(json.json, stepUp.maxAge)) {
          // The challenge promises that a login younger than max_age lifts the forbid; only the condition can
          // keep that promise, so it must compare the login time against that very number of seconds.
          problems.push(
            `${file}: ${id}: @stepUp announces max_age=${stepUp.maxAge}, but the condition does not check it: compare context.token.authTime with ${stepUp.maxAge} seconds before context.request.time (e.g. context.token has authTime && context.token.authTime + ${stepUp.maxAge} >= context.request.time)`,
          );
        }
        policies[id] = policyText;
        policyStart.set(id, byteBase);
        policyInfo.set(id, {
          id,
          effect: json.json.effect,
          file,
          annotations,
          stepUp: typeof stepUp === 'object' ? stepUp : undefined,
        });
        policyJson.set(id, json.json);
      }
    });
  }

  // schema.cedarschema
  const schema = text('schema.cedarschema');
  let actionsFromSchema: Map<string, { principals: Set<string>; resources: Set<string> }> | undefined;
  let schemaJson: SchemaJson<string> | undefined;
  const actionParents = new Map<string, string[]>();
  if (schema !== undefined) {
    const json = cedar.schemaToJson(schema);
    if (json.type === 'failure') problems.push(...json.errors.map((e) => located('schema.cedarschema', schema, e)));
    else {
      schemaJson = json.json;
      actionsFromSchema = new Map();
      for (const [ns, def] of Object.entries(json.json)) {
        const q = (t: string) => (t.includes('::') || ns === '' ? t : `${ns}::${t}`);
        for (const [name, action] of Object.entries(def.actions)) {
          const uid = entityKey({ type: q('Action'), id: name });
          actionsFromSchema.set(uid, {
            principals: new Set((action.appliesTo?.principalTypes ?? []).map(q)),
            resources: new Set((action.appliesTo?.resourceTypes ?? []).map(q)),
          });
          // A group without a type is an action of the same namespace (`action a in [g]`); one with a type
          // may be in any namespace (`action a in [Shared::Action::"g"]`).
          actionParents.set(
            uid,
            (action.memberOf ?? []).map((m) => entityKey({ type: q(m.type ?? 'Action'), id: m.id })),
          );
        }
      }
      if (Object.keys(policies).length > 0) {
        const result = cedar.validate({
          schema,
          policies: { staticPolicies: policies },
          validationSettings: { mode: 'strict' },
        });
        if (result.type === 'failure') problems.push(...result.errors.map((e) => `schema.cedarschema: ${describe(e)}`));
        else {
          for (const v of result.validationErrors) {
            const file = policyInfo.get(v.policyId)?.file;
            const where =
              file === undefined ? '?' : sourcePosition(file, files.get(file)!, v.error, policyStart.get(v.policyId));
            problems.push(`${where}: ${v.policyId}: ${describe(v.error)}`);
          }
          for (const v of result.validationWarnings) warnings.push(`${v.policyId}: ${describe(v.error)}`);
        }
      }
    }
  }

  // entities.json
  const namespace = routesFile?.namespace;
  const actionType = qualifyType(namespace, 'Action');
  let entities = new EntityStore([]);
  const entitiesText = text('entities.json');
  if (entitiesText !== undefined) {
    try {
      const raw = parseJson(entitiesText);
      problems.push(...inexactIntegers(raw));
      // With a schema, Cedar takes actions and their groups from it and rejects action entities that are
      // also passed as data.
      entities = new EntityStore(raw, schema !== undefined ? { dropTypes: new Set([actionType]) } : {});
      // Only against a schema that parsed: a broken one is reported once, above, not again for entities.json.
      if (schema !== undefined && schemaJson !== undefined)
        problems.push(...checkEntitiesAgainstSchema([...entities.entities()], schema));
    } catch (err) {
      if (err instanceof SyntaxError) problems.push(`entities.json: invalid JSON: ${err.message}`);
      else if (err instanceof EntityStoreError) problems.push(err.message);
      else throw err;
    }
  }

  // Routes against the schema.
  let routes: RouteTable | undefined;
  let mapping: RequestMapping | undefined;
  if (routesFile !== undefined) {
    const q = (t: string) => qualifyType(namespace, t);
    try {
      routes = new RouteTable(routesFile.routes, q);
    } catch (err) {
      if (err instanceof RouteTableError) problems.push(`routes.yaml: ${err.message}`);
      else throw err;
    }
    const p = routesFile.principal;
    mapping = {
      actionType,
      principal: {
        ...p,
        qualifiedType: q(p.type),
        ...(p.roleType !== undefined ? { qualifiedRoleType: q(p.roleType) } : {}),
      },
      network: {
        principalType: q(routesFile.network.principalType),
        action: routesFile.network.action,
        resourceType: q(routesFile.network.resourceType),
      },
      contextExtensions: routesFile.contextExtensions,
      riskClasses: routesFile.riskClasses,
    };
    if (mapping.principal.qualifiedType === mapping.network.principalType) {
      // A token's subject would then name a workload: a user whose `sub` is a SPIFFE ID would act as it.
      problems.push(
        `routes.yaml: principal.type and network.principalType must differ (both are ${mapping.network.principalType}): token subjects and workload identities must never name the same principal`,
      );
    }
    if (routes !== undefined && actionsFromSchema !== undefined) {
      for (const route of routes.routes) {
        const key = entityKey({ type: actionType, id: route.action });
        const applies = actionsFromSchema.get(key);
        if (applies === undefined) problems.push(`routes.yaml: route ${route.id}: action ${key} is not in the schema`);
        else {
          if (!applies.principals.has(mapping.principal.qualifiedType)) {
            problems.push(
              `routes.yaml: route ${route.id}: ${key} does not apply to principal type ${mapping.principal.qualifiedType}`,
            );
          }
          if (!applies.resources.has(route.resourceType)) {
            problems.push(
              `routes.yaml: route ${route.id}: ${key} does not apply to resource type ${route.resourceType}`,
            );
          }
        }
      }
      if (!actionsFromSchema.has(entityKey({ type: actionType, id: mapping.network.action }))) {
        warnings.push(
          `routes.yaml: network action ${mapping.network.action} is not in the schema; connections without HTTP attributes will be denied (schema_mismatch)`,
        );
      }
    }
  }

  if (problems.length > 0 || routes === undefined || mapping === undefined)
    throw new PolicyModelError([...new Set(problems)]);
  if (schema === undefined) {
    // Without a schema Cedar takes actions and their groups from the data: any entity of an action type.
    for (const entity of entities.entities()) {
      if (isActionType(entity.uid.type)) actionParents.set(entityKey(entity.uid), entity.parents.map(entityKey));
    }
  }
  const actionAncestors = closeOver(actionParents);
  return {
    version: version ?? contentVersion(files),
    policies,
    policyInfo,
    schema,
    schemaJson,
    entities,
    routes,
    routeSpecs: routesFile!.routes,
    namespace,
    mapping,
    actionAncestors,
    contextReads: contextReads(policyJson.values()),
    entityReach: entityReach(policyJson.values()),
    slicePlan: planSlices(policyJson, routes, mapping, actionAncestors),
    policyScopes: new Map(
      [...policyJson].map(([id, { principal, action, resource }]) => [id, { principal, action, resource }]),
    ),
    warnings,
  };
}

/** Whether a policy's condition reads the login time and uses `maxAge` (as a literal) in doing so. */
function checksLoginAge(policy: PolicyJson, maxAge: number): boolean {
  const reads = contextReads([policy]);
  const readsAuthTime =
    reads === 'all' ||
    reads.some((r) => !r.presence && r.path[0] === 'token' && (r.path.length === 1 || r.path[1] === 'authTime'));
  const literal = (expr: unknown): boolean =>
    typeof expr === 'object' &&
    expr !== null &&
    (('Value' in expr && expr.Value === maxAge) || Object.values(expr).some(literal));
  return readsAuthTime && policy.conditions.some((c) => literal(c.body));
}

/**
 * Integers JSON.parse cannot hold exactly (beyond ±(2^53 - 1)). Cedar's Long is 64-bit, but entities.json
 * is read with JSON.parse here and by cedar-wasm, which would both round such a value silently; refusing
 * it keeps the store, cedar-wasm and the native engine seeing the same numbers.
 */
function inexactIntegers(raw: unknown): string[] {
  const found: string[] = [];
  const walk = (v: unknown, path: string): void => {
    if (found.length >= 5) return;
    if (typeof v === 'number') {
      if (Number.isInteger(v) && !Number.isSafeInteger(v))
        found.push(`entities.json${path}: integer ${v} is beyond ±(2^53 - 1), which JSON numbers cannot hold exactly`);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(raw, '');
  return found;
}

/** Cedar's action entities are those whose type's last component is `Action`. */
const isActionType = (type: string): boolean => type === 'Action' || type.endsWith('::Action');

function closeOver(parents: ReadonlyMap<string, readonly string[]>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const visit = (id: string, seen: Set<string>) => {
    for (const p of parents.get(id) ?? []) {
      if (seen.has(p)) continue;
      seen.add(p);
      visit(p, seen);
    }
    return seen;
  };
  for (const id of parents.keys()) out.set(id, visit(id, new Set()));
  return out;
}

/** A stable version for a policy directory: the hash of its file names and contents. */
export function contentVersion(files: PolicyFiles): string {
  const hash = createHash('sha256');
  for (const name of [...files.keys()].sort()) hash.update(name).update('\0').update(files.get(name)!).update('\0');
  return `sha256:${hash.digest('hex').slice(0, 16)}`;
}

// cedar-wasm's entity check grows faster than linearly with the number of entities (100,000 took ~58 s in
// one call, ~4 s in chunks of 5,000 on the same machine); entities are checked one by one anyway, and a
// parent outside the chunk is allowed, so chunking changes only the cost.
const ENTITY_CHECK_CHUNK = 5_000;

function checkEntitiesAgainstSchema(list: readonly unknown[], schema: string): string[] {
  const problems: string[] = [];
  for (let i = 0; i < list.length && problems.length === 0; i += ENTITY_CHECK_CHUNK) {
    const check = cedar.checkParseEntities({ entities: list.slice(i, i + ENTITY_CHECK_CHUNK) as never, schema });
    if (check.type === 'failure') problems.push(...check.errors.map((e) => `entities.json: ${describe(e)}`));
  }
  return problems;
}

/** `acr=mfa` or `acr=mfa;max_age=300` (RFC 9470 parameters); a string is the problem. */
function parseStepUp(value: string): StepUp | string {
  let acrValues: string | undefined;
  let maxAge: number | undefined;
  for (const part of value
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)) {
    const [key, raw] = part.split('=', 2).map((x) => x.trim());
    if (key === 'acr' && raw !== undefined && /^[\x21\x23-\x5B\x5D-\x7E ]+$/.test(raw)) acrValues = raw;
    else if (key === 'max_age' && raw !== undefined && /^\d{1,9}$/.test(raw)) maxAge = Number(raw);
    else return `unexpected "${part}" (expected acr=VALUES[;max_age=SECONDS])`;
  }
  if (acrValues === undefined) return 'acr is required (acr=VALUES[;max_age=SECONDS])';
  return { acrValues, maxAge };
}

/** `file:line:column: message (what was expected there)` for a Cedar parse error. */
function located(file: string, text: string, e: DetailedError, byteBase = 0): string {
  const label = e.sourceLocations?.[0]?.label;
  return `${sourcePosition(file, text, e, byteBase)}: ${describe(e)}${label ? ` (${label})` : ''}`;
}

function describe(e: DetailedError): string {
  return e.help ? `${e.message} (${e.help})` : e.message;
}
