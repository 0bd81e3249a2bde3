import type { EntityStore } from './entity-store.js';
import { EntityError, type ParsedEntity, checkEntityConforms, parseEntity, sameEntity } from './parse-entity.js';
import type { ValueParser } from './parse-value.js';
import { type Schema, isActionType } from './schema.js';
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
}

/** Parses and checks a call's overlay entities, as Cedar checks the entities of a call. Throws EntityError. */
export function prepareOverlay(json: readonly unknown[], schema: Schema | undefined, store: EntityStore, parser: ValueParser): Overlay | undefined {
  if (json.length === 0) return undefined;
  const entities = new Map<string, ParsedEntity>();
  json.forEach((raw, i) => {
    const e = parseEntity(raw, schema, parser, `overlay[${i}]`);
    const prior = entities.get(e.ref.key);
    if (prior !== undefined && !sameEntity(prior, e)) throw new EntityError(`duplicate entity entry \`${e.ref.toString()}\``);
    entities.set(e.ref.key, e);
  });
  const touching: number[] = [];
  let hasActions = false;
  for (const [key, e] of entities) {
    if (schema !== undefined && !isActionType(e.ref.type)) checkEntityConforms(e, schema, `entity \`${e.ref.toString()}\``);
    if (isActionType(e.ref.type)) hasActions = true;
    const idx = store.indexOf(key);
    if (idx !== undefined && store.isParent(idx)) touching.push(idx);
  }
  const overlay: Overlay = { entities, touching, hasActions };
  const view = new EntityView(store, overlay);
  // A cycle through an overlay entity needs an edge into it: from the store or from another overlay entity.
  const reachable = touching.length > 0 || [...entities.values()].some((o) => o.parents.some((p) => entities.has(p.key)));
  for (const e of entities.values()) {
    if (reachable && view.ancestorKeys(e.ref.key, e.parents).has(e.ref.key)) throw new EntityError(`the entity hierarchy has a cycle through \`${e.ref.toString()}\``);
    if (schema !== undefined && isActionType(e.ref.type)) {
      const def = schema.actions.get(e.ref.key);
      const anc = view.ancestorKeys(e.ref.key, e.parents);
      const same = def !== undefined && e.attrs.size === 0 && e.tags === undefined && anc.size === def.ancestors.size && [...anc].every((k) => def.ancestors.has(k));
      if (!same) throw new EntityError(`definition of action \`${e.ref.toString()}\` does not match its schema declaration`);
    }
  }
  return overlay;
}

/** What an evaluation reads: the store, with a call's overlay on top. */
export class EntityView {
  readonly #overlayAncestors = new Map<string, Set<string>>();

  constructor(
    readonly store: EntityStore,
    readonly overlay: Overlay | undefined,
  ) {}

  /** The entity's attributes, or undefined when no such entity exists. */
  attrsOf(ref: EntityRef): CedarRecord | undefined {
    const o = this.overlay?.entities.get(ref.key);
    if (o !== undefined) return o.attrs;
    const idx = this.store.indexOf(ref.key);
    return idx === undefined ? undefined : this.store.attrs(idx);
  }

  /** The entity's tags: undefined when no such entity exists, null when it has none. */
  tagsOf(ref: EntityRef): CedarRecord | null | undefined {
    const o = this.overlay?.entities.get(ref.key);
    if (o !== undefined) return o.tags ?? null;
    const idx = this.store.indexOf(ref.key);
    if (idx === undefined || !this.store.exists(idx)) return undefined;
    return this.store.tags(idx) ?? null;
  }

  /**
   * Cedar's `in` for one target: equal, or the target is among the entity's ancestors. `targetIdx` is the
   * target's store number when the caller already knows it (policy literals), -1 when not in the store.
   */
  isIn(ref: EntityRef, target: EntityRef, targetIdx?: number): boolean {
    if (ref.key === target.key) return true;
    const ov = this.overlay;
    if (ov !== undefined) {
      const o = ov.entities.get(ref.key);
      if (o !== undefined) return this.#ancestorsOfOverlay(o).has(target.key);
    }
    const store = this.store;
    const idx = store.indexOf(ref.key);
    if (idx === undefined || !store.exists(idx)) return false;
    if (ov !== undefined && ov.touching.length > 0 && this.#touches(idx)) return this.ancestorKeys(ref.key, []).has(target.key);
    const t = targetIdx ?? store.indexOf(target.key) ?? -1;
    return t >= 0 && store.hasAncestor(idx, t);
  }

  #touches(idx: number): boolean {
    for (const t of this.overlay!.touching) if (this.store.hasAncestor(idx, t)) return true;
    return false;
  }

  #ancestorsOfOverlay(o: ParsedEntity): Set<string> {
    let set = this.#overlayAncestors.get(o.ref.key);
    if (set === undefined) {
      set = this.ancestorKeys(o.ref.key, o.parents);
      this.#overlayAncestors.set(o.ref.key, set);
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
