// Merging generated routes into routes.yaml without losing what people wrote (docs/openapi.md, "Merging").
// The state file says which entries the last import generated and what they looked like then:
//   - generated and untouched (same fingerprint): the import updates or removes it with the document;
//   - generated, then edited by hand: it stays as it is, and a change the document wants is reported;
//   - generated, then deleted by hand: it is not brought back;
//   - written by hand: never touched. An operation a hand-written route already serves is not added.
// routes.yaml is edited as text, entry by entry, so that every byte outside the entries the import owns
// (comments, blank lines, quoting, flow style) stays as it was.
import { Document, isMap, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';

import { RoutesFileSchema, type RouteSpec } from '../policy/routes-schema.js';
import type { KeptEntry, RoutesDiff } from './import-report.js';
import { fingerprint, type ImportState, type RouteRecord } from './import-state.js';
import type { GeneratedRoute, OperationNote } from './map-operations.js';
import { OpenApiImportError } from './openapi-import-error.js';
import {
  insertionIndex,
  methodSet,
  type OrderedRoute,
  orderRoutes,
  routeSegments,
  shadowedPairs,
} from './order-routes.js';
import { uniqueRouteId } from './route-id.js';

export interface FinalRoute {
  readonly spec: RouteSpec;
  /** The operation the entry came from; undefined for routes written by hand. */
  readonly key: string | undefined;
}

export interface RoutesMerge {
  readonly text: string;
  readonly routes: readonly FinalRoute[];
  readonly diff: RoutesDiff;
  /** Operations not added because a hand-written route already serves them. */
  readonly routedByHand: readonly OperationNote[];
  readonly state: ImportState['routes'];
  readonly warnings: readonly string[];
}

export interface NewRoutesFile {
  readonly namespace: string | undefined;
  readonly documentTitle: string;
}

const RouteSchema = RoutesFileSchema.shape.routes.element;

interface Entry {
  /** The entry's value as routes.yaml holds it now (normalised when it is a valid route). */
  spec: RouteSpec;
  raw: unknown;
  /** Position in the existing sequence; undefined for entries this import adds. */
  index: number | undefined;
  key: string | undefined;
  replaced: boolean;
}

export function mergeRoutesFile(
  existing: string | undefined,
  generated: readonly GeneratedRoute[],
  previous: ImportState['routes'],
  creating: NewRoutesFile,
): RoutesMerge {
  const doc = existing === undefined ? newRoutesDocument(creating) : parseRoutesDocument(existing);
  const seq = doc.get('routes', true) as YAMLSeq<YAMLMap>;
  const entries: Entry[] = seq.items.map((node, index) => {
    const raw = node.toJSON() as unknown;
    const parsed = RouteSchema.safeParse(raw);
    return { spec: parsed.success ? parsed.data : (raw as RouteSpec), raw, index, key: undefined, replaced: false };
  });
  const indexById = new Map<string, number>();
  entries.forEach((e, i) => {
    if (typeof e.spec?.id === 'string' && !indexById.has(e.spec.id)) indexById.set(e.spec.id, i);
  });
  const byKey = new Map(generated.map((g) => [g.key, g]));
  const state: Record<string, RouteRecord> = {};
  const kept: KeptEntry[] = [];
  const changed: { before: RouteSpec; after: RouteSpec }[] = [];
  const removedIndexes = new Set<number>();
  const removed: RouteSpec[] = [];
  const taken = new Set(indexById.keys());
  let unchanged = 0;

  // Entries the last import generated.
  for (const [key, record] of Object.entries(previous)) {
    const wanted = byKey.get(key);
    const index = record.deletedByHand ? undefined : indexById.get(record.id);
    if (index === undefined || entries[index]!.key !== undefined) {
      if (wanted !== undefined) {
        state[key] = { ...record, deletedByHand: true };
        kept.push({
          name: record.id,
          reason: `deleted from routes.yaml by hand; ${key} is not added again`,
          conflict: false,
        });
      }
      continue;
    }
    const entry = entries[index]!;
    entry.key = key;
    const untouched = fingerprint(entry.spec) === record.fingerprint;
    if (untouched && wanted === undefined) {
      removedIndexes.add(index);
      removed.push(entry.spec);
      // Free for a new route: an operation whose path changed comes back under its old id.
      taken.delete(record.id);
      continue;
    }
    if (untouched) {
      taken.delete(record.id);
      const id =
        wanted!.explicitId || !isVariantOf(record.id, wanted!.spec.id)
          ? uniqueRouteId(wanted!.spec.id, taken)
          : record.id;
      taken.add(id);
      const spec = { ...wanted!.spec, id };
      if (fingerprint(spec) !== record.fingerprint) {
        changed.push({ before: entry.spec, after: spec });
        entry.spec = spec;
        entry.replaced = true;
      } else {
        unchanged++;
      }
      state[key] = { id, fingerprint: fingerprint(spec) };
      continue;
    }
    if (wanted === undefined) {
      entry.key = undefined;
      kept.push({
        name: record.id,
        reason: `${key} is gone from the document, but the entry was edited by hand: kept, and from now on it is a hand-written route`,
        conflict: true,
      });
      continue;
    }
    const now = { ...wanted.spec, id: record.id };
    const documentChanged = fingerprint(now) !== record.fingerprint;
    kept.push({
      name: record.id,
      reason: documentChanged
        ? `edited by hand; kept, although the document changed it: it would now be ${describeChange(entry.spec, now)}`
        : 'edited by hand; kept',
      conflict: documentChanged,
    });
    state[key] = { id: record.id, fingerprint: fingerprint(now) };
  }

  // Operations new to routes.yaml.
  const handWritten = entries.filter((e) => e.key === undefined);
  const routedByHand: OperationNote[] = [];
  const fresh: (Entry & OrderedRoute)[] = [];
  for (const route of generated) {
    if (previous[route.key] !== undefined) continue;
    const hand = handWritten.find((e) => servesSame(e.spec, route));
    if (hand !== undefined) {
      const [method, ...path] = route.key.split(' ');
      routedByHand.push({
        method: method!,
        path: path.join(' '),
        reason: `served by the hand-written route ${hand.spec.id}`,
      });
      continue;
    }
    const id = uniqueRouteId(route.spec.id, taken);
    taken.add(id);
    const spec = { ...route.spec, id };
    state[route.key] = { id, fingerprint: fingerprint(spec) };
    fresh.push({
      spec,
      raw: spec,
      index: undefined,
      key: route.key,
      replaced: false,
      segments: route.segments,
      methods: methodSet(spec.method),
    });
  }

  // The new order: existing entries where they were, new ones each before the first route that would take
  // its requests (see order-routes.ts).
  const order: (Entry & OrderedRoute)[] = entries
    .filter((e) => !removedIndexes.has(e.index!))
    .map((e) => ({
      ...e,
      segments: routeSegments(typeof e.spec?.path === 'string' ? e.spec.path : '/'),
      methods: methodSet(e.spec?.method ?? '*'),
    }));
  for (const entry of orderRoutes(fresh)) order.splice(insertionIndex(order, entry), 0, entry);

  const warnings = shadowedPairs(order)
    .filter(([i, j]) => order[i]!.key !== undefined || order[j]!.key !== undefined)
    .map(
      ([i, j]) =>
        `route ${order[j]!.spec.id} comes after ${order[i]!.spec.id}, which takes some of its requests (routes match in file order); move it up`,
    );

  const text = existing === undefined ? renderNew(doc, order) : renderEdits(existing, doc, seq, order, removedIndexes);
  checkResult(text, order);
  return {
    text,
    routes: order.map((e) => ({ spec: e.spec, key: e.key })),
    diff: { added: fresh.map((e) => e.spec), changed, removed, kept, unchanged },
    routedByHand,
    state,
    warnings,
  };
}

function parseRoutesDocument(text: string): Document {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new OpenApiImportError(
      'policy_dir_invalid',
      `routes.yaml is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`,
    );
  if (!isMap(doc.contents))
    throw new OpenApiImportError('policy_dir_invalid', 'routes.yaml is not a mapping (docs/policy-model.md)');
  const routes = doc.get('routes', true);
  if (routes === undefined) doc.set('routes', doc.createNode([]));
  else if (!isSeq(routes) || !routes.items.every((item) => isMap(item))) {
    throw new OpenApiImportError(
      'policy_dir_invalid',
      'routes.yaml: routes is not a list of routes (docs/policy-model.md)',
    );
  }
  return doc;
}

function newRoutesDocument(creating: NewRoutesFile): Document {
  const doc = new Document({
    ...(creating.namespace !== undefined ? { namespace: creating.namespace } : {}),
    principal: { type: 'User', idClaim: 'sub' },
    routes: [],
  });
  doc.commentBefore = [
    ' How requests become Cedar requests: docs/policy-model.md.',
    ` The routes below were generated by \`authzd routes import\` for the OpenAPI document "${creating.documentTitle}"; edit them`,
    ' freely: the next import keeps entries edited by hand (docs/openapi.md).',
  ].join('\n');
  return doc;
}

/** Whether a hand-written entry already serves the operation: same path shape, its method included. */
function servesSame(spec: RouteSpec, route: GeneratedRoute): boolean {
  if (typeof spec?.path !== 'string') return false;
  const methods = methodSet(spec.method ?? []);
  if (methods !== '*' && !methods.has(route.spec.method as string)) return false;
  const segments = routeSegments(spec.path);
  return (
    segments.length === route.segments.length &&
    segments.every((s, i) => {
      const other = route.segments[i]!;
      return 'literal' in s ? 'literal' in other && other.literal === s.literal : 'param' in other;
    })
  );
}

/** `get-pet-2` is a variant of `get-pet`: the numbering uniqueRouteId adds is not a change of id. */
function isVariantOf(id: string, base: string): boolean {
  return id === base || new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d+$`).test(id);
}

/** The fields where what the document now wants differs from the entry as it is. */
function describeChange(current: RouteSpec, wanted: RouteSpec): string {
  const out: string[] = [];
  for (const key of ['method', 'path', 'action', 'resource', 'risk', 'allowWorkloads'] as const) {
    if (JSON.stringify(current?.[key]) !== JSON.stringify(wanted[key]))
      out.push(`${key} ${JSON.stringify(wanted[key])}`);
  }
  return out.length > 0 ? out.join(', ') : 'as it is';
}

/** An entry as routes.yaml writes one: the keys in the documented order, defaults the example writes. */
export function routeEntryValue(spec: RouteSpec): Record<string, unknown> {
  return {
    id: spec.id,
    method: spec.method,
    path: spec.path,
    action: spec.action,
    resource: { type: spec.resource.type, id: spec.resource.id },
    risk: spec.risk,
    ...(spec.allowWorkloads ? { allowWorkloads: true } : {}),
  };
}

function entryNode(doc: Document, spec: RouteSpec): YAMLMap {
  const node = doc.createNode(routeEntryValue(spec)) as YAMLMap;
  (node.get('resource', true) as unknown as YAMLMap).flow = true;
  const method = node.get('method', true);
  if (isSeq(method)) method.flow = true;
  return node;
}

function renderNew(doc: Document, order: readonly Entry[]): string {
  const seq = doc.get('routes', true) as YAMLSeq;
  seq.items = order.map((e) => entryNode(doc, e.spec));
  return doc.toString({ lineWidth: 0 });
}

// Text edits on the original file: only the entries the import adds, changes or removes are written.
function renderEdits(
  text: string,
  doc: Document,
  seq: YAMLSeq<YAMLMap>,
  order: readonly (Entry & OrderedRoute)[],
  removed: ReadonlySet<number>,
): string {
  const items = seq.items;
  if (seq.flow || items.length === 0 || items.some((item) => item.range == null)) {
    // `routes: []` or a flow sequence: nothing to keep in place; the YAML library writes the whole list.
    seq.items = order.map((e) => (e.index !== undefined && !e.replaced ? items[e.index]! : entryNode(doc, e.spec)));
    seq.flow = false;
    return doc.toString({ lineWidth: 0 });
  }
  const lineStart = (offset: number) => text.lastIndexOf('\n', offset - 1) + 1;
  const start = items.map((item) => lineStart(item.range![0]));
  const end = items.map((item) => item.range![2]);
  const indent = text.slice(start[0], items[0]!.range![0]).replace(/-\s*$/, '');
  // An entry's range ends after its line break, so a blank line between entries is a line break in the gap.
  const spaced = items.slice(1).some((_, i) => text.slice(end[i], start[i + 1]).includes('\n'));
  const gapStart = (i: number) => (i === 0 ? start[0]! : end[i - 1]!);
  // A new entry is written from scratch; a changed one is its own node with the changed fields set, so
  // comments on the fields the document did not change stay.
  const render = (node: YAMLMap) => {
    const one = new Document([]);
    (one.contents as YAMLSeq).items.push(node);
    return one
      .toString({ lineWidth: 0 })
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => `${indent}${line}\n`)
      .join('');
  };
  const updated = (node: YAMLMap, spec: RouteSpec) => {
    const value = routeEntryValue(spec);
    const fresh = entryNode(doc, spec);
    for (const key of Object.keys(value)) {
      if (JSON.stringify(node.get(key, true)?.toJSON()) !== JSON.stringify(value[key]))
        node.set(key, fresh.get(key, true));
    }
    for (const pair of [...node.items]) {
      const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
      if (!(key in value)) node.delete(key);
    }
    return node;
  };

  const edits: { from: number; to: number; text: string }[] = [];
  items.forEach((_, i) => {
    if (removed.has(i)) edits.push({ from: i === 0 ? start[0]! : gapStart(i), to: end[i]!, text: '' });
  });
  // Each kept entry, in the new order, with the new entries before it; what is left goes after the last.
  let pending: string[] = [];
  for (const entry of order) {
    if (entry.index === undefined) {
      pending.push(render(entryNode(doc, entry.spec)));
      continue;
    }
    const i = entry.index;
    if (pending.length > 0) {
      const at = gapStart(i);
      const sep = spaced ? '\n' : '';
      edits.push({
        from: at,
        to: at,
        text: i === 0 ? pending.map((p) => `${p}${sep}`).join('') : pending.map((p) => `${sep}${p}`).join(''),
      });
      pending = [];
    }
    if (entry.replaced) edits.push({ from: start[i]!, to: end[i]!, text: render(updated(items[i]!, entry.spec)) });
  }
  if (pending.length > 0) {
    const at = end[items.length - 1]!;
    const newline = text[at - 1] === '\n' ? '' : '\n';
    const sep = spaced ? '\n' : '';
    edits.push({ from: at, to: at, text: newline + pending.map((p) => `${sep}${p}`).join('') });
  }
  let out = text;
  // From the end backwards, so offsets into the original stay valid; at one offset the removal or
  // replacement first, then the insertion (which would otherwise be removed with it).
  const removes = (e: { from: number; to: number }) => (e.to > e.from ? 1 : 0);
  for (const edit of edits.sort((a, b) => b.from - a.from || removes(b) - removes(a)))
    out = out.slice(0, edit.from) + edit.text + out.slice(edit.to);
  return out;
}

// The text edits must give exactly the intended list; anything else is a bug, and nothing is written.
function checkResult(text: string, order: readonly Entry[]): void {
  const reread = parseDocument(text, { uniqueKeys: true });
  const routes = reread.errors.length === 0 ? ((reread.toJS() as { routes?: unknown[] })?.routes ?? []) : undefined;
  const expected = order.map((e) => (e.index !== undefined && !e.replaced ? e.raw : routeEntryValue(e.spec)));
  if (routes === undefined || fingerprint(routes) !== fingerprint(expected)) {
    throw new Error('internal error: editing routes.yaml did not produce the intended routes; nothing was written');
  }
}
