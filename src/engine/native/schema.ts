import { EntityRef } from './values.js';

/** A Cedar schema type with every name resolved and every common type inlined. */
export type SchemaType =
  | { readonly t: 'bool' }
  | { readonly t: 'long' }
  | { readonly t: 'string' }
  | { readonly t: 'set'; readonly elem: SchemaType }
  | { readonly t: 'record'; readonly attrs: ReadonlyMap<string, AttrType>; readonly open: boolean }
  | { readonly t: 'entity'; readonly name: string }
  | { readonly t: 'ext'; readonly name: ExtensionTypeName };

export interface AttrType {
  readonly type: SchemaType;
  readonly required: boolean;
}

export type ExtensionTypeName = 'ipaddr' | 'decimal' | 'datetime' | 'duration';
export const EXTENSION_TYPES: readonly ExtensionTypeName[] = ['ipaddr', 'decimal', 'datetime', 'duration'];

export interface EntityTypeDef {
  readonly name: string;
  readonly shape: SchemaType & { t: 'record' };
  /** The shape's required attributes. */
  readonly required: readonly string[];
  readonly tags: SchemaType | undefined;
  /** The ids an enumerated entity type allows, or undefined. */
  readonly enumIds: ReadonlySet<string> | undefined;
  /** Types its entities may have as ancestors: memberOfTypes, transitively. */
  readonly ancestorTypes: ReadonlySet<string>;
}

export interface ActionDef {
  readonly uid: EntityRef;
  /** Direct action groups (memberOf). */
  readonly parents: readonly EntityRef[];
  /** Every action group it is in, transitively (entity keys). */
  readonly ancestors: ReadonlySet<string>;
  readonly principalTypes: ReadonlySet<string>;
  readonly resourceTypes: ReadonlySet<string>;
  readonly context: SchemaType & { t: 'record' };
}

export interface Schema {
  readonly entityTypes: ReadonlyMap<string, EntityTypeDef>;
  /** By entity key of the action uid. */
  readonly actions: ReadonlyMap<string, ActionDef>;
}

export class SchemaError extends Error {
  override readonly name = 'SchemaError';
}

type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const qualify = (ns: string, name: string) => (ns === '' ? name : `${ns}::${name}`);

/**
 * Reads a schema in Cedar's JSON schema format (what cedar-wasm's schemaToJson returns, or a JSON schema
 * file), resolving names as cedar-policy-core's validator does: an unqualified name in namespace NS means
 * NS::name if that is declared, else the empty namespace's; common types first, then entity types; the
 * primitive and extension types are `__cedar::*`, aliased in the empty namespace unless a declaration there
 * shadows them. The schema is assumed valid (cedar-wasm validates it before activation): this resolves,
 * it does not diagnose.
 */
export function buildSchema(json: Json): Schema {
  if (!isObj(json)) throw new SchemaError('schema JSON must be an object of namespaces');
  const commonDefs = new Map<string, { ns: string; def: Json }>();
  const entityDefs = new Map<string, { ns: string; def: Record<string, Json> }>();
  const actionDefs = new Map<string, { ns: string; id: string; type: string; def: Record<string, Json> }>();
  for (const [ns, nsDef] of Object.entries(json)) {
    if (!isObj(nsDef)) throw new SchemaError(`namespace ${ns}: expected an object`);
    for (const [name, def] of Object.entries(isObj(nsDef.commonTypes) ? nsDef.commonTypes : {}))
      commonDefs.set(qualify(ns, name), { ns, def });
    for (const [name, def] of Object.entries(isObj(nsDef.entityTypes) ? nsDef.entityTypes : {}))
      entityDefs.set(qualify(ns, name), { ns, def: isObj(def) ? def : {} });
    const actionType = qualify(ns, 'Action');
    for (const [id, def] of Object.entries(isObj(nsDef.actions) ? nsDef.actions : {})) {
      actionDefs.set(new EntityRef(actionType, id).key, { ns, id, type: actionType, def: isObj(def) ? def : {} });
    }
  }
  const builtin = (n: string): SchemaType | undefined => {
    switch (n) {
      case 'Bool':
        return { t: 'bool' };
      case 'Long':
        return { t: 'long' };
      case 'String':
        return { t: 'string' };
      default:
        return (EXTENSION_TYPES as readonly string[]).includes(n)
          ? { t: 'ext', name: n as ExtensionTypeName }
          : undefined;
    }
  };
  const actionTypes = new Set([...actionDefs.values()].map((a) => a.type));
  const isEntity = (n: string) => entityDefs.has(n) || actionTypes.has(n);
  // The empty-namespace aliases of the builtins, unless the user declared that name there.
  const isCommon = (n: string) =>
    commonDefs.has(n) ||
    (n.startsWith('__cedar::') && builtin(n.slice(9)) !== undefined) ||
    (builtin(n) !== undefined && !entityDefs.has(n));
  const possibilities = (name: string, ns: string) =>
    name.includes('::') || ns === '' ? [name] : [`${ns}::${name}`, name];

  const resolving = new Set<string>();
  const commonCache = new Map<string, SchemaType>();
  const commonType = (n: string): SchemaType => {
    const cached = commonCache.get(n);
    if (cached !== undefined) return cached;
    const user = commonDefs.get(n);
    let t: SchemaType;
    if (user !== undefined) {
      if (resolving.has(n)) throw new SchemaError(`cycle in common type ${n}`);
      resolving.add(n);
      t = typeOf(user.def, user.ns);
      resolving.delete(n);
    } else {
      const b = builtin(n.startsWith('__cedar::') ? n.slice(9) : n);
      if (b === undefined) throw new SchemaError(`unknown common type ${n}`);
      t = b;
    }
    commonCache.set(n, t);
    return t;
  };
  const resolve = (name: string, ns: string, kinds: 'common' | 'entity' | 'either'): SchemaType => {
    for (const p of possibilities(name, ns)) {
      if (kinds !== 'entity' && isCommon(p)) return commonType(p);
      if (kinds !== 'common' && isEntity(p)) return { t: 'entity', name: p };
    }
    throw new SchemaError(`failed to resolve type: ${name}`);
  };
  const entityName = (name: string, ns: string): string => {
    const t = resolve(name, ns, 'entity');
    return (t as { name: string }).name;
  };
  function typeOf(def: Json, ns: string): SchemaType {
    if (!isObj(def) || typeof def.type !== 'string') throw new SchemaError(`invalid type: ${JSON.stringify(def)}`);
    const name = typeof def.name === 'string' ? def.name : undefined;
    switch (def.type) {
      case 'String':
        return { t: 'string' };
      case 'Long':
        return { t: 'long' };
      case 'Boolean':
        return { t: 'bool' };
      case 'Set':
        return { t: 'set', elem: typeOf(def.element, ns) };
      case 'Record': {
        const attrs = new Map<string, AttrType>();
        for (const [k, a] of Object.entries(isObj(def.attributes) ? def.attributes : {})) {
          attrs.set(k, { type: typeOf(a, ns), required: !(isObj(a) && a.required === false) });
        }
        return { t: 'record', attrs, open: def.additionalAttributes === true };
      }
      case 'Entity':
        if (name === undefined) break;
        return { t: 'entity', name: entityName(name, ns) };
      case 'EntityOrCommon':
        if (name === undefined) break;
        return resolve(name, ns, 'either');
      case 'Extension': {
        if (name === undefined) break;
        const b = builtin(name);
        if (b === undefined || b.t !== 'ext') throw new SchemaError(`unknown extension type ${name}`);
        return b;
      }
    }
    // Any other name, and `{ "type": "Entity" }` without a name, is a reference to a common type.
    return resolve(def.type, ns, 'common');
  }
  const asRecord = (t: SchemaType, what: string): SchemaType & { t: 'record' } => {
    if (t.t !== 'record') throw new SchemaError(`${what} must be a record type`);
    return t;
  };

  const entityTypes = new Map<string, EntityTypeDef>();
  const memberOf = new Map<string, string[]>();
  for (const [name, { ns, def }] of entityDefs) {
    memberOf.set(name, Array.isArray(def.memberOfTypes) ? def.memberOfTypes.map((m) => entityName(String(m), ns)) : []);
  }
  const ancestorTypesOf = (name: string): Set<string> => {
    const out = new Set<string>();
    const stack = [...(memberOf.get(name) ?? [])];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (out.has(t)) continue;
      out.add(t);
      stack.push(...(memberOf.get(t) ?? []));
    }
    return out;
  };
  const EMPTY: SchemaType & { t: 'record' } = { t: 'record', attrs: new Map(), open: false };
  for (const [name, { ns, def }] of entityDefs) {
    const shape = def.shape === undefined ? EMPTY : asRecord(typeOf(def.shape, ns), `shape of ${name}`);
    entityTypes.set(name, {
      name,
      shape,
      required: [...shape.attrs].filter(([, a]) => a.required).map(([k]) => k),
      tags: def.tags === undefined ? undefined : typeOf(def.tags, ns),
      enumIds: Array.isArray(def.enum) ? new Set(def.enum.map(String)) : undefined,
      ancestorTypes: ancestorTypesOf(name),
    });
  }

  const actionParents = new Map<string, EntityRef[]>();
  for (const [key, { ns, def }] of actionDefs) {
    const parents: EntityRef[] = [];
    for (const m of Array.isArray(def.memberOf) ? def.memberOf : []) {
      if (!isObj(m) || typeof m.id !== 'string') throw new SchemaError(`invalid memberOf in action ${key}`);
      const ty = typeof m.type === 'string' ? m.type : 'Action';
      const found = possibilities(ty, ns)
        .map((p) => new EntityRef(p, m.id as string))
        .find((r) => actionDefs.has(r.key));
      if (found === undefined) throw new SchemaError(`undeclared action group ${ty}::"${m.id}"`);
      parents.push(found);
    }
    actionParents.set(key, parents);
  }
  const actions = new Map<string, ActionDef>();
  for (const [key, { ns, id, type, def }] of actionDefs) {
    const ancestors = new Set<string>();
    const stack = [...actionParents.get(key)!];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (ancestors.has(p.key)) continue;
      ancestors.add(p.key);
      stack.push(...(actionParents.get(p.key) ?? []));
    }
    const appliesTo = isObj(def.appliesTo) ? def.appliesTo : undefined;
    const types = (v: Json) => new Set(Array.isArray(v) ? v.map((n) => entityName(String(n), ns)) : []);
    actions.set(key, {
      uid: new EntityRef(type, id),
      parents: actionParents.get(key)!,
      ancestors,
      principalTypes: types(appliesTo?.principalTypes),
      resourceTypes: types(appliesTo?.resourceTypes),
      context: appliesTo?.context === undefined ? EMPTY : asRecord(typeOf(appliesTo.context, ns), `context of ${key}`),
    });
  }
  return { entityTypes, actions };
}

/** Whether an entity type name is an action type (`Action` or `NS::Action`), as Cedar's is_action. */
export function isActionType(type: string): boolean {
  return type === 'Action' || type.endsWith('::Action');
}
