import { checkEntityConforms, EntityError, type ParsedEntity, parseEntity, sameEntity } from './parse-entity.js';
import { makeInterner, ValueParser } from './parse-value.js';
import { isActionType, type Schema } from './schema.js';
import { CedarRecord, type EntityRef } from './values.js';

/**
 * The entity store of one activation, read by every evaluation directly (no slicing): entities are
 * numbered; each has its attributes as a compact record, its direct parents and the transitive closure of
 * its ancestors (sorted numbers in one flat Int32Array), all computed once here. An entity named only as
 * a parent is numbered too (Cedar counts it as an ancestor) but has no data. Lookups are one Map get by
 * key plus a binary search, whatever the store's size.
 */
export class EntityStore {
  readonly #index = new Map<string, number>();
  readonly #keys: string[] = [];
  #exists!: Uint8Array;
  #isParent!: Uint8Array;
  readonly #attrs: (CedarRecord | undefined)[] = [];
  readonly #tags = new Map<number, CedarRecord>();
  #parentStart!: Int32Array;
  #parentList!: Int32Array;
  #ancStart!: Int32Array;
  #ancList!: Int32Array;

  private constructor() {}

  /**
   * Builds a store from Cedar's JSON entity array, checked against the schema when there is one (types
   * declared, attributes typed, parents allowed, enumerated ids valid), as Cedar's Entities::from_json_value
   * does: duplicates must be identical, the hierarchy must be acyclic, action entities must match the
   * schema's, whose action entities are then added. Throws EntityError.
   */
  static build(json: unknown, schema: Schema | undefined): EntityStore {
    const steps = EntityStore.buildSteps(json, schema);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * The same, a few thousand entities per step, so a caller can build a large store between other work
   * (yield to the event loop after each step) instead of stalling it.
   */
  static *buildSteps(json: unknown, schema: Schema | undefined): Generator<void, EntityStore> {
    if (!Array.isArray(json)) throw new EntityError('entities must be a JSON array');
    const parser = new ValueParser(makeInterner(), schema);
    const byKey = new Map<string, ParsedEntity>();
    for (let i = 0; i < json.length; i++) {
      const e = parseEntity(json[i], schema, parser, `entities[${i}]`);
      const prior = byKey.get(e.ref.key);
      if (prior !== undefined) {
        if (!sameEntity(prior, e)) throw new EntityError(`duplicate entity entry \`${e.ref.toString()}\``);
        continue;
      }
      byKey.set(e.ref.key, e);
      if (schema !== undefined && !isActionType(e.ref.type)) checkEntityConforms(e, schema);
      if (i % STEP === STEP - 1) yield;
    }
    const store = new EntityStore();
    const parentsOf: number[][] = [];
    const add = (key: string): number => {
      let idx = store.#index.get(key);
      if (idx === undefined) {
        idx = store.#keys.length;
        store.#index.set(key, idx);
        store.#keys.push(key);
        store.#attrs.push(undefined);
        parentsOf.push([]);
      }
      return idx;
    };
    const existing: number[] = [];
    for (const e of byKey.values()) {
      const idx = add(e.ref.key);
      existing.push(idx);
      store.#attrs[idx] = e.attrs;
      if (e.tags !== undefined) store.#tags.set(idx, e.tags);
      parentsOf[idx] = [...new Set(e.parents.map((p) => add(p.key)))];
    }
    const jsonActions = schema === undefined ? [] : [...byKey.values()].filter((e) => isActionType(e.ref.type));
    yield* store.#seal(existing, parentsOf);
    if (schema !== undefined) {
      // An action entity in the JSON must be the schema's exactly (same ancestors once closed); then the
      // schema's action entities are the store's.
      for (const e of jsonActions) {
        const def = schema.actions.get(e.ref.key);
        if (def === undefined) throw new EntityError(`action \`${e.ref.toString()}\` is not declared in the schema`);
        const idx = store.#index.get(e.ref.key)!;
        const anc = new Set(Array.from(store.ancestorIndexes(idx), (a) => store.#keys[a]!));
        const same =
          e.attrs.size === 0 &&
          e.tags === undefined &&
          anc.size === def.ancestors.size &&
          [...anc].every((k) => def.ancestors.has(k));
        if (!same)
          throw new EntityError(`definition of action \`${e.ref.toString()}\` does not match its schema declaration`);
      }
      const keep = new Set(existing);
      const parents2 = parentsOf.map((p) => [...p]);
      const add2 = (key: string) => {
        const idx = add(key);
        while (parents2.length <= idx) parents2.push([]);
        return idx;
      };
      for (const def of schema.actions.values()) {
        const idx = add2(def.uid.key);
        keep.add(idx);
        store.#attrs[idx] = EMPTY;
        parents2[idx] = def.parents.map((p) => add2(p.key));
      }
      yield* store.#seal([...keep], parents2);
    }
    return store;
  }

  /** Computes existence, direct parents and closed ancestor lists; refuses cycles. */
  *#seal(existing: number[], parentsOf: number[][]): Generator<void> {
    const n = this.#keys.length;
    while (parentsOf.length < n) parentsOf.push([]);
    this.#exists = new Uint8Array(n);
    for (const i of existing) this.#exists[i] = 1;
    this.#isParent = new Uint8Array(n);
    this.#parentStart = new Int32Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) {
      this.#parentStart[i] = total;
      total += parentsOf[i]!.length;
    }
    this.#parentStart[n] = total;
    this.#parentList = new Int32Array(total);
    for (let i = 0; i < n; i++) {
      const ps = parentsOf[i]!;
      for (let j = 0; j < ps.length; j++) {
        this.#parentList[this.#parentStart[i]! + j] = ps[j]!;
        this.#isParent[ps[j]!] = 1;
      }
    }
    // Ancestor closure, iteratively (depth-first, post-order) so deep hierarchies do not overflow the stack.
    const closure: (Int32Array | undefined)[] = new Array(n);
    const state = new Uint8Array(n); // 0 new, 1 on the stack, 2 done
    for (let root = 0; root < n; root++) {
      if (root % STEP === STEP - 1) yield;
      if (state[root] === 2) continue;
      const stack: number[] = [root];
      while (stack.length > 0) {
        const v = stack[stack.length - 1]!;
        if (state[v] === 0) {
          state[v] = 1;
          for (let j = this.#parentStart[v]!; j < this.#parentStart[v + 1]!; j++) {
            const p = this.#parentList[j]!;
            if (state[p] === 1) throw new EntityError(`the entity hierarchy has a cycle through \`${this.#show(p)}\``);
            if (state[p] === 0) stack.push(p);
          }
          continue;
        }
        stack.pop();
        if (state[v] === 2) continue;
        const from = this.#parentStart[v]!;
        const to = this.#parentStart[v + 1]!;
        let c: Int32Array = NO_ANCESTORS;
        for (let j = from; j < to; j++) {
          const p = this.#parentList[j]!;
          c = mergeSorted(c, closure[p]!, p);
        }
        if (contains(c, v)) throw new EntityError(`the entity hierarchy has a cycle through \`${this.#show(v)}\``);
        closure[v] = c;
        state[v] = 2;
      }
    }
    this.#ancStart = new Int32Array(n + 1);
    let t = 0;
    for (let i = 0; i < n; i++) {
      this.#ancStart[i] = t;
      t += closure[i]!.length;
    }
    this.#ancStart[n] = t;
    this.#ancList = new Int32Array(t);
    for (let i = 0; i < n; i++) this.#ancList.set(closure[i]!, this.#ancStart[i]);
  }

  #show(idx: number): string {
    const k = this.#keys[idx]!;
    const z = k.indexOf('\u0000');
    return `${k.slice(0, z)}::${JSON.stringify(k.slice(z + 1))}`;
  }

  /** Entities numbered, including ancestors named only as parents. */
  get size(): number {
    return this.#keys.length;
  }

  indexOf(key: string): number | undefined {
    return this.#index.get(key);
  }

  keyOf(idx: number): string {
    return this.#keys[idx]!;
  }

  /** Whether the entity has data (it was in the JSON or the schema), not only named as a parent. */
  exists(idx: number): boolean {
    return this.#exists[idx] === 1;
  }

  /** Whether some entity names it as a parent. */
  isParent(idx: number): boolean {
    return this.#isParent[idx] === 1;
  }

  attrs(idx: number): CedarRecord | undefined {
    return this.#attrs[idx];
  }

  tags(idx: number): CedarRecord | undefined {
    return this.#tags.get(idx);
  }

  /** Whether `anc` is among the ancestors of `idx` (binary search in its sorted closure). */
  hasAncestor(idx: number, anc: number): boolean {
    let lo = this.#ancStart[idx]!;
    let hi = this.#ancStart[idx + 1]! - 1;
    const list = this.#ancList;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = list[mid]!;
      if (v === anc) return true;
      if (v < anc) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  ancestorIndexes(idx: number): Int32Array {
    return this.#ancList.subarray(this.#ancStart[idx], this.#ancStart[idx + 1]);
  }

  parentIndexes(idx: number): Int32Array {
    return this.#parentList.subarray(this.#parentStart[idx], this.#parentStart[idx + 1]);
  }

  /** Every entity key with data (for tests and tools). */
  *entityKeys(): Generator<string> {
    for (let i = 0; i < this.#keys.length; i++) if (this.#exists[i] === 1) yield this.#keys[i]!;
  }
}

const EMPTY = new CedarRecord([], []);
/** Entities per build step. */
const STEP = 4096;
const NO_ANCESTORS = new Int32Array(0);

function contains(sorted: Int32Array, x: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The sorted union of two sorted, duplicate-free arrays and one more element. */
function mergeSorted(a: Int32Array, b: Int32Array, extra: number): Int32Array {
  const out = new Int32Array(a.length + b.length + 1);
  let i = 0;
  let j = 0;
  let k = 0;
  let extraDone = false;
  const push = (v: number) => {
    if (k === 0 || out[k - 1] !== v) out[k++] = v;
  };
  while (i < a.length || j < b.length || !extraDone) {
    const x = i < a.length ? a[i]! : Infinity;
    const y = j < b.length ? b[j]! : Infinity;
    const z = extraDone ? Infinity : extra;
    if (x <= y && x <= z) {
      push(x);
      i++;
    } else if (y <= z) {
      push(y);
      j++;
    } else {
      push(z);
      extraDone = true;
    }
  }
  return k === out.length ? out : out.slice(0, k);
}

export type { EntityRef };
