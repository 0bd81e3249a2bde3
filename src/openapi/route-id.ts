import { createHash } from 'node:crypto';

// routes.yaml route ids are metric labels: [a-z0-9][a-z0-9._-]{0,62} (src/policy/routes-schema.ts).
const MAX = 63;

/**
 * The route id for an operation: its operationId in kebab case (`getPetById` -> get-pet-by-id,
 * `repos/get-content` -> repos.get-content), else the method and path (`GET /pets/{id}` -> get-pets-id).
 */
export function routeIdFor(operationId: string | undefined, method: string, path: string): string {
  const base =
    operationId !== undefined
      ? kebab(operationId.replace(/\//g, '.'))
      : kebab(`${method} ${path.replace(/[{}]/g, '')}`.replace(/\//g, ' ')) + (path === '/' ? '-root' : '');
  return fit(base === '' ? `${method.toLowerCase()}-route` : base);
}

/** `base`, or `base-2`, `base-3`, ... : the first that `taken` does not hold. */
export function uniqueRouteId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const candidate = `${base.slice(0, MAX - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}

function kebab(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^a-z0-9]+|[._-]+$/g, '');
}

// Over-long ids keep a readable start and a hash of the whole, so two long operationIds stay apart.
function fit(id: string): string {
  if (id.length <= MAX) return id;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
  return `${id.slice(0, MAX - 9).replace(/[._-]+$/, '')}-${hash}`;
}
