import { LRUCache } from 'lru-cache';

import type { CedarValueJson } from '../cedar/cedar.js';
import type { EntityUid } from '../contract/cedar-call.js';

/** Normalised entity: plain {type,id} uids, attributes kept exactly as written in entities.json. */
export interface StoredEntity {
  readonly uid: EntityUid;
  readonly attrs: Readonly<Record<string, CedarValueJson>>;
  readonly parents: readonly EntityUid[];
  /** Entity tags (Cedar 4), read by `getTag`/`hasTag`. */
  readonly tags?: Readonly<Record<string, CedarValueJson>>;
}

export class EntityStoreError extends Error {}

export const entityKey = (uid: EntityUid): string => `${uid.type}::${JSON.stringify(uid.id)}`;

// Type names cannot contain a quote, so the key's first `::"` ends the type.
const typeOfKey = (key: string): string => key.slice(0, key.indexOf('::"'));

/** An entity (as JSON text) with its key and the keys of its known ancestors: how a store crosses threads. */
export type IndexedEntity = readonly [key: string, json: string, ancestors: readonly string[]];

const RESTORE = Symbol('restore');

/**
 * The entities of a policy set (entities.json), indexed for slicing: cedar-wasm re-parses every entity it
 * is given (~20 µs each), so a request gets only the entities it can reach (reachable-entities.ts), never
 * the whole store. Ancestor closures are computed once here.
 */
export class EntityStore {
  /**
   * Objects while a store is built and checked; JSON text in a store restored on the serving thread, where
   * 100,000 entities as text take about a third of the memory of the same entities as objects. Text is
   * parsed when a request needs the entity, through a small cache of the most recently used ones.
   */
  readonly #entities = new Map<string, StoredEntity | string>();
  readonly #ancestors = new Map<string, readonly string[]>();
  readonly #parsed = new LRUCache<string, StoredEntity>({ max: 4096 });
  readonly #types = new Set<string>();

  constructor(raw: unknown, options: { readonly dropTypes?: ReadonlySet<string> } = {}) {
    if (raw === RESTORE) return;
    if (!Array.isArray(raw)) throw new EntityStoreError('entities.json must be a JSON array of entities');
    raw.forEach((value, index) => {
      const entity = parseEntity(value, index);
      if (options.dropTypes?.has(entity.uid.type)) return;
      const key = entityKey(entity.uid);
      if (this.#entities.has(key)) throw new EntityStoreError(`entities.json[${index}]: duplicate entity ${key}`);
      this.#entities.set(key, entity);
      this.#types.add(entity.uid.type);
    });
    for (const key of this.#entities.keys()) this.#closure(key, []);
  }

  /**
   * A store rebuilt from indexed entries (as exportEntries yields them) without recomputing closures: how
   * a store compiled on another thread arrives, a chunk at a time.
   */
  static restoring(): { add(entries: Iterable<IndexedEntity>): void; done(): EntityStore } {
    const store = new EntityStore(RESTORE);
    return {
      add(entries) {
        for (const [key, json, ancestors] of entries) {
          store.#entities.set(key, json);
          store.#types.add(typeOfKey(key));
          if (ancestors.length > 0) store.#ancestors.set(key, ancestors);
        }
      },
      done: () => store,
    };
  }

  *exportEntries(): Generator<IndexedEntity> {
    for (const [key, entity] of this.#entities)
      yield [key, typeof entity === 'string' ? entity : JSON.stringify(entity), this.#ancestors.get(key) ?? []];
  }

  get size(): number {
    return this.#entities.size;
  }

  /** Whether the store holds any entity of `type`. */
  holdsType(type: string): boolean {
    return this.#types.has(type);
  }

  get(uid: EntityUid): StoredEntity | undefined {
    return this.#read(entityKey(uid));
  }

  /** Keys of every ancestor of `uid` that the store knows, transitively. */
  ancestorKeys(uid: EntityUid): readonly string[] {
    return this.#ancestors.get(entityKey(uid)) ?? [];
  }

  /** `uid`'s parents, transitively closed (including ancestors the store lacks). */
  ancestorUids(uid: EntityUid): EntityUid[] {
    const out: EntityUid[] = [];
    const seen = new Set<string>();
    const visit = (u: EntityUid) => {
      for (const parent of this.#read(entityKey(u))?.parents ?? []) {
        const k = entityKey(parent);
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(parent);
        visit(parent);
      }
    };
    visit(uid);
    return out;
  }

  /** The stored entity with key `key` (see entityKey). */
  getByKey(key: string): StoredEntity | undefined {
    return this.#read(key);
  }

  /** Keys of every ancestor the store knows of the entity with key `key`, transitively. */
  ancestorKeysOf(key: string): readonly string[] {
    return this.#ancestors.get(key) ?? [];
  }

  *entities(): Generator<StoredEntity> {
    for (const key of this.#entities.keys()) yield this.#read(key)!;
  }

  #read(key: string): StoredEntity | undefined {
    const value = this.#entities.get(key);
    if (value === undefined || typeof value !== 'string') return value;
    let parsed = this.#parsed.get(key);
    if (parsed === undefined) {
      parsed = JSON.parse(value) as StoredEntity;
      this.#parsed.set(key, parsed);
    }
    return parsed;
  }

  #closure(key: string, path: string[]): readonly string[] {
    const done = this.#ancestors.get(key);
    if (done !== undefined) return done;
    if (path.includes(key))
      throw new EntityStoreError(`entities.json: cycle in the hierarchy: ${[...path, key].join(' -> ')}`);
    const entity = this.#read(key);
    if (entity === undefined) return [];
    const out = new Set<string>();
    for (const parent of entity.parents) {
      const pk = entityKey(parent);
      if (!this.#entities.has(pk)) continue;
      out.add(pk);
      for (const a of this.#closure(pk, [...path, key])) out.add(a);
    }
    const list = [...out];
    this.#ancestors.set(key, list);
    return list;
  }
}

function parseUid(value: unknown, where: string): EntityUid {
  const v = (value as { __entity?: unknown })?.__entity ?? value;
  const { type, id } = (v ?? {}) as { type?: unknown; id?: unknown };
  if (typeof type !== 'string' || typeof id !== 'string' || type.length === 0) {
    throw new EntityStoreError(`${where}: expected {"type": string, "id": string}`);
  }
  return { type, id };
}

function parseEntity(value: unknown, index: number): StoredEntity {
  const where = `entities.json[${index}]`;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new EntityStoreError(`${where}: expected an object`);
  const { uid, attrs = {}, parents = [], tags } = value as Record<string, unknown>;
  if (tags !== undefined && (typeof tags !== 'object' || tags === null || Array.isArray(tags)))
    throw new EntityStoreError(`${where}.tags: expected an object`);
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs))
    throw new EntityStoreError(`${where}.attrs: expected an object`);
  if (!Array.isArray(parents)) throw new EntityStoreError(`${where}.parents: expected an array`);
  return {
    uid: parseUid(uid, `${where}.uid`),
    attrs: attrs as Record<string, CedarValueJson>,
    parents: parents.map((p, i) => parseUid(p, `${where}.parents[${i}]`)),
    ...(tags !== undefined ? { tags: tags as Record<string, CedarValueJson> } : {}),
  };
}
