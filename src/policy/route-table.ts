import type { RiskClass } from '../contract/risk-class.js';
import type { RouteSpec } from './routes-schema.js';

export interface Route {
  readonly id: string;
  /** The action's id; its type is the namespace's Action. */
  readonly action: string;
  readonly resourceType: string;
  readonly risk: RiskClass;
  /** Tokenless requests from an authenticated workload are decided as that workload. */
  readonly allowWorkloads: boolean;
  /** Builds the resource id from the path parameters. */
  readonly resourceId: (params: Readonly<Record<string, string>>) => string;
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: Readonly<Record<string, string>>;
}

type Segment = { readonly literal: string } | { readonly param: string };

interface CompiledRoute {
  readonly methods: ReadonlySet<string> | '*';
  readonly segments: readonly Segment[];
  readonly route: Route;
}

const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export class RouteTableError extends Error {}

/** Routes are tried in file order; the first whose method and path template match wins. */
export class RouteTable {
  readonly #byLength = new Map<number, CompiledRoute[]>();
  readonly routes: readonly Route[];

  constructor(specs: readonly RouteSpec[], qualify: (type: string) => string) {
    const routes: Route[] = [];
    const seen = new Set<string>();
    for (const spec of specs) {
      if (seen.has(spec.id)) throw new RouteTableError(`route ${spec.id}: duplicate id`);
      seen.add(spec.id);
      const segments: Segment[] = spec.path
        .slice(1)
        .split('/')
        .map((s) => {
          const m = PARAM.exec(s);
          if (m !== null) return { param: m[1]! };
          if (s.includes('{') || s.includes('}')) {
            throw new RouteTableError(`route ${spec.id}: a parameter must be a whole segment, got "${s}"`);
          }
          return { literal: s };
        });
      const params = new Set(segments.flatMap((s) => ('param' in s ? [s.param] : [])));
      for (const [, used] of spec.resource.id.matchAll(PLACEHOLDER)) {
        if (!params.has(used!))
          throw new RouteTableError(`route ${spec.id}: resource id uses {${used}}, which the path does not define`);
      }
      const template = spec.resource.id;
      const route: Route = {
        id: spec.id,
        action: spec.action,
        resourceType: qualify(spec.resource.type),
        risk: spec.risk,
        allowWorkloads: spec.allowWorkloads,
        resourceId: (values) => template.replace(PLACEHOLDER, (_, p: string) => values[p] ?? ''),
      };
      routes.push(route);
      const methods = spec.method === '*' ? '*' : new Set(Array.isArray(spec.method) ? spec.method : [spec.method]);
      const list = this.#byLength.get(segments.length) ?? [];
      list.push({ methods, segments, route });
      this.#byLength.set(segments.length, list);
    }
    this.routes = routes;
  }

  match(method: string, segments: readonly string[]): RouteMatch | undefined {
    const candidates = this.#byLength.get(segments.length);
    if (candidates === undefined) return undefined;
    outer: for (const candidate of candidates) {
      if (candidate.methods !== '*' && !candidate.methods.has(method)) continue;
      let params: Record<string, string> | undefined;
      for (let i = 0; i < segments.length; i++) {
        const want = candidate.segments[i]!;
        const got = segments[i]!;
        if ('literal' in want) {
          if (want.literal !== got) continue outer;
        } else {
          if (got.length === 0) continue outer;
          (params ??= {})[want.param] = got;
        }
      }
      return { route: candidate.route, params: params ?? {} };
    }
    return undefined;
  }
}
