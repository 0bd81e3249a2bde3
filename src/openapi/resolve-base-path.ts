import type { ServerObject } from './list-operations.js';

export type BasePathResult =
  { readonly ok: true; readonly basePath: string } | { readonly ok: false; readonly reason: string };

/**
 * The path prefix clients put before the document's paths: the path of the server URL (OpenAPI appends
 * each path to it), with server variables at their defaults. Envoy hands authzd the path as the client
 * sent it, prefix included, so routes carry it. Servers that disagree leave the choice to --base-path.
 */
export function resolveBasePath(servers: readonly ServerObject[] | undefined): BasePathResult {
  // No servers: OpenAPI's default is a single server with the URL "/".
  const list = servers ?? [{ url: '/' }];
  const paths = new Set<string>();
  for (const server of list) {
    const url = server.url.replace(/\{([^{}]+)\}/g, (whole, name: string) => {
      const value = server.variables?.[name]?.default;
      return typeof value === 'string' ? value : whole;
    });
    let pathname: string;
    try {
      pathname = new URL(url, 'http://server.invalid').pathname;
    } catch {
      return { ok: false, reason: `server URL ${JSON.stringify(server.url)} is not a URL` };
    }
    if (/%7B|%7D/i.test(pathname)) {
      return {
        ok: false,
        reason: `server URL ${JSON.stringify(server.url)} has a variable without a default in its path; choose a base path with --base-path`,
      };
    }
    paths.add(normalizeBasePath(pathname));
  }
  if (paths.size === 1) return { ok: true, basePath: [...paths][0]! };
  const shown = [...paths].map((p) => (p === '' ? '/' : p)).join(', ');
  return { ok: false, reason: `its servers have different base paths (${shown}); choose one with --base-path` };
}

/** `/api/v3/` -> `/api/v3`; `/` and `` -> `` (no prefix). */
export function normalizeBasePath(value: string): string {
  const trimmed = value.replace(/\/+$/, '');
  return trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}
