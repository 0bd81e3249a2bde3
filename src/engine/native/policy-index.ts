import type { CompiledPolicy } from './compile-policy.js';
import type { EntityStore } from './entity-store.js';
import type { Schema } from './schema.js';
import type { EntityRef } from './values.js';

const CACHE_LIMIT = 4096;

/**
 * Which policies a request can match, by action, principal type and resource type, built at activation
 * for every combination the schema allows (and on first use for any other, e.g. without a schema).
 * Conservative by construction: a policy is left out only when its scope provably cannot match — its action
 * constraint names neither the request's action nor any of its groups (groups are full entity uids, from
 * the schema or from action entities in the store, transitively closed), or its scope fixes a principal or
 * resource type (`==`, `is`) other than the request's. The scope is still evaluated for every candidate.
 * Candidate lists keep policy-set order and are cached per (action, principal type, resource type), at
 * most CACHE_LIMIT of them (the cache is cleared when full, so odd requests cannot grow it).
 */
export class PolicyIndex {
  readonly #anyAction: CompiledPolicy[] = [];
  /** Action uid key -> policies whose action constraint names it (== or in). */
  readonly #byActionKey = new Map<string, CompiledPolicy[]>();
  /** action key -> principal type -> resource type -> candidates. */
  readonly #cache = new Map<string, Map<string, Map<string, readonly CompiledPolicy[]>>>();
  #cached = 0;

  constructor(
    readonly policies: readonly CompiledPolicy[],
    readonly store: EntityStore,
  ) {
    for (const p of policies) {
      const a = p.ast.action;
      if (a.op === 'any') this.#anyAction.push(p);
      else {
        const keys = new Set(a.op === '==' ? [a.entity.key] : a.entities.map((e) => e.key));
        for (const k of keys) {
          const list = this.#byActionKey.get(k) ?? [];
          list.push(p);
          this.#byActionKey.set(k, list);
        }
      }
    }
  }

  /** Builds the candidate lists of every (action, principal type, resource type) the schema allows. */
  prime(schema: Schema): void {
    let budget = CACHE_LIMIT / 2;
    for (const def of schema.actions.values()) {
      for (const p of def.principalTypes) {
        for (const r of def.resourceTypes) {
          if (budget-- <= 0) return;
          this.candidates(def.uid, p, r);
        }
      }
    }
  }

  /** Candidates for a request whose action's groups come from the store (no overlaid action entities). */
  candidates(action: EntityRef, principalType: string, resourceType: string): readonly CompiledPolicy[] {
    const byPrincipal = this.#cache.get(action.key);
    const byResource = byPrincipal?.get(principalType);
    const hit = byResource?.get(resourceType);
    if (hit !== undefined) return hit;
    const found = new Set<CompiledPolicy>(this.#anyAction);
    for (const p of this.#byActionKey.get(action.key) ?? []) found.add(p);
    const idx = this.store.indexOf(action.key);
    if (idx !== undefined && this.store.exists(idx)) {
      for (const g of this.store.ancestorIndexes(idx))
        for (const p of this.#byActionKey.get(this.store.keyOf(g)) ?? []) if (p.ast.action.op === 'in') found.add(p);
    }
    const list = [...found]
      .filter(
        (p) =>
          (p.principalType === null || p.principalType === principalType) &&
          (p.resourceType === null || p.resourceType === resourceType),
      )
      .sort((a, b) => a.order - b.order);
    if (this.#cached >= CACHE_LIMIT) {
      this.#cache.clear();
      this.#cached = 0;
    }
    let p = this.#cache.get(action.key);
    if (p === undefined) this.#cache.set(action.key, (p = new Map()));
    let r = p.get(principalType);
    if (r === undefined) p.set(principalType, (r = new Map()));
    r.set(resourceType, list);
    this.#cached++;
    return list;
  }
}
