import { CedarJsonError, checkEuid, type ValueParser } from './parse-value.js';
import { isActionType, type Schema } from './schema.js';
import { CedarRecord, type EntityRef, type Value, valueEquals } from './values.js';

/** One entity of Cedar's JSON entity format, parsed. */
export interface ParsedEntity {
  readonly ref: EntityRef;
  readonly attrs: CedarRecord;
  readonly parents: readonly EntityRef[];
  /** Undefined when the entity has no tags. */
  readonly tags: CedarRecord | undefined;
  /** For an entity parsed against its schema type: whether attributes and tags had their declared types. */
  readonly typed: { readonly conforms: boolean; readonly badEuid: string | undefined } | undefined;
}

export class EntityError extends Error {
  override readonly name = 'EntityError';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An entity from Cedar's JSON entity format (`uid`, `attrs`, `parents`, `tags`), parsed against the
 * schema's declaration of its type when there is a schema (EntityJsonParser::parse_ejson): attribute and
 * tag values schema-directed, undeclared attributes refused unless the type's attributes are open, tags
 * refused when the type declares none, an action's parents only actions. authzd's entities.json may omit
 * `attrs` and `parents` (empty), where Cedar's own reader requires them.
 */
export function parseEntity(
  json: unknown,
  schema: Schema | undefined,
  parser: ValueParser,
  where: string,
): ParsedEntity {
  try {
    if (!isObj(json)) throw new EntityError(`${where}: expected an object`);
    const ref = parser.uid(json.uid, where);
    const action = isActionType(ref.type);
    const et = schema !== undefined && !action ? schema.entityTypes.get(ref.type) : undefined;
    if (schema !== undefined && !action && et === undefined)
      throw new EntityError(`${where}: entity type \`${ref.type}\` is not declared in the schema`);
    parser.reset();
    const attrsJson = json.attrs ?? {};
    if (!isObj(attrsJson)) throw new EntityError(`${where}: attrs must be an object`);
    const keys = Object.keys(attrsJson);
    const vals: Value[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      let expected = undefined;
      if (et !== undefined) {
        const at = et.shape.attrs.get(k);
        if (at === undefined && !et.shape.open)
          throw new EntityError(`${where}: attribute \`${k}\` on \`${ref.toString()}\` is not declared in the schema`);
        expected = at?.type;
      }
      vals[i] = parser.parse(attrsJson[k], expected, where);
    }
    let tags: CedarRecord | undefined;
    if (json.tags !== undefined) {
      if (!isObj(json.tags)) throw new EntityError(`${where}: tags must be an object`);
      const tk = Object.keys(json.tags);
      if (tk.length > 0) {
        if (schema !== undefined && !action && et!.tags === undefined)
          throw new EntityError(`${where}: \`${ref.toString()}\` has tags, but its type declares none`);
        const tagType = et?.tags;
        tags = CedarRecord.of(
          tk,
          tk.map((k) => parser.parse((json.tags as Obj)[k], tagType, where)),
          parser.intern,
        );
      }
    }
    const parentsJson = json.parents ?? [];
    if (!Array.isArray(parentsJson)) throw new EntityError(`${where}: parents must be an array`);
    const parents = parentsJson.map((p) => {
      const r = parser.uid(p, where);
      if (action && !isActionType(r.type))
        throw new EntityError(
          `${where}: action \`${ref.toString()}\` has a parent that is not an action: \`${r.toString()}\``,
        );
      return r;
    });
    return {
      ref,
      attrs: CedarRecord.of(keys, vals, parser.intern),
      parents,
      tags,
      typed: et !== undefined ? { conforms: parser.conforms, badEuid: parser.badEuid } : undefined,
    };
  } catch (e) {
    if (e instanceof CedarJsonError) throw new EntityError(e.message);
    throw e;
  }
}

/**
 * Schema conformance of a non-action entity (EntitySchemaConformanceChecker::validate_entity), checked
 * with its direct parents as Cedar does before computing the hierarchy. Attribute and tag types were
 * checked while parsing (`typed`).
 */
export function checkEntityConforms(e: ParsedEntity, schema: Schema): void {
  const et = schema.entityTypes.get(e.ref.type);
  const bad = (m: string): never => {
    throw new EntityError(`entity \`${e.ref.toString()}\`: ${m}`);
  };
  if (et === undefined) return bad(`entity type \`${e.ref.type}\` is not declared in the schema`);
  const m0 = checkEuid(e.ref, schema);
  if (m0 !== undefined) bad(m0);
  for (const k of et.required)
    if (!e.attrs.has(k)) bad(`\`${e.ref.toString()}\` lacks the required attribute \`${k}\``);
  if (e.typed === undefined || !e.typed.conforms)
    bad(`an attribute or tag of \`${e.ref.toString()}\` does not have the declared type`);
  if (e.typed!.badEuid !== undefined) bad(e.typed!.badEuid);
  for (const p of e.parents) {
    const m = checkEuid(p, schema);
    if (m !== undefined) bad(m);
    if (!et.ancestorTypes.has(p.type))
      bad(`\`${e.ref.toString()}\` is not allowed to have an ancestor of type \`${p.type}\``);
  }
}

/** Cedar's Entity::deep_eq before the hierarchy is closed: same attributes, tags and parents. */
export function sameEntity(a: ParsedEntity, b: ParsedEntity): boolean {
  const sameRecord = (x: CedarRecord | undefined, y: CedarRecord | undefined) =>
    x === undefined || x.size === 0 ? y === undefined || y.size === 0 : y !== undefined && x.equals(y);
  if (!sameRecord(a.attrs, b.attrs) || !sameRecord(a.tags, b.tags)) return false;
  const pa = new Set(a.parents.map((p) => p.key));
  const pb = new Set(b.parents.map((p) => p.key));
  return pa.size === pb.size && [...pa].every((k) => pb.has(k));
}

export { valueEquals };
