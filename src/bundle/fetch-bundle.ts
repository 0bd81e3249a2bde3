import { FetchError, get, type PollOptions, readLimited } from '../util/http-get.js';

export type BundleFetch =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'updated'; readonly bytes: Uint8Array; readonly etag: string | undefined };

/**
 * One conditional GET of a bundle: If-None-Match with the ETag held, and `?wait=` so a control plane can
 * hold the request until a new revision exists. Any HTTP server works: one that ignores `wait` simply
 * answers at once, and the follower then polls at its interval instead.
 */
export async function fetchBundle(url: string, etag: string | undefined, options: PollOptions): Promise<BundleFetch> {
  const target = new URL(url);
  if (etag !== undefined && options.waitSeconds > 0) target.searchParams.set('wait', String(options.waitSeconds));
  const headers: Record<string, string> = { accept: 'application/gzip, application/octet-stream' };
  if (etag !== undefined) headers['if-none-match'] = etag;
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await get(target, headers, options);
  if (response.status === 304) {
    await response.body?.cancel();
    return { kind: 'unchanged' };
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new FetchError('http_status', `GET ${target.origin}${target.pathname}: HTTP ${response.status}`);
  }
  const bytes = await readLimited(response, options.maxBytes);
  return { kind: 'updated', bytes, etag: response.headers.get('etag') ?? undefined };
}
