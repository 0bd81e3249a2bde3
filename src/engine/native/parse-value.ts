import { DateTime, Duration } from './datetime.js';
import { Decimal } from './decimal.js';
import { EvalError } from './eval-error.js';
import { CONSTRUCTORS, EXTENSION_FUNCTIONS, type ExtensionFunction } from './extensions.js';
import { fromBigInt, type Long } from './i64.js';
import { IpAddr } from './ipaddr.js';
import { JsonNonLong } from './json-text.js';
import { isActionType, type Schema, type SchemaType } from './schema.js';
import { CedarRecord, CedarSet, entityKey, EntityRef, type Value } from './values.js';

/** Input that does not parse as Cedar JSON (a call with it fails as a whole, as in Cedar). */
export class CedarJsonError extends Error {
  override readonly name = 'CedarJsonError';
}

const fail = (where: string, what: string): never => {
  throw new CedarJsonError(`${where}: ${what}`);
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNonLong);
const has = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k);

const IDENT = /^[_a-zA-Z][_a-zA-Z0-9]*$/;
const RESERVED = new Set(['if', 'true', 'false', 'then', 'else', 'in', 'is', 'has', 'like', '__cedar']);

/** Whether a string is a normalized Cedar name (`A::B::C`, no reserved words), as Name::from_normalized_str requires. */
export function isValidName(s: string): boolean {
  const parts = s.split('::');
  return parts.every((p) => IDENT.test(p) && !RESERVED.has(p));
}

/** Strings and entity references repeat across an entity store; sharing them keeps the store compact. */
export interface Interner {
  str(s: string): string;
  ref(type: string, id: string): EntityRef;
  keys(k: readonly string[]): readonly string[];
}

export const NO_INTERNING: Interner = { str: (s) => s, ref: (t, i) => new EntityRef(t, i), keys: (k) => k };

/** An interner for a store: one copy of each string, entity reference and record shape. */
export function makeInterner(): Interner {
  const strs = new Map<string, string>();
  const refs = new Map<string, EntityRef>();
  const shapes = new Map<string, readonly string[]>();
  return {
    str(s) {
      if (s.length > 64) return s;
      const got = strs.get(s);
      if (got !== undefined) return got;
      strs.set(s, s);
      return s;
    },
    ref(type, id) {
      const key = entityKey(type, id);
      const got = refs.get(key);
      if (got !== undefined) return got;
      const r = new EntityRef(type, id);
      refs.set(key, r);
      return r;
    },
    keys(k) {
      // The signature can collide only for keys containing NUL; the arrays are compared before sharing.
      const sig = k.join('\u0000');
      const got = shapes.get(sig);
      if (got !== undefined && got.length === k.length && got.every((x, i) => x === k[i])) return got;
      if (got !== undefined) return k;
      const frozen = Object.freeze(k.map((x) => this.str(x)));
      shapes.set(sig, frozen);
      return frozen;
    },
  };
}

function toLong(v: unknown, where: string): Long {
  if (typeof v === 'bigint') return fromBigInt(v) ?? fail(where, `integer out of range: ${v}`);
  const n = v as number;
  if (!Number.isInteger(n)) return fail(where, `not an integer: ${n}`);
  if (Number.isSafeInteger(n)) return n + 0;
  return fromBigInt(BigInt(n)) ?? fail(where, `integer out of range: ${n}`);
}

/**
 * Rejects anything serde_json could not read as Cedar's raw JSON value (a fraction, an out-of-range
 * integer), even in parts of an escape that are otherwise ignored.
 */
function assertRaw(v: unknown, where: string): void {
  if (v instanceof JsonNonLong) fail(where, `not a 64-bit integer: ${v.text}`);
  if (typeof v === 'number' || typeof v === 'bigint') toLong(v, where);
  else if (Array.isArray(v)) for (const x of v) assertRaw(x, where);
  else if (isObj(v)) for (const k of Object.keys(v)) assertRaw(v[k], where);
  else if (v === undefined) fail(where, 'undefined is not a JSON value');
}

/**
 * Schema-directed parsing of Cedar's JSON value format, after cedar-policy-core's ValueParser: with an
 * expected entity type the `__entity` escape is optional; with an expected extension type the `__extn`
 * escape is optional and a bare value is the argument of the type's constructor (`"1.2.3.4"` for an
 * ipaddr); records are read attribute by attribute (required attributes checked, unknown ones refused
 * unless the record type is open, in which case they are dropped, as Cedar does); anything else is read as
 * plain Cedar JSON. Extension calls are evaluated here, so a bad literal is a parse error.
 *
 * Whether the value then has the expected type (Cedar's typecheck of entity attributes and of a request's
 * context) and whether its entity references are valid for the schema (enumerated ids, declared actions)
 * is recorded while parsing, in `conforms` and `badEuid`, rather than by a second walk: every position of
 * a schema-directed parse is typed, so the two agree (see typecheck, kept as the reference).
 */
export class ValueParser {
  /** False once a typed position received a value of another type (since the last reset). */
  conforms = true;
  /** The first entity reference invalid for the schema (since the last reset). */
  badEuid: string | undefined;
  readonly #names = new Map<string, boolean>();
  readonly #constructed = new Map<string, Value>();

  constructor(
    readonly intern: Interner = NO_INTERNING,
    readonly schema?: Schema,
  ) {}

  reset(): void {
    this.conforms = true;
    this.badEuid = undefined;
  }

  /** Name validity, memoised (bounded): entity types repeat in every call. */
  validName(type: string): boolean {
    let ok = this.#names.get(type);
    if (ok === undefined) {
      ok = isValidName(type);
      if (this.#names.size >= 4096) this.#names.clear();
      this.#names.set(type, ok);
    }
    return ok;
  }

  /** The `{type, id}` of an entity reference, with the type a valid name. */
  typeAndId(o: unknown, where: string): EntityRef | undefined {
    if (!isObj(o) || typeof o.type !== 'string' || typeof o.id !== 'string') return undefined;
    if (!this.validName(o.type)) fail(where, `invalid entity type \`${o.type}\``);
    return this.intern.ref(this.intern.str(o.type), o.id);
  }

  parse(json: unknown, expected: SchemaType | undefined, where: string): Value {
    if (expected === undefined) return this.plain(json, where);
    return typedParser(expected)(json, this, where);
  }

  mismatch(json: unknown, expected: SchemaType, where: string): never {
    this.plain(json, where); // a malformed value is reported as such first
    return fail(where, `type mismatch: value does not have the expected type ${showType(expected)}`);
  }

  /** Cedar JSON without a schema: `__entity` and `__extn` escapes, sets, records. */
  plain(json: unknown, where: string): Value {
    switch (typeof json) {
      case 'boolean':
        return json;
      case 'number':
      case 'bigint':
        return toLong(json, where);
      case 'string':
        return this.intern.str(json);
    }
    if (json === null) return fail(where, 'null is not a Cedar value');
    if (json === undefined) return fail(where, 'undefined is not a Cedar value');
    if (json instanceof JsonNonLong) return fail(where, `not a 64-bit integer: ${json.text}`);
    if (Array.isArray(json)) return new CedarSet(json.map((e) => this.plain(e, where)));
    const o = json as Obj;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const k = keys[0]!;
      const v = o[k];
      if (k === '__extn' && isObj(v) && Object.keys(v).length >= 2 && typeof v.fn === 'string') {
        if (has(v, 'arg')) {
          assertRaw(v, where);
          return this.call(v.fn, [this.plain(v.arg, where)], where);
        }
        if (Array.isArray(v.args)) {
          assertRaw(v, where);
          return this.call(
            v.fn,
            v.args.map((a) => this.plain(a, where)),
            where,
          );
        }
      }
      if (k === '__expr' && typeof v === 'string') fail(where, 'the `__expr` escape is no longer supported');
      if (
        k === '__entity' &&
        isObj(v) &&
        Object.keys(v).length >= 2 &&
        typeof v.type === 'string' &&
        typeof v.id === 'string'
      ) {
        assertRaw(v, where);
        return this.typeAndId(v, where)!;
      }
    }
    const vals = keys.map((key) => this.plain(o[key], where));
    return CedarRecord.of(keys, vals, this.intern);
  }

  /** An entity reference where the schema expects one: `{"__entity": {type, id}}` or `{type, id}`. */
  uid(json: unknown, where: string): EntityRef {
    if (!isObj(json)) return fail(where, `expected an entity reference, got ${JSON.stringify(json, bigintSafe)}`);
    if (typeof json.__expr === 'string') fail(where, 'the `__expr` escape is no longer supported');
    if (has(json, '__entity')) {
      const r = this.typeAndId(json.__entity, where);
      if (r !== undefined) return r;
    }
    return this.typeAndId(json, where) ?? fail(where, 'expected an entity reference ({"type": ..., "id": ...})');
  }

  /** An extension value where the schema expects one. */
  extension(json: unknown, typeName: keyof typeof CONSTRUCTORS, where: string): Value {
    if (isObj(json)) {
      if (typeof json.__expr === 'string') fail(where, 'the `__expr` escape is no longer supported');
      const explicit = has(json, '__extn') ? fnAndArgs(json.__extn) : undefined;
      const call = explicit ?? fnAndArgs(json);
      if (call !== undefined) {
        const f = this.lookup(call.fn, where);
        if (call.args.length !== f.argTypes.length)
          fail(
            where,
            `wrong number of arguments for \`${call.fn}\`: expected ${f.argTypes.length}, got ${call.args.length}`,
          );
        return this.apply(
          f,
          call.args.map((a, i) => this.parse(a, f.argTypes[i], where)),
          where,
        );
      }
    }
    const ctor = EXTENSION_FUNCTIONS.get(CONSTRUCTORS[typeName])!;
    return this.apply(ctor, [this.parse(json, ctor.argTypes[0], where)], where);
  }

  lookup(fn: string, where: string): ExtensionFunction {
    if (!this.validName(fn)) fail(where, `invalid extension function name \`${fn}\``);
    return EXTENSION_FUNCTIONS.get(fn) ?? fail(where, `extension function \`${fn}\` does not exist`);
  }

  call(fn: string, args: Value[], where: string): Value {
    const f = this.lookup(fn, where);
    if (args.length !== f.argTypes.length)
      fail(where, `wrong number of arguments for \`${fn}\`: expected ${f.argTypes.length}, got ${args.length}`);
    return this.apply(f, args, where);
  }

  apply(f: ExtensionFunction, args: Value[], where: string): Value {
    // Constructors on strings repeat (a client's address in every context): their values are immutable,
    // so a bounded memo serves them.
    const memo =
      args.length === 1 && typeof args[0] === 'string' && CONSTRUCTOR_NAMES.has(f.name)
        ? `${f.name}\u0000${args[0]}`
        : undefined;
    if (memo !== undefined) {
      const hit = this.#constructed.get(memo);
      if (hit !== undefined) return hit;
    }
    let v: Value;
    try {
      v = f.apply(args);
    } catch (e) {
      if (e instanceof EvalError) fail(where, e.message);
      throw e;
    }
    if (memo !== undefined) {
      if (this.#constructed.size >= 4096) this.#constructed.clear();
      this.#constructed.set(memo, v);
    }
    return v;
  }
}

const CONSTRUCTOR_NAMES = new Set(Object.values(CONSTRUCTORS));

type TypedParser = (json: unknown, p: ValueParser, where: string) => Value;
const parsers = new WeakMap<SchemaType, TypedParser>();

/**
 * The parser for one schema type, built once per type (the schema's types live as long as the engine):
 * a record type's attributes are looked up in a map and the key array of the last record it parsed is
 * reused when the next has the same keys (contexts of one action usually do).
 */
function typedParser(t: SchemaType): TypedParser {
  let f = parsers.get(t);
  if (f !== undefined) return f;
  switch (t.t) {
    case 'entity': {
      const name = t.name;
      f = (json, p, where) => {
        const r = p.uid(json, where);
        if (r.type !== name) p.conforms = false;
        if (p.schema !== undefined && p.badEuid === undefined) p.badEuid = checkEuid(r, p.schema);
        return r;
      };
      break;
    }
    case 'ext': {
      const name = t.name;
      f = (json, p, where) => {
        const v = p.extension(json, name, where);
        if (!hasExtensionType(v, name)) p.conforms = false;
        return v;
      };
      break;
    }
    case 'set': {
      const elem = typedParser(t.elem);
      f = (json, p, where) => {
        if (!Array.isArray(json)) return p.mismatch(json, t, where);
        const elems: Value[] = new Array(json.length);
        for (let i = 0; i < json.length; i++) elems[i] = elem(json[i], p, where);
        return new CedarSet(elems);
      };
      break;
    }
    case 'record': {
      const attrs = new Map([...t.attrs].map(([k, a]) => [k, { parse: typedParser(a.type), required: a.required }]));
      const required = [...t.attrs].filter(([, a]) => a.required).map(([k]) => k);
      const open = t.open;
      let lastKeys: readonly string[] = [];
      f = (json, p, where) => {
        if (!isObj(json)) return p.mismatch(json, t, where);
        const jsonKeys = Object.keys(json);
        let keys: string[] | undefined;
        const vals: Value[] = [];
        let same = true;
        for (let i = 0; i < jsonKeys.length; i++) {
          const k = jsonKeys[i]!;
          const a = attrs.get(k);
          if (a === undefined) {
            if (!open) fail(where, `unexpected attribute \`${k}\``);
            if (keys === undefined) keys = jsonKeys.slice(0, i);
            same = false;
            continue;
          }
          if (keys !== undefined) keys.push(k);
          else if (lastKeys[vals.length] !== k) same = false;
          vals.push(a.parse(json[k], p, where));
        }
        if (vals.length < attrs.size) {
          for (const k of required) if (!has(json, k)) fail(where, `missing required attribute \`${k}\``);
        }
        let finalKeys: readonly string[];
        if (keys === undefined && same && lastKeys.length === vals.length) finalKeys = lastKeys;
        else {
          finalKeys = p.intern.keys(keys ?? jsonKeys);
          lastKeys = finalKeys;
        }
        return new CedarRecord(finalKeys, vals);
      };
      break;
    }
    case 'bool':
      f = (json, p, where) => {
        if (typeof json === 'boolean') return json;
        p.conforms = false;
        return p.plain(json, where);
      };
      break;
    case 'long':
      f = (json, p, where) => {
        if (typeof json === 'number' && Number.isSafeInteger(json)) return json + 0;
        const v = p.plain(json, where);
        if (typeof v !== 'number' && typeof v !== 'bigint') p.conforms = false;
        return v;
      };
      break;
    case 'string':
      f = (json, p, where) => {
        if (typeof json === 'string') return p.intern.str(json);
        p.conforms = false;
        return p.plain(json, where);
      };
      break;
  }
  parsers.set(t, f);
  return f;
}

function hasExtensionType(v: Value, name: keyof typeof CONSTRUCTORS): boolean {
  switch (name) {
    case 'ipaddr':
      return v instanceof IpAddr;
    case 'decimal':
      return v instanceof Decimal;
    case 'datetime':
      return v instanceof DateTime;
    case 'duration':
      return v instanceof Duration;
  }
}

/** FnAndArgs: `{fn, arg}` or `{fn, args: [...]}`. */
function fnAndArgs(v: unknown): { fn: string; args: unknown[] } | undefined {
  if (!isObj(v) || typeof v.fn !== 'string') return undefined;
  if (has(v, 'arg')) return { fn: v.fn, args: [v.arg] };
  if (Array.isArray(v.args)) return { fn: v.fn, args: v.args };
  return undefined;
}

const bigintSafe = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

export function showType(t: SchemaType): string {
  switch (t.t) {
    case 'bool':
      return 'Bool';
    case 'long':
      return 'Long';
    case 'string':
      return 'String';
    case 'set':
      return `Set<${showType(t.elem)}>`;
    case 'record':
      return `{${[...t.attrs].map(([k, a]) => `${k}${a.required ? '' : '?'}: ${showType(a.type)}`).join(', ')}}`;
    case 'entity':
      return t.name;
    case 'ext':
      return t.name;
  }
}

/**
 * Whether a value has a schema type (Cedar's typecheck of entity attributes and of the request context).
 * The parser records the same while parsing; this is the reference the tests hold it to.
 */
export function typecheck(v: Value, t: SchemaType): boolean {
  switch (t.t) {
    case 'bool':
      return typeof v === 'boolean';
    case 'long':
      return typeof v === 'number' || typeof v === 'bigint';
    case 'string':
      return typeof v === 'string';
    case 'set':
      return v instanceof CedarSet && v.items.every((e) => typecheck(e, t.elem));
    case 'entity':
      return v instanceof EntityRef && v.type === t.name;
    case 'ext':
      return hasExtensionType(v, t.name);
    case 'record': {
      if (!(v instanceof CedarRecord)) return false;
      for (let i = 0; i < v.keys.length; i++) {
        const at = t.attrs.get(v.keys[i]!);
        if (at === undefined) {
          if (!t.open) return false;
        } else if (!typecheck(v.vals[i]!, at.type)) return false;
      }
      for (const [k, at] of t.attrs) if (at.required && !v.has(k)) return false;
      return true;
    }
  }
}

/**
 * Entity references inside a value must be valid for the schema: an enumerated entity type's id must be
 * one of its values, an action must be declared (validate_euids_in_partial_value).
 */
export function checkEuids(v: Value, schema: Schema): string | undefined {
  if (v instanceof EntityRef) return checkEuid(v, schema);
  if (v instanceof CedarSet) {
    for (const e of v.items) {
      const m = checkEuids(e, schema);
      if (m !== undefined) return m;
    }
  } else if (v instanceof CedarRecord) {
    for (const e of v.vals) {
      const m = checkEuids(e, schema);
      if (m !== undefined) return m;
    }
  }
  return undefined;
}

export function checkEuid(r: EntityRef, schema: Schema): string | undefined {
  const et = schema.entityTypes.get(r.type);
  if (et?.enumIds !== undefined && !et.enumIds.has(r.id))
    return `entity \`${r.toString()}\` is of an enumerated type, but \`${JSON.stringify(r.id)}\` is not one of its values`;
  if (isActionType(r.type) && !schema.actions.has(r.key))
    return `action \`${r.toString()}\` is not declared in the schema`;
  return undefined;
}
