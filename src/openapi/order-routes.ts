// authzd tries routes in file order and the first match wins; OpenAPI says a concrete path wins over a
// templated one that also matches (`/users/me` over `/users/{id}`). Ordering the routes so that every
// route comes before the templated routes that would otherwise take its requests makes the two agree.
import type { TemplateSegment } from './parse-path-template.js';

export interface OrderedRoute {
  readonly segments: readonly TemplateSegment[];
  /** The methods the route accepts ('*': any). */
  readonly methods: ReadonlySet<string> | '*';
}

/**
 * Whether `a` must come before `b`: some request matches both, and reading the paths left to right, the
 * first segment where one has a literal and the other a parameter is a literal in `a`.
 */
export function mustPrecede(a: OrderedRoute, b: OrderedRoute): boolean {
  if (a.segments.length !== b.segments.length || !methodsOverlap(a.methods, b.methods)) return false;
  let decided: boolean | undefined;
  for (let i = 0; i < a.segments.length; i++) {
    const x = a.segments[i]!;
    const y = b.segments[i]!;
    const xLiteral = 'literal' in x;
    const yLiteral = 'literal' in y;
    if (xLiteral && yLiteral && x.literal !== y.literal) return false;
    if (decided === undefined && xLiteral !== yLiteral) decided = xLiteral;
  }
  return decided === true;
}

/**
 * The routes in document order as far as `mustPrecede` allows: repeatedly the earliest route that no
 * remaining route must precede (Kahn's algorithm; mustPrecede never forms a cycle, since it follows the
 * lexicographic order of literal-or-parameter along the path).
 */
export function orderRoutes<T extends OrderedRoute>(routes: readonly T[]): T[] {
  const after = routes.map(() => [] as number[]);
  const before = routes.map(() => 0);
  const byLength = new Map<number, number[]>();
  routes.forEach((r, i) => byLength.set(r.segments.length, [...(byLength.get(r.segments.length) ?? []), i]));
  for (const group of byLength.values()) {
    for (const i of group) {
      for (const j of group) {
        if (i !== j && mustPrecede(routes[i]!, routes[j]!)) {
          after[i]!.push(j);
          before[j]!++;
        }
      }
    }
  }
  const ready = routes.map((_, i) => i).filter((i) => before[i] === 0);
  const out: T[] = [];
  while (ready.length > 0) {
    let pick = 0;
    for (let k = 1; k < ready.length; k++) if (ready[k]! < ready[pick]!) pick = k;
    const i = ready.splice(pick, 1)[0]!;
    out.push(routes[i]!);
    for (const j of after[i]!) if (--before[j]! === 0) ready.push(j);
  }
  return out;
}

/** Where a new route goes in an existing list: before the first route it must precede, else at the end. */
export function insertionIndex(list: readonly OrderedRoute[], route: OrderedRoute): number {
  const index = list.findIndex((existing) => mustPrecede(route, existing));
  return index === -1 ? list.length : index;
}

/** Pairs (earlier, later) where the later route should have come first: the earlier one takes some of its requests. */
export function shadowedPairs(list: readonly OrderedRoute[]): [number, number][] {
  const pairs: [number, number][] = [];
  for (let j = 0; j < list.length; j++) {
    for (let i = 0; i < j; i++) if (mustPrecede(list[j]!, list[i]!)) pairs.push([i, j]);
  }
  return pairs;
}

/** The segments of a routes.yaml path template (literals as written, `{name}` parameters). */
export function routeSegments(path: string): TemplateSegment[] {
  return path
    .slice(1)
    .split('/')
    .map((s) => {
      const m = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(s);
      return m !== null ? { param: m[1]!, original: m[1]! } : { literal: s };
    });
}

export function methodSet(method: string | readonly string[]): ReadonlySet<string> | '*' {
  if (method === '*') return '*';
  return new Set(typeof method === 'string' ? [method] : method);
}

function methodsOverlap(a: ReadonlySet<string> | '*', b: ReadonlySet<string> | '*'): boolean {
  if (a === '*' || b === '*') return true;
  for (const m of a) if (b.has(m)) return true;
  return false;
}
