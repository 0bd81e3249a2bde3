import type { EntityStore } from './entity-store.js';
import { checkEntityConforms, EntityError, type ParsedEntity, parseEntity, sameEntity } from './parse-entity.js';
import type { ValueParser } from './parse-value.js';
import { isActionType, type Schema } from './schema.js';
import type { CedarRecord, EntityRef } from './values.js';

/**
 * Entities that exist for one call only and replace store entities of the same uid (authzd's principal,
 * built from token claims). `touching` lists the store numbers of overlaid entities that some store
 * entity names as a parent: only then can an overlay change a store entity's ancestors, and only then is
 * the precomputed closure not enough.
 */
export interface Overlay {
  readonly entities: ReadonlyMap<string, ParsedEntity>;
  readonly touching: readonly number[];
  readonly hasActions: boolean;
  /**
   * No overlaid entity is an ancestor of anything (in the store or the overlay): an overlay entity's
   * ancestors are then its parents and their store closures, read without building a set (authzd's case).
   */
  readonly simple: boolean;
}

/** Parses and checks a call's overlay entities, as Cedar checks the entities of a call. Throws EntityError. */
export function prepareOverlay(
  json: readonly unknown[],
  schema: Schema | undefined,
  store: EntityStore,
  parser: ValueParser,
): Overlay | undefined {
  if (json.length === 0) return undefined;
  const entities = new Map<string, ParsedEntity>();
  for (let i = 0; i < json.length; i++) {
    const e = parseEntity(json[i], schema, parser, 'overlay entity');
    const prior = entities.get(e.ref.key);
    if (prior !== undefined && !sameEntity(prior, e))
      throw new EntityError(`duplicate entity entry \`${e.ref.toString()}\``);
    entities.set(e.ref.key, e);
  }
  const touching: number[] = [];
  let hasActions = false;
  for (const [key, e] of entities) {
    const action = isActionType(e.ref.type);
    if (schema !== undefined && !action) checkEntityConforms(e, schema);
    if (action) hasActions = true;
    const idx = store.indexOf(key);
    if (idx !== undefined && store.isParent(idx)) touching.push(idx);
  }
  // A cycle through an overlay entity needs an edge into it: from the store or from another overlay entity.
  let reachable = touching.length > 0;
  if (!reachable)
    for (const o of entities.values()) for (const p of o.parents) if (entities.has(p.key)) reachable = true;
  const overlay: Overlay = { entities, touching, hasActions, simple: !reachable };
  if (!reachable && !hasActions) return overlay;
  const view = new EntityView(store, overlay);
  for (const e of entities.values()) {
    if (reachable && view.ancestorKeys(e.ref.key, e.parents).has(e.ref.key))
      throw new EntityError(`the entity hierarchy has a cycle through \`${e.ref.toString()}\``);
    if (schema !== undefined && isActionType(e.ref.type)) {
      const def = schema.actions.get(e.ref.key);
      const anc = view.ancestorKeys(e.ref.key, e.parents);
      const same =
        def !== undefined &&
        e.attrs.size === 0 &&
        e.tags === undefined &&
        anc.size === def.ancestors.size &&
        [...anc].every((k) => def.ancestors.has(k));
      if (!same)
        throw new EntityError(`definition of action \`${e.ref.toString()}\` does not match its schema declaration`);
    }
  }
  return overlay;
}

/** What an evaluation reads: the store, with a call's overlay on top. */
export class EntityView {
  #overlayAncestors: Map<string, Set<string>> | undefined;

  constructor(
    readonly store: EntityStore,
    readonly overlay: Overlay | undefined,
  ) {}

  /** The reference's number in the store (-1 when absent), remembered on the reference itself. */
  idx(ref: EntityRef): number {
    if (ref.lookedUpIn === this.store) return ref.lookedUpIdx;
    const idx = this.store.indexOf(ref.key) ?? -1;
    ref.lookedUpIn = this.store;
    ref.lookedUpIdx = idx;
    return idx;
  }

  /** The entity's attributes, or undefined when no such entity exists. */
  attrsOf(ref: EntityRef): CedarRecord | undefined {
    if (this.overlay !== undefined) {
      const o = this.overlay.entities.get(ref.key);
      if (o !== undefined) return o.attrs;
    }
    const idx = this.idx(ref);
    return idx < 0 ? undefined : this.store.attrs(idx);
  }

  /** The entity's tags: undefined when no such entity exists, null when it has none. */
  tagsOf(ref: EntityRef): CedarRecord | null | undefined {
    const o = this.overlay?.entities.get(ref.key);
    if (o !== undefined) return o.tags ?? null;
    const idx = this.idx(ref);
    if (idx < 0 || !this.store.exists(idx)) return undefined;
    return this.store.tags(idx) ?? null;
  }

  /**
   * Cedar's `in` for one target: equal, or the target is among the entity's ancestors. `targetIdx` is the
   * target's store number when the caller already knows it (policy literals), -1 when not in the store.
   */
  isIn(ref: EntityRef, target: EntityRef, targetIdx?: number): boolean {
    if (ref.key === target.key) return true;
    const ov = this.overlay;
    const store = this.store;
    if (ov !== undefined) {
      const o = ov.entities.get(ref.key);
      if (o !== undefined) {
        if (!ov.simple) return this.#ancestorsOfOverlay(o).has(target.key);
        const t = targetIdx ?? this.idx(target);
        for (const p of o.parents) {
          if (p.key === target.key) return true;
          if (t < 0) continue;
          const pi = this.idx(p);
          if (pi >= 0 && store.hasAncestor(pi, t)) return true;
        }
        return false;
      }
    }
    const idx = this.idx(ref);
    if (idx < 0 || !store.exists(idx)) return false;
    if (ov !== undefined && ov.touching.length > 0 && this.#touches(idx))
      return this.ancestorKeys(ref.key, []).has(target.key);
    const t = targetIdx ?? this.idx(target);
    return t >= 0 && store.hasAncestor(idx, t);
  }

  #touches(idx: number): boolean {
    for (const t of this.overlay!.touching) if (this.store.hasAncestor(idx, t)) return true;
    return false;
  }

  #ancestorsOfOverlay(o: ParsedEntity): Set<string> {
    const memo = (this.#overlayAncestors ??= new Map());
    let set = memo.get(o.ref.key);
    if (set === undefined) {
      set = this.ancestorKeys(o.ref.key, o.parents);
      memo.set(o.ref.key, set);
    }
    return set;
  }

  /**
   * The ancestors of an entity with the overlay applied, walking parents (the overlay's where an entity is
   * overlaid, the store's otherwise) and taking a store entity's precomputed closure whole when no
   * overlaid entity lies inside it. `parents` are the starting entity's own when it is overlaid; for a
   * store entity pass [] and they are read from the store.
   */
  ancestorKeys(key: string, parents: readonly EntityRef[]): Set<string> {
    const out = new Set<string>();
    const store = this.store;
    const ov = this.overlay;
    const stack: string[] = [];
    if (ov?.entities.has(key) === true || parents.length > 0) for (const p of parents) stack.push(p.key);
    else {
      const idx = store.indexOf(key);
      if (idx !== undefined) for (const p of store.parentIndexes(idx)) stack.push(store.keyOf(p));
    }
    while (stack.length > 0) {
      const k = stack.pop()!;
      if (out.has(k)) continue;
      out.add(k);
      const o = ov?.entities.get(k);
      if (o !== undefined) {
        for (const p of o.parents) stack.push(p.key);
        continue;
      }
      const idx = store.indexOf(k);
      if (idx === undefined || !store.exists(idx)) continue;
      if (ov === undefined || ov.touching.length === 0 || !this.#touches(idx)) {
        for (const a of store.ancestorIndexes(idx)) out.add(store.keyOf(a));
      } else for (const p of store.parentIndexes(idx)) stack.push(store.keyOf(p));
    }
    return out;
  }
}
