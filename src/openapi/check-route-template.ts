import { normalizePath } from '../check/normalize-path.js';
import { RouteTable, RouteTableError } from '../policy/route-table.js';
import type { TemplateSegment } from './parse-path-template.js';

/**
 * Confirms with authzd's own router and path normaliser that a request for the template reaches a route
 * with that template and hands it the parameter values: the route table accepts the template and resource
 * id, and a request built from the template (each literal percent-encoded as a client would send it, each
 * parameter a distinct value) is normalised and matched to it with those values. Returns the reason when
 * not, so that parsePathTemplate's reading can never promise a route the sidecar would not serve.
 */
export function checkRouteTemplate(
  method: string,
  segments: readonly TemplateSegment[],
  path: string,
  resourceId: string,
): string | undefined {
  let table: RouteTable;
  try {
    table = new RouteTable(
      [
        {
          id: 'probe',
          method,
          path,
          action: 'probe',
          resource: { type: 'Probe', id: resourceId },
          risk: 'medium',
          allowWorkloads: false,
        },
      ],
      (t) => t,
    );
  } catch (err) {
    if (err instanceof RouteTableError) return err.message.replace(/^route probe: /, '');
    throw err;
  }
  const values = new Map<string, string>();
  const sample = segments.map((s, i) => {
    if ('literal' in s) return encodeURIComponent(s.literal);
    const value = `v${i}`;
    values.set(s.param, value);
    return value;
  });
  const normalized = normalizePath(`/${sample.join('/')}`);
  if (!normalized.ok) return `a request for it is refused by authzd's path normalisation (${normalized.detail})`;
  const match = table.match(method, normalized.value.segments);
  if (match === undefined) return 'a request for it would not match it after authzd normalises the path';
  for (const [name, value] of values) {
    if (match.params[name] !== value) return `parameter {${name}} would not receive the request's value`;
  }
  return undefined;
}
