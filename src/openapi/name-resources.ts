// Which Cedar entity a route's request is about, when the document does not say (docs/openapi.md,
// "Resources"). The resource is the thing the path's last parameter identifies; its id is made of every
// path parameter, so that `/repos/{owner}/{repo}/issues/{number}` names Issue::"octo/hello/7" and issue 7
// of one repository is never issue 7 of another. A path without parameters (a top-level collection such as
// `GET /accounts`) acts on the API itself: the Application entity of Cedar's SimpleRest mapping.
import type { TemplateSegment } from './parse-path-template.js';

export interface ResourceInput {
  readonly key: string;
  readonly segments: readonly TemplateSegment[];
}

export interface NamedResource {
  readonly type: string;
  /** Id template over routes.yaml's parameter names. */
  readonly id: string;
}

interface Derivation {
  readonly key: string;
  /** Literal segments before the parameters that identify the resource, nearest first. */
  readonly words: readonly string[];
  readonly fallback: string;
  readonly id: string;
  readonly paramCount: number;
  /** The path up to the identifying parameter, parameters blanked: one shape, one kind of resource. */
  readonly skeleton: string;
}

// Names Cedar reserves or authzd's namespace already uses for something else.
const RESERVED = new Set(['Action', 'Bool', 'Boolean', 'Entity', 'Extension', 'Long', 'Record', 'Set', 'String']);

export function nameResources(
  inputs: readonly ResourceInput[],
  application: NamedResource,
): Map<string, NamedResource> {
  const out = new Map<string, NamedResource>();
  const derivations: Derivation[] = [];
  for (const input of inputs) {
    const d = derive(input);
    if (d === undefined) out.set(input.key, application);
    else derivations.push(d);
  }

  // One name per shape of path. Two shapes that would share a name and a parameter count could give two
  // different things the same entity uid, so their names take in more of the path until they differ:
  // /repos/{o}/{r}/comments/{id} and /repos/{o}/{r}/issues/comments/{id} become RepoComment and IssueComment.
  const names = new Map<string, string>();
  const groups = groupBy(derivations, (d) => `${nameAt(d, 1)}\0${d.paramCount}`);
  for (const group of groups.values()) {
    const shapes = unique(group.map((d) => d.skeleton));
    if (shapes.length === 1) {
      for (const d of group) names.set(d.skeleton, nameAt(d, 1));
      continue;
    }
    const representative = shapes.map((s) => group.find((d) => d.skeleton === s)!);
    const deepest = Math.max(...representative.map((d) => d.words.length));
    let depth = 2;
    while (depth < deepest && unique(representative.map((d) => nameAt(d, depth))).length < representative.length)
      depth++;
    for (const d of representative) names.set(d.skeleton, nameAt(d, depth));
  }

  // Whatever still collides is told apart by a number: shapes that differ only where parameters sit, or
  // in a word's number (GitHub's /user/{account_id} and /users/{username}: two id spaces, User and User_2).
  const taken = new Map<string, string>();
  for (const d of derivations) {
    const base = names.get(d.skeleton)!;
    let name = base;
    for (let n = 2; taken.has(`${name}\0${d.paramCount}`) && taken.get(`${name}\0${d.paramCount}`) !== d.skeleton; n++)
      name = `${base}_${n}`;
    taken.set(`${name}\0${d.paramCount}`, d.skeleton);
    names.set(d.skeleton, name);
    out.set(d.key, { type: name, id: d.id });
  }
  return out;
}

/** The id a route's resource gets when its type is chosen but its id is not: every path parameter. */
export function defaultResourceId(segments: readonly TemplateSegment[], application: NamedResource): string {
  const params = segments.flatMap((s) => ('param' in s ? [`{${s.param}}`] : []));
  return params.length === 0 ? application.id : params.join('/');
}

function derive(input: ResourceInput): Derivation | undefined {
  const segments = input.segments;
  let last = -1;
  segments.forEach((s, i) => {
    if ('param' in s) last = i;
  });
  if (last === -1) return undefined;
  let first = last;
  while (first > 0 && 'param' in segments[first - 1]!) first--;
  const words: string[] = [];
  for (let i = first - 1; i >= 0; i--) {
    const s = segments[i]!;
    if ('literal' in s && pascal(s.literal) !== '') words.push(s.literal);
  }
  const params = segments.flatMap((s) => ('param' in s ? [s] : []));
  const identifying = segments[first] as { param: string; original: string };
  return {
    key: input.key,
    words,
    fallback: pascal(identifying.original.replace(/[-_]?(id|Id|ID)$/, '')) || 'Resource',
    id: params.map((p) => `{${p.param}}`).join('/'),
    paramCount: params.length,
    skeleton: segments
      .slice(0, last + 1)
      .map((s) => ('literal' in s ? encodeURIComponent(s.literal) : '{}'))
      .join('/'),
  };
}

/** The type name from the `depth` nearest literal segments: depth 1 "comments" -> Comment. */
function nameAt(d: Derivation, depth: number): string {
  const words = d.words.slice(0, depth).reverse();
  const name = words.length === 0 ? d.fallback : words.map((w) => pascal(singular(w))).join('');
  const safe = /^[0-9]/.test(name) ? `_${name}` : name;
  return RESERVED.has(safe) ? `${safe}Resource` : safe;
}

/** "billing-plan" -> BillingPlan, "bookCollection" -> BookCollection, "custom_pages" -> CustomPages. */
export function pascal(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== '')
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

const IRREGULAR: Record<string, string> = {
  caches: 'cache',
  people: 'person',
  children: 'child',
  men: 'man',
  women: 'woman',
  indices: 'index',
  data: 'data',
  statuses: 'status',
  aliases: 'alias',
  analyses: 'analysis',
};

/** The singular of a segment's last word, by the common English rules (collections are plural). */
export function singular(segment: string): string {
  const m = /^(.*?)([A-Za-z]+)$/.exec(segment);
  if (m === null) return segment;
  const [, head, word] = m as unknown as [string, string, string];
  const lower = word.toLowerCase();
  const keepCase = (s: string) => (word[0] === word[0]!.toUpperCase() ? s[0]!.toUpperCase() + s.slice(1) : s);
  let one: string;
  if (IRREGULAR[lower] !== undefined) one = keepCase(IRREGULAR[lower]);
  else if (/[^aeiou]ies$/.test(lower)) one = `${word.slice(0, -3)}y`;
  else if (/(ss|x|ch|sh|z)es$/.test(lower)) one = word.slice(0, -2);
  else if (/(ss|us|is)$/.test(lower)) one = word;
  else if (lower.endsWith('s') && lower.length > 1) one = word.slice(0, -1);
  else one = word;
  return head + one;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k) ?? [];
    list.push(item);
    out.set(k, list);
  }
  return out;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
