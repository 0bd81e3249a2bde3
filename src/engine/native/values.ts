import { DateTime, Duration } from './datetime.js';
import { Decimal } from './decimal.js';
import type { Long } from './i64.js';
import { IpAddr } from './ipaddr.js';

/**
 * A Cedar value. Bool, Long and String are JS primitives (Long: see i64.ts); the rest are objects of the
 * classes below. Primitives compare with `===`; objects with valueEquals.
 */
export type Value =
  boolean | Long | string | EntityRef | CedarSet | CedarRecord | Decimal | IpAddr | DateTime | Duration;

/**
 * An entity reference. `key` identifies it (type and id joined by NUL, which no entity type name can
 * contain), so equality and hashing are one string compare.
 */
export class EntityRef {
  readonly key: string;
  /** The store this reference was last looked up in, and its number there (-1: absent): see EntityView. */
  lookedUpIn: object | undefined = undefined;
  lookedUpIdx = -1;
  constructor(
    readonly type: string,
    readonly id: string,
  ) {
    this.key = `${type}\u0000${id}`;
  }
  toString(): string {
    return `${this.type}::${JSON.stringify(this.id)}`;
  }
}

export const entityKey = (type: string, id: string): string => `${type}\u0000${id}`;

type Primitive = boolean | number | bigint | string;
const isPrimitive = (v: Value): v is Primitive => typeof v !== 'object';

/**
 * A Cedar set: its distinct elements, with hash indexes for primitives and entities so `contains` is O(1)
 * for them; records, sets and extension values are compared structurally.
 */
export class CedarSet {
  readonly items: Value[] = [];
  #prims: Set<Primitive> | undefined;
  #ents: Set<string> | undefined;
  #others: Value[] | undefined;

  constructor(values: Iterable<Value>) {
    for (const v of values) this.#add(v);
  }

  get size(): number {
    return this.items.length;
  }

  #add(v: Value): void {
    if (isPrimitive(v)) {
      const prims = (this.#prims ??= new Set());
      if (prims.has(v)) return;
      prims.add(v);
    } else if (v instanceof EntityRef) {
      const ents = (this.#ents ??= new Set());
      if (ents.has(v.key)) return;
      ents.add(v.key);
    } else {
      const others = (this.#others ??= []);
      for (const o of others) if (valueEquals(o, v)) return;
      others.push(v);
    }
    this.items.push(v);
  }

  has(v: Value): boolean {
    if (isPrimitive(v)) return this.#prims?.has(v) ?? false;
    if (v instanceof EntityRef) return this.#ents?.has(v.key) ?? false;
    if (this.#others === undefined) return false;
    for (const o of this.#others) if (valueEquals(o, v)) return true;
    return false;
  }

  /** Every element of `sub` is in this set. */
  containsAll(sub: CedarSet): boolean {
    for (const v of sub.items) if (!this.has(v)) return false;
    return true;
  }

  containsAny(other: CedarSet): boolean {
    const [small, large] = other.items.length <= this.items.length ? [other, this] : [this, other];
    for (const v of small.items) if (large.has(v)) return true;
    return false;
  }

  equals(o: CedarSet): boolean {
    return this.items.length === o.items.length && this.containsAll(o);
  }
}

/**
 * A Cedar record: attribute names and values in two parallel arrays. Records of one shape (an entity
 * type's attributes, the context of one action) can share one `keys` array, which keeps a large entity
 * store compact; lookups scan small records and index large ones.
 */
export class CedarRecord {
  #index: Map<string, number> | undefined;
  constructor(
    readonly keys: readonly string[],
    readonly vals: readonly Value[],
  ) {}

  static of(
    keys: readonly string[],
    vals: readonly Value[],
    intern?: { keys(k: readonly string[]): readonly string[] },
  ): CedarRecord {
    return new CedarRecord(intern !== undefined ? intern.keys(keys) : keys, vals);
  }

  static fromMap(m: ReadonlyMap<string, Value>): CedarRecord {
    return new CedarRecord([...m.keys()], [...m.values()]);
  }

  get size(): number {
    return this.keys.length;
  }

  #indexOf(k: string): number {
    const ks = this.keys;
    if (ks.length <= 12) {
      for (let i = 0; i < ks.length; i++) if (ks[i] === k) return i;
      return -1;
    }
    if (this.#index === undefined) this.#index = new Map(ks.map((key, i) => [key, i]));
    return this.#index.get(k) ?? -1;
  }

  get(k: string): Value | undefined {
    const i = this.#indexOf(k);
    return i === -1 ? undefined : this.vals[i];
  }

  has(k: string): boolean {
    return this.#indexOf(k) !== -1;
  }

  equals(o: CedarRecord): boolean {
    if (this.keys.length !== o.keys.length) return false;
    for (let i = 0; i < this.keys.length; i++) {
      const w = o.get(this.keys[i]!);
      if (w === undefined || !valueEquals(this.vals[i]!, w)) return false;
    }
    return true;
  }
}

export const EMPTY_RECORD = new CedarRecord([], []);

/** Cedar's `==`: never an error; values of different types are different. */
export function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof EntityRef) return b instanceof EntityRef && a.key === b.key;
  if (a instanceof CedarSet) return b instanceof CedarSet && a.equals(b);
  if (a instanceof CedarRecord) return b instanceof CedarRecord && a.equals(b);
  if (a instanceof Decimal) return b instanceof Decimal && a.value === b.value;
  if (a instanceof IpAddr) return b instanceof IpAddr && a.equals(b);
  if (a instanceof DateTime) return b instanceof DateTime && a.ms === b.ms;
  if (a instanceof Duration) return b instanceof Duration && a.ms === b.ms;
  return false;
}

/** The Cedar type name of a value, for messages. */
export function typeName(v: Value): string {
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
    case 'bigint':
      return 'long';
    case 'string':
      return 'string';
  }
  if (v instanceof EntityRef) return `(entity of type \`${v.type}\`)`;
  if (v instanceof CedarSet) return 'set';
  if (v instanceof CedarRecord) return 'record';
  if (v instanceof Decimal) return 'decimal';
  if (v instanceof IpAddr) return 'ipaddr';
  if (v instanceof DateTime) return 'datetime';
  return 'duration';
}

/** A value in Cedar-like syntax, for explanations and messages. */
export function showValue(v: Value): string {
  switch (typeof v) {
    case 'boolean':
    case 'number':
    case 'bigint':
      return String(v);
    case 'string':
      return JSON.stringify(v);
  }
  if (v instanceof EntityRef) return v.toString();
  if (v instanceof CedarSet) return `[${v.items.map(showValue).join(', ')}]`;
  if (v instanceof CedarRecord)
    return `{${v.keys.map((k, i) => `${JSON.stringify(k)}: ${showValue(v.vals[i]!)}`).join(', ')}}`;
  if (v instanceof Decimal) return `decimal("${v.toString()}")`;
  if (v instanceof IpAddr) return `ip("${v.toString()}")`;
  return v.toString();
}
