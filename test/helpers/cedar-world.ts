/**
 * Generated Cedar "worlds" for the differential fuzzer (native engine vs cedar-wasm): a schema with several
 * namespaces (action groups across namespaces, entity-typed attributes, records, sets of entities, tags,
 * optional attributes, an enumerated type, common types), an entity store valid for it, policies over every
 * operator and extension function (including calls that error and arithmetic that overflows), and
 * requests (valid and not, with and without an overlay principal). Deterministic from a seed, so a
 * failing case is reproduced by its seed.
 */

export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  /** mulberry32 */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.next() * a.length)]!;
  }
  some<T>(a: readonly T[], max: number): T[] {
    const n = this.int(0, Math.min(max, a.length));
    const copy = [...a];
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(copy.splice(this.int(0, copy.length - 1), 1)[0]!);
    return out;
  }
}

export type Ty =
  | { t: 'Long' }
  | { t: 'String' }
  | { t: 'Bool' }
  | { t: 'Set'; elem: Ty }
  | { t: 'Record'; attrs: { name: string; ty: Ty; required: boolean }[] }
  | { t: 'Entity'; name: string }
  | { t: 'Ext'; name: 'ipaddr' | 'decimal' | 'datetime' | 'duration' };

interface EntityTypeSpec {
  name: string; // fully qualified
  ns: string;
  base: string;
  attrs: { name: string; ty: Ty; required: boolean }[];
  memberOf: string[];
  tags: Ty | undefined;
  enumIds: string[] | undefined;
}

interface ActionSpec {
  type: string; // NS::Action
  ns: string;
  id: string;
  memberOf: { type: string; id: string }[];
  principalTypes: string[];
  resourceTypes: string[];
  context: { name: string; ty: Ty; required: boolean }[];
  isGroup: boolean;
}

export interface EntityJson {
  uid: { type: string; id: string };
  attrs: Record<string, unknown>;
  parents: { type: string; id: string }[];
  tags?: Record<string, unknown>;
}

export interface WorldRequest {
  principal: { type: string; id: string };
  action: { type: string; id: string };
  resource: { type: string; id: string };
  context: Record<string, unknown>;
  validateRequest: boolean;
  overlay: EntityJson[];
}

export interface World {
  seed: number;
  schema: Record<string, unknown> | undefined;
  entities: EntityJson[];
  policies: string[];
  requests: WorldRequest[];
}

const NAMESPACES = ['', 'Ns1', 'Ns2::Sub'];
const BASES = [
  ['U0', 'U1', 'U2'],
  ['V0', 'V1', 'V2'],
  ['W0', 'W1', 'W2'],
];
const ACTION_IDS = [
  ['view', 'edit', 'groupA'],
  ['read', 'write', 'groupB'],
  ['list', 'delete', 'groupC'],
];
const ATTR_NAMES = ['a', 'b', 'owner', 'level', 'tags', 'ip', 'score', 'when', 'in x', 'ünï'];
const IDS = ['a', 'b', 'c', 'd', '', 'x"y', 'ü'];
const qualify = (ns: string, n: string) => (ns === '' ? n : `${ns}::${n}`);

export function generateWorld(seed: number, opts: { policies?: number; requests?: number } = {}): World {
  const r = new Rng(seed);
  const useSchema = r.chance(0.85);
  const nsCount = r.int(2, 3);
  const nss = NAMESPACES.slice(0, nsCount);
  const types: EntityTypeSpec[] = [];
  nss.forEach((ns, i) => {
    const count = r.int(2, 3);
    for (let k = 0; k < count; k++)
      types.push({
        name: qualify(ns, BASES[i]![k]!),
        ns,
        base: BASES[i]![k]!,
        attrs: [],
        memberOf: [],
        tags: undefined,
        enumIds: undefined,
      });
  });
  // One enumerated type, sometimes.
  if (r.chance(0.5)) {
    const ns = r.pick(nss);
    types.push({
      name: qualify(ns, 'Color'),
      ns,
      base: 'Color',
      attrs: [],
      memberOf: [],
      tags: undefined,
      enumIds: ['red', 'green'],
    });
  }
  const plain = types.filter((t) => t.enumIds === undefined);
  const genTy = (depth: number): Ty => {
    const k = r.int(0, depth > 0 ? 11 : 8);
    switch (k) {
      case 0:
      case 1:
        return { t: 'Long' };
      case 2:
        return { t: 'String' };
      case 3:
        return { t: 'Bool' };
      case 4:
        return { t: 'Entity', name: r.pick(types).name };
      case 5:
        return { t: 'Ext', name: 'ipaddr' };
      case 6:
        return { t: 'Ext', name: 'decimal' };
      case 7:
        return { t: 'Ext', name: 'datetime' };
      case 8:
        return { t: 'Ext', name: 'duration' };
      case 9:
        return {
          t: 'Set',
          elem: r.pick<Ty>([{ t: 'String' }, { t: 'Long' }, { t: 'Entity', name: r.pick(types).name }]),
        };
      case 10:
        return { t: 'Set', elem: genTy(0) };
      default:
        return {
          t: 'Record',
          attrs: r.some(ATTR_NAMES, 3).map((name) => ({ name, ty: genTy(depth - 1), required: r.chance(0.6) })),
        };
    }
  };
  for (const t of plain) {
    t.attrs = r.some(ATTR_NAMES, 5).map((name) => ({ name, ty: genTy(1), required: r.chance(0.6) }));
    t.memberOf = r.some(
      plain.map((x) => x.name),
      2,
    );
    if (r.chance(0.35)) t.tags = r.pick<Ty>([{ t: 'String' }, { t: 'Long' }, { t: 'Set', elem: { t: 'String' } }]);
  }

  const actions: ActionSpec[] = [];
  nss.forEach((ns, i) => {
    for (const id of ACTION_IDS[i]!) {
      const isGroup = id.startsWith('group');
      actions.push({
        type: qualify(ns, 'Action'),
        ns,
        id,
        memberOf: [],
        isGroup,
        principalTypes: isGroup
          ? []
          : r
              .some(
                types.map((t) => t.name),
                2,
              )
              .concat([r.pick(plain).name]),
        resourceTypes: isGroup
          ? []
          : r
              .some(
                types.map((t) => t.name),
                2,
              )
              .concat([r.pick(plain).name]),
        context: isGroup ? [] : r.some(ATTR_NAMES, 4).map((name) => ({ name, ty: genTy(1), required: r.chance(0.5) })),
      });
    }
  });
  for (const a of actions) {
    for (const t of [a.principalTypes, a.resourceTypes]) {
      const dedup = [...new Set(t)];
      t.length = 0;
      t.push(...dedup);
    }
  }
  // Action groups, across namespaces; a group only joins groups listed before it, so there is no cycle.
  const groups = actions.filter((a) => a.isGroup);
  for (const a of actions) {
    const candidates = groups.filter((g) => g !== a && (!a.isGroup || groups.indexOf(g) < groups.indexOf(a)));
    a.memberOf = r.some(candidates, 2).map((g) => ({ type: g.type, id: g.id }));
  }

  const schema = useSchema ? schemaJson(r, nss, types, actions) : undefined;

  // Entities: each may have parents among entities made before it, of types its type may be a member of.
  const ancestorTypes = (name: string): Set<string> => {
    const out = new Set<string>();
    const stack = [...(types.find((t) => t.name === name)?.memberOf ?? [])];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (out.has(x)) continue;
      out.add(x);
      stack.push(...(types.find((t) => t.name === x)?.memberOf ?? []));
    }
    return out;
  };
  const entities: EntityJson[] = [];
  const explicit = !useSchema;
  for (const t of types) {
    const ids = t.enumIds ?? r.some(IDS, 4);
    for (const id of ids) {
      const allowed = ancestorTypes(t.name);
      const parents = r
        .some(
          entities.filter((e) => allowed.has(e.uid.type)),
          2,
        )
        .map((e) => e.uid);
      if (allowed.size > 0 && r.chance(0.1)) parents.push({ type: r.pick([...allowed]), id: 'ghost' });
      const e: EntityJson = {
        uid: { type: t.name, id },
        attrs: t.enumIds ? {} : attrsJson(r, t.attrs, types, explicit),
        parents,
      };
      if (t.tags !== undefined && r.chance(0.7)) {
        e.tags = {};
        for (const k of r.some(['t1', 't2', 'level', ''], 3)) e.tags[k] = valueJson(r, t.tags, types, explicit);
      }
      entities.push(e);
    }
  }
  if (!useSchema || r.chance(0.3)) {
    // Action entities: Cedar's only source of action groups without a schema; with one, they must match it.
    for (const a of actions)
      entities.push({ uid: { type: a.type, id: a.id }, attrs: {}, parents: a.memberOf.map((m) => ({ ...m })) });
  }
  // Shuffle so that parents can come after their children in the file.
  for (let i = entities.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [entities[i], entities[j]] = [entities[j]!, entities[i]!];
  }

  const ctx: PolicyCtx = { r, types, actions, entities };
  const policies = Array.from({ length: opts.policies ?? r.int(4, 10) }, () => genPolicy(ctx));
  if (opts.requests === 0) return { seed, schema, entities, policies, requests: [] };

  const requests: WorldRequest[] = [];
  for (let k = 0; k < (opts.requests ?? 12); k++) {
    const a = r.chance(0.9) ? r.pick(actions.filter((x) => !x.isGroup)) : r.pick(actions);
    const pickEntity = (allowedTypes: string[]): { type: string; id: string } => {
      if (r.chance(0.1) || allowedTypes.length === 0) {
        const t = r.pick(types);
        return { type: t.name, id: t.enumIds ? r.pick(t.enumIds) : r.pick(IDS) };
      }
      const type = r.pick(allowedTypes);
      const existing = entities.filter((e) => e.uid.type === type);
      if (existing.length > 0 && r.chance(0.85)) return { ...r.pick(existing).uid };
      const t = types.find((x) => x.name === type)!;
      return { type, id: t.enumIds ? r.pick(t.enumIds.concat(['blue'])) : r.pick(IDS.concat(['nobody'])) };
    };
    const principal = pickEntity(a.principalTypes);
    const resource = pickEntity(a.resourceTypes);
    const context = recordJson(r, a.context, types, explicit, r.chance(0.08));
    const overlay: EntityJson[] = [];
    const pt = types.find((t) => t.name === principal.type);
    if (pt !== undefined && pt.enumIds === undefined && r.chance(0.35)) {
      const allowed = ancestorTypes(pt.name);
      overlay.push({
        uid: { ...principal },
        attrs: attrsJson(r, pt.attrs, types, explicit, r.chance(0.05)),
        parents: r
          .some(
            entities.filter((e) => allowed.has(e.uid.type)),
            2,
          )
          .map((e) => ({ ...e.uid })),
      });
    }
    requests.push({
      principal,
      action: { type: a.type, id: a.id },
      resource,
      context,
      validateRequest: r.chance(0.85),
      overlay,
    });
  }
  return { seed, schema, entities, policies, requests };
}

function tyJson(r: Rng, ty: Ty, ns: string): unknown {
  switch (ty.t) {
    case 'Long':
      return r.chance(0.5) ? { type: 'Long' } : { type: 'EntityOrCommon', name: 'Long' };
    case 'String':
      return { type: 'String' };
    case 'Bool':
      return { type: 'Boolean' };
    case 'Set':
      return { type: 'Set', element: tyJson(r, ty.elem, ns) };
    case 'Record':
      return {
        type: 'Record',
        attributes: Object.fromEntries(
          ty.attrs.map((a) => [a.name, { ...(tyJson(r, a.ty, ns) as object), required: a.required }]),
        ),
      };
    case 'Entity': {
      // Within the same namespace an unqualified name resolves to it.
      const sameNs = ns !== '' && ty.name.startsWith(`${ns}::`) && !ty.name.slice(ns.length + 2).includes('::');
      const name = sameNs && r.chance(0.5) ? ty.name.slice(ns.length + 2) : ty.name;
      return r.chance(0.5) ? { type: 'Entity', name } : { type: 'EntityOrCommon', name };
    }
    case 'Ext':
      return r.chance(0.5) ? { type: 'Extension', name: ty.name } : { type: 'EntityOrCommon', name: ty.name };
  }
}

function schemaJson(r: Rng, nss: string[], types: EntityTypeSpec[], actions: ActionSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  nss.forEach((ns, i) => {
    const entityTypes: Record<string, unknown> = {};
    for (const t of types.filter((x) => x.ns === ns)) {
      if (t.enumIds !== undefined) {
        entityTypes[t.base] = { enum: t.enumIds };
        continue;
      }
      const def: Record<string, unknown> = {
        memberOfTypes: t.memberOf,
        shape: {
          type: 'Record',
          attributes: Object.fromEntries(
            t.attrs.map((a) => [a.name, { ...(tyJson(r, a.ty, ns) as object), required: a.required }]),
          ),
        },
      };
      if (t.tags !== undefined) def.tags = tyJson(r, t.tags, ns);
      entityTypes[t.base] = def;
    }
    const commonTypes: Record<string, unknown> = {};
    const acts: Record<string, unknown> = {};
    for (const a of actions.filter((x) => x.ns === ns)) {
      const def: Record<string, unknown> = {};
      if (a.memberOf.length > 0)
        def.memberOf = a.memberOf.map((m) =>
          m.type === a.type && r.chance(0.5) ? { id: m.id } : { id: m.id, type: m.type },
        );
      if (!a.isGroup) {
        const ctx = {
          type: 'Record',
          attributes: Object.fromEntries(
            a.context.map((c) => [c.name, { ...(tyJson(r, c.ty, ns) as object), required: c.required }]),
          ),
        };
        let context: unknown = ctx;
        if (r.chance(0.4)) {
          const name = `Ctx${i}${a.id}`;
          commonTypes[name] = ctx;
          context = { type: name };
        }
        def.appliesTo = { principalTypes: a.principalTypes, resourceTypes: a.resourceTypes, context };
      }
      acts[a.id] = def;
    }
    out[ns] = { entityTypes, actions: acts, ...(Object.keys(commonTypes).length > 0 ? { commonTypes } : {}) };
  });
  return out;
}

const LONGS = [0, 1, -1, 2, 7, 42, 100, -100, 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1), 3037000499, 4611686018427387];
const STRINGS = ['', 'a', 'abc', 'a*c', 'x"y', 'line\nbreak', 'ü', '\\', 'a\\*b', 'acme', 'tenant1', '🙂'];
const IPS = [
  '10.0.0.1',
  '10.0.0.0/8',
  '192.168.1.1/24',
  '127.0.0.1',
  '::1',
  'ff02::1',
  '2001:db8::/32',
  '224.1.2.3',
  '1.2.3.4/33',
  'not-an-ip',
  '::ffff:1.2.3.4',
  '01.2.3.4',
];
const DECIMALS = [
  '0.0',
  '1.5',
  '-1.5',
  '12.3456',
  '922337203685477.5807',
  '-922337203685477.5808',
  '1.23456',
  '1.',
  'abc',
  '922337203685478.0',
];
const DATETIMES = [
  '2024-01-01',
  '2024-01-01T10:00:00Z',
  '2024-02-29T23:59:59.999Z',
  '1969-12-31T23:59:59Z',
  '2024-01-01T00:00:00+0130',
  '2024-01-01T00:00:00.123-0800',
  '0000-01-01',
  '9999-12-31T23:59:59Z',
  '2023-02-29',
  '2024-13-01',
  '2024-01-01T24:00:00Z',
  '2024-01-01T10:00:00+2400',
];
const DURATIONS = [
  '0ms',
  '1h',
  '-1d2h',
  '1d2h3m4s5ms',
  '90m',
  '-1ms',
  '106751991167d',
  '106751991168d',
  '1d1d',
  '',
  'h',
  '9223372036854775807ms',
];

function valueJson(r: Rng, ty: Ty, types: EntityTypeSpec[], explicit: boolean): unknown {
  switch (ty.t) {
    case 'Long':
      return r.chance(0.7) ? r.pick(LONGS) : r.int(-1000, 1000);
    case 'String':
      return r.pick(STRINGS);
    case 'Bool':
      return r.chance(0.5);
    case 'Set': {
      const n = r.int(0, 3);
      return Array.from({ length: n }, () => valueJson(r, ty.elem, types, explicit));
    }
    case 'Record':
      return recordJson(r, ty.attrs, types, explicit, false);
    case 'Entity': {
      const t = types.find((x) => x.name === ty.name)!;
      const uid = { type: t.name, id: t.enumIds ? r.pick(t.enumIds) : r.pick(IDS) };
      return explicit || r.chance(0.5) ? { __entity: uid } : uid;
    }
    case 'Ext': {
      // Only valid literals here: an invalid one makes the entity (or context) itself invalid.
      const pool = {
        ipaddr: IPS.slice(0, 8),
        decimal: DECIMALS.slice(0, 6),
        datetime: DATETIMES.slice(0, 8),
        duration: DURATIONS.slice(0, 7),
      }[ty.name];
      const arg = r.pick(pool);
      const fn = ty.name === 'ipaddr' ? 'ip' : ty.name;
      if (explicit || r.chance(0.4)) return { __extn: { fn, arg } };
      return r.chance(0.2) ? { fn, arg } : arg;
    }
  }
}

function recordJson(
  r: Rng,
  attrs: { name: string; ty: Ty; required: boolean }[],
  types: EntityTypeSpec[],
  explicit: boolean,
  breakIt = false,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of attrs) if (a.required || r.chance(0.6)) out[a.name] = valueJson(r, a.ty, types, explicit);
  if (breakIt) {
    if (r.chance(0.5)) out.unexpected = 1;
    else if (attrs.length > 0) out[attrs[0]!.name] = r.chance(0.5) ? 'wrong' : 5;
  }
  return out;
}

function attrsJson(
  r: Rng,
  attrs: EntityTypeSpec['attrs'],
  types: EntityTypeSpec[],
  explicit: boolean,
  breakIt = false,
): Record<string, unknown> {
  return recordJson(r, attrs, types, explicit, breakIt);
}

// ---- policies ----

interface PolicyCtx {
  r: Rng;
  types: EntityTypeSpec[];
  actions: ActionSpec[];
  entities: EntityJson[];
}

/** A Cedar string literal for `s`, sometimes with \u{…} escapes. */
function cedarString(r: Rng, s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '*') out += r.chance(0.3) ? '\\u{2a}' : '*';
    else if (r.chance(0.05)) out += `\\u{${ch.codePointAt(0)!.toString(16)}}`;
    else out += ch;
  }
  return `"${out}"`;
}

const uidText = (r: Rng, u: { type: string; id: string }) => `${u.type}::${cedarString(r, u.id)}`;

function randomUid(c: PolicyCtx): { type: string; id: string } {
  const { r } = c;
  if (r.chance(0.7) && c.entities.length > 0) return r.pick(c.entities).uid;
  const t = r.pick(c.types);
  return { type: t.name, id: t.enumIds ? r.pick(t.enumIds) : r.pick(IDS) };
}

function genPolicy(c: PolicyCtx): string {
  const { r } = c;
  // Scopes match often enough that conditions are evaluated for most requests.
  const scopeFor = (v: 'principal' | 'resource') => {
    switch (r.int(0, 7)) {
      case 0:
      case 1:
      case 6:
      case 7:
        return v;
      case 2:
        return `${v} == ${uidText(r, randomUid(c))}`;
      case 3:
        return `${v} in ${uidText(r, randomUid(c))}`;
      case 4:
        return `${v} is ${r.pick(c.types).name}`;
      default: {
        const u = randomUid(c);
        return `${v} is ${r.pick(c.types).name} in ${uidText(r, u)}`;
      }
    }
  };
  const actionScope = () => {
    const a = () => {
      const x = r.pick(c.actions);
      return `${x.type}::${cedarString(r, x.id)}`;
    };
    switch (r.int(0, 6)) {
      case 0:
      case 5:
      case 6:
        return 'action';
      case 1:
        return `action == ${a()}`;
      case 2:
        return `action in ${a()}`;
      default:
        return `action in [${Array.from({ length: r.int(0, 3) }, a).join(', ')}]`;
    }
  };
  const conds = Array.from(
    { length: r.pick([0, 1, 1, 1, 2, 2, 3]) },
    () => `${r.chance(0.7) ? 'when' : 'unless'} { ${r.chance(0.4) ? simpleCondition(c) : genExpr(c, 'bool', 3)} }`,
  );
  const annotation = r.chance(0.3) ? `@id(${cedarString(r, 'p')})\n` : '';
  return `${annotation}${r.chance(0.6) ? 'permit' : 'forbid'}(${scopeFor('principal')}, ${actionScope()}, ${scopeFor('resource')})${conds.map((x) => `\n${x}`).join('')};`;
}

const RESERVED_WORDS = ['if', 'then', 'else', 'true', 'false', 'in', 'is', 'has', 'like', '__cedar'];

/** Conditions that usually evaluate without error, so that decisions are often allow. */
function simpleCondition(c: PolicyCtx): string {
  const { r } = c;
  const a = attrOf(c);
  switch (r.int(0, 10)) {
    case 8: {
      // A nested `has` along a path the schema declares (record attributes), sometimes one step off it.
      if (
        a === undefined ||
        a.ty.t !== 'Record' ||
        a.ty.attrs.length === 0 ||
        !/^[_a-zA-Z][_a-zA-Z0-9]*$/.test(a.attr) ||
        RESERVED_WORDS.includes(a.attr)
      )
        return 'true';
      const sub = r.pick(a.ty.attrs).name;
      const next = /^[_a-zA-Z][_a-zA-Z0-9]*$/.test(sub) && !RESERVED_WORDS.includes(sub) ? sub : 'b';
      return `${a.base} has ${a.attr}.${r.chance(0.7) ? next : 'nope'}`;
    }
    case 7: {
      // Set equality and containment on overlapping sets.
      const pool = ['1', '2', '"a"', 'principal', 'resource', '[1]', '{a: 1}'];
      const set = () => `[${r.some(pool, 3).join(', ')}]`;
      return `${set()} ${r.pick(['==', '!='])} ${set()} || ${set()}.${r.pick(['containsAll', 'containsAny'])}(${set()})`;
    }
    case 6:
    case 9:
    case 10: {
      // Arithmetic at the edges of i64, overflowing about half the time (an error) and otherwise exact
      // beyond 2^53; sometimes through a context or attribute value.
      const op = r.pick(['+', '-', '*']);
      const [xs, ys] =
        op === '+'
          ? [
              ['9223372036854775807', '4611686018427387904', '-9223372036854775808', '1'],
              ['4611686018427387904', '1', '-1', '9223372036854775807'],
            ]
          : op === '-'
            ? [
                ['-9223372036854775808', '-4611686018427387905', '9223372036854775807', '0'],
                ['1', '9223372036854775807', '-1', '-9223372036854775808'],
              ]
            : [
                ['3037000500', '-3037000500', '4611686018427387904', '2'],
                ['3037000500', '2', '-2', '0'],
              ];
      const lhs = r.chance(0.2) && a !== undefined && a.ty.t === 'Long' ? access(a.base, a.attr) : r.pick(xs);
      return `(${lhs} ${op} ${r.pick(ys)}) ${r.pick(['<', '>=', '=='])} ${r.pick(WIDE)}`;
    }
    case 5: {
      const pat = likePattern(r);
      return `${likeCandidate(r, pat)} like ${pat}`;
    }
    case 0:
      return `principal in ${uidText(r, randomUid(c))}`;
    case 1:
      return a === undefined ? 'true' : hasText(a.base, a.attr);
    case 2:
      return a === undefined
        ? 'false'
        : `${hasText(a.base, a.attr)} && ${access(a.base, a.attr)} == ${genExpr(c, kindOf(a.ty), 1)}`;
    case 3:
      return `resource in ${uidText(r, randomUid(c))} || principal == resource`;
    default:
      return r.chance(0.5) ? 'true' : `context has ${r.pick(['a', 'b', 'level', 'owner'])}`;
  }
}

type Want = 'bool' | 'long' | 'string' | 'entity' | 'set' | 'record' | 'ext' | 'any';

function attrOf(c: PolicyCtx): { base: string; attr: string; ty: Ty } | undefined {
  const { r } = c;
  const v = r.pick(['principal', 'resource', 'context', 'principal', 'resource']);
  if (v === 'context') {
    const a = r.pick(c.actions.filter((x) => x.context.length > 0).concat([c.actions[0]!]));
    if (a.context.length === 0) return undefined;
    const at = r.pick(a.context);
    return { base: 'context', attr: at.name, ty: at.ty };
  }
  const t = r.pick(c.types.filter((x) => x.attrs.length > 0).concat([c.types[0]!]));
  if (t.attrs.length === 0) return undefined;
  const at = r.pick(t.attrs);
  return { base: v, attr: at.name, ty: at.ty };
}

const access = (base: string, attr: string) =>
  /^[_a-zA-Z][_a-zA-Z0-9]*$/.test(attr) &&
  !['if', 'then', 'else', 'true', 'false', 'in', 'is', 'has', 'like'].includes(attr)
    ? `${base}.${attr}`
    : `${base}[${JSON.stringify(attr)}]`;
const hasText = (base: string, attr: string) =>
  /^[_a-zA-Z][_a-zA-Z0-9]*$/.test(attr) &&
  !['if', 'then', 'else', 'true', 'false', 'in', 'is', 'has', 'like'].includes(attr)
    ? `${base} has ${attr}`
    : `${base} has ${JSON.stringify(attr)}`;

const kindOf = (ty: Ty): Want =>
  ty.t === 'Long'
    ? 'long'
    : ty.t === 'String'
      ? 'string'
      : ty.t === 'Bool'
        ? 'bool'
        : ty.t === 'Set'
          ? 'set'
          : ty.t === 'Record'
            ? 'record'
            : ty.t === 'Entity'
              ? 'entity'
              : 'ext';

/** An expression that is (mostly) of kind `want`; sometimes deliberately of another kind. */
export function genExpr(c: PolicyCtx, want: Want, depth: number): string {
  const { r } = c;
  if (want === 'any') want = r.pick<Want>(['bool', 'long', 'string', 'entity', 'set', 'record', 'ext']);
  if (depth <= 0 || r.chance(0.12)) return leaf(c, want);
  // An attribute of the wanted kind, guarded by `has` half the time.
  if (r.chance(0.25)) {
    const a = attrOf(c);
    if (a !== undefined && (kindOf(a.ty) === want || r.chance(0.1))) {
      let e = access(a.base, a.attr);
      // Follow entity-typed and record attributes up to three hops (principal.owner.manager.level).
      let ty: Ty = a.ty;
      for (let hop = 0; hop < 3 && r.chance(0.45); hop++) {
        if (ty.t === 'Entity') {
          const t = c.types.find((x) => x.name === (ty as { name: string }).name);
          if (t === undefined || t.attrs.length === 0) break;
          const next = r.pick(t.attrs);
          e = access(e, next.name);
          ty = next.ty;
        } else if (ty.t === 'Record' && ty.attrs.length > 0) {
          const next = r.pick(ty.attrs);
          e = access(e, next.name);
          ty = next.ty;
        } else break;
      }
      if (want === 'bool' && r.chance(0.5))
        return `(${hasText(a.base, a.attr)} && ${e} == ${genExpr(c, kindOf(a.ty), depth - 1)})`;
      return e;
    }
  }
  const sub = (w: Want) => genExpr(c, w, depth - 1);
  switch (want) {
    case 'bool':
      switch (r.int(0, 20)) {
        case 0:
          return `(${sub('bool')} && ${sub(r.chance(0.9) ? 'bool' : 'any')})`;
        case 1:
          return `(${sub('bool')} || ${sub(r.chance(0.9) ? 'bool' : 'any')})`;
        case 2:
          return `!${r.chance(0.9) ? sub('bool') : sub('any')}`;
        case 3: {
          const k = r.pick<Want>(['long', 'long', 'ext', 'any']);
          return `(${sub(k)} ${r.pick(['<', '<=', '>', '>='])} ${sub(k)})`;
        }
        case 4:
        case 5: {
          const k = r.pick<Want>(['long', 'string', 'entity', 'set', 'record', 'ext', 'bool', 'any']);
          return `(${sub(k)} ${r.pick(['==', '!='])} ${sub(r.chance(0.8) ? k : 'any')})`;
        }
        case 6:
          return `(${sub('entity')} in ${r.chance(0.6) ? sub('entity') : r.chance(0.8) ? `[${sub('entity')}, ${sub('entity')}]` : sub('any')})`;
        case 7: {
          const path = r.some(['a', 'b', 'owner', 'level', 'tenant'], 3);
          return `(${sub(r.pick<Want>(['entity', 'record', 'any']))} has ${path.length > 0 ? path.join('.') : '"in x"'})`;
        }
        case 8: {
          // Half the time the string is drawn from the pattern itself (wildcards filled in, literal stars
          // kept or replaced), so that matches and near-misses are both common.
          const pat = likePattern(r);
          return `(${r.chance(0.5) ? likeCandidate(r, pat) : sub('string')} like ${pat})`;
        }
        case 9:
          return `(${sub('entity')} is ${r.pick(c.types).name}${r.chance(0.3) ? ` in ${sub('entity')}` : ''})`;
        case 10:
          return `(if ${sub('bool')} then ${sub('bool')} else ${sub(r.chance(0.9) ? 'bool' : 'any')})`;
        case 11:
          return `${sub('set')}.contains(${sub('any')})`;
        case 12:
          return `${sub('set')}.${r.pick(['containsAll', 'containsAny'])}(${sub('set')})`;
        case 13:
          return `${sub('set')}.isEmpty()`;
        case 14:
          return `${sub('entity')}.hasTag(${r.chance(0.8) ? cedarString(r, r.pick(['t1', 't2', 'level', '', 'x'])) : sub('any')})`;
        case 15:
          return `${ipExpr(c, depth - 1)}.${r.pick(['isIpv4', 'isIpv6', 'isLoopback', 'isMulticast'])}()`;
        case 16:
          return `${ipExpr(c, depth - 1)}.isInRange(${ipExpr(c, depth - 1)})`;
        case 17:
          return `${decimalExpr(c)}.${r.pick(['lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual'])}(${decimalExpr(c)})`;
        case 18: {
          const k = r.pick(['datetime', 'duration']);
          const g = k === 'datetime' ? () => datetimeExpr(c, depth - 1) : () => durationExpr(c, depth - 1);
          return `(${g()} ${r.pick(['<', '<=', '>', '>=', '==', '!='])} ${g()})`;
        }
        case 19:
          return `(principal ${r.pick(['==', 'in'])} ${sub('entity')})`;
        default:
          return leaf(c, 'bool');
      }
    case 'long':
      switch (r.int(0, 9)) {
        case 0:
        case 1:
          return `(${sub('long')} ${r.pick(['+', '-', '*'])} ${sub(r.chance(0.9) ? 'long' : 'any')})`;
        case 2:
          return `-${r.chance(0.5) ? `(${sub('long')})` : sub('long')}`;
        case 3:
          return `${sub('entity')}.getTag(${cedarString(r, r.pick(['t1', 't2', 'level']))})`;
        case 4:
          return `${durationExpr(c, depth - 1)}.${r.pick(['toDays', 'toHours', 'toMinutes', 'toSeconds', 'toMilliseconds'])}()`;
        case 5:
          return `(if ${sub('bool')} then ${sub('long')} else ${sub('long')})`;
        default:
          return leaf(c, 'long');
      }
    case 'string':
      return r.chance(0.3) ? `${sub('entity')}.getTag(${cedarString(r, r.pick(['t1', 't2']))})` : leaf(c, 'string');
    case 'entity':
      switch (r.int(0, 4)) {
        case 0:
          return r.pick(['principal', 'resource', 'action']);
        case 1:
          return `(if ${sub('bool')} then ${sub('entity')} else ${sub('entity')})`;
        default:
          return leaf(c, 'entity');
      }
    case 'set':
      return r.chance(0.6)
        ? `[${Array.from({ length: r.int(0, 3) }, () => sub(r.pick<Want>(['long', 'string', 'entity', 'any']))).join(', ')}]`
        : leaf(c, 'set');
    case 'record':
      if (r.chance(0.3)) return 'context';
      return `{${r
        .some(['a', 'b', '"in x"', 'when', 'principal'], 3)
        .map((k) => `${k}: ${sub('any')}`)
        .join(', ')}}`;
    case 'ext':
      switch (r.int(0, 3)) {
        case 0:
          return ipExpr(c, depth - 1);
        case 1:
          return decimalExpr(c);
        case 2:
          return datetimeExpr(c, depth - 1);
        default:
          return durationExpr(c, depth - 1);
      }
  }
  return leaf(c, want);
}

/** A string literal near a `like` pattern (given as Cedar source): wildcards filled, escapes resolved or broken. */
function likeCandidate(r: Rng, pattern: string): string {
  const body = pattern.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const next = body.slice(i, i + 6);
      if (next.startsWith('\\*')) out += r.chance(0.5) ? '*' : 'b';
      else if (next.startsWith('\\u{2a}')) out += r.pick(['', 'x', '*', 'xy']);
      else if (next.startsWith('\\n')) out += '\\n';
      else if (next.startsWith('\\"')) out += '\\"';
      i += next.startsWith('\\u{2a}') ? 5 : 1;
      continue;
    }
    if (c === '*') out += r.pick(['', 'a', '*', 'ab', 'ü']);
    else out += c;
  }
  if (r.chance(0.2)) out += 'z';
  return `"${out}"`;
}

function likePattern(r: Rng): string {
  let s = '';
  for (let i = r.int(0, 4); i > 0; i--) {
    const k = r.int(0, 5);
    s +=
      k === 0
        ? '*'
        : k === 1
          ? '\\*'
          : k === 2
            ? '\\u{2a}'
            : r.pick(['a', 'b', 'c', '"', 'ü', '\\n']).replace('"', '\\"');
  }
  return `"${s}"`;
}

function ipExpr(c: PolicyCtx, depth: number): string {
  const { r } = c;
  if (depth > 0 && r.chance(0.2)) {
    const a = attrOf(c);
    if (a !== undefined && a.ty.t === 'Ext' && a.ty.name === 'ipaddr') return access(a.base, a.attr);
  }
  return `ip(${cedarString(r, r.pick(IPS))})`;
}
function decimalExpr(c: PolicyCtx): string {
  return `decimal(${cedarString(c.r, c.r.pick(DECIMALS))})`;
}
function datetimeExpr(c: PolicyCtx, depth: number): string {
  const { r } = c;
  if (depth > 0 && r.chance(0.3))
    return r.chance(0.5)
      ? `${datetimeExpr(c, depth - 1)}.offset(${durationExpr(c, depth - 1)})`
      : `${datetimeExpr(c, depth - 1)}.toDate()`;
  return `datetime(${cedarString(r, r.pick(DATETIMES))})`;
}
function durationExpr(c: PolicyCtx, depth: number): string {
  const { r } = c;
  if (depth > 0 && r.chance(0.25))
    return r.chance(0.5)
      ? `${datetimeExpr(c, depth - 1)}.toTime()`
      : `${datetimeExpr(c, depth - 1)}.durationSince(${datetimeExpr(c, depth - 1)})`;
  return `duration(${cedarString(r, r.pick(DURATIONS))})`;
}

const WIDE = [
  '9223372036854775807',
  '-9223372036854775808',
  '9007199254740993',
  '-9007199254740993',
  '4611686018427387904',
  '3037000500',
];

function leaf(c: PolicyCtx, want: Want): string {
  const { r } = c;
  switch (want) {
    case 'bool':
      return r.pick(['true', 'false']);
    case 'long':
      return r.chance(0.3) ? r.pick(WIDE) : String(r.pick(LONGS.concat([r.int(-50, 50)])));
    case 'string':
      return cedarString(r, r.pick(STRINGS));
    case 'entity':
      return r.chance(0.3) ? r.pick(['principal', 'resource', 'action']) : uidText(r, randomUid(c));
    case 'set':
      return r.chance(0.5) ? '[]' : `[${cedarString(r, 'a')}, ${r.pick(LONGS)}]`;
    case 'record':
      return r.chance(0.5) ? 'context' : '{}';
    case 'ext':
      return ipExpr(c, 0);
    default:
      return 'true';
  }
}
