import { createGunzip } from 'node:zlib';

import type { BundleLimits } from './bundle-limits.js';
import type { BundleRejection } from './bundle-rejections.js';
import { TarReader } from './tar-reader.js';

export type ArchiveResult =
  | { readonly ok: true; readonly entries: ReadonlyMap<string, Buffer> }
  | { readonly ok: false; readonly reason: BundleRejection; readonly detail: string };

/**
 * Inflates and unpacks an untrusted bundle in memory. The caps are enforced as the bytes come out of zlib, so
 * a small gzip that inflates to gigabytes (a zip bomb) stops at maxUncompressedBytes plus one zlib chunk.
 * Nothing here trusts the content: the caller still has to verify the signature.
 */
export function readBundleArchive(bytes: Uint8Array, limits: BundleLimits): Promise<ArchiveResult> {
  if (bytes.byteLength > limits.maxCompressedBytes) {
    return Promise.resolve({
      ok: false,
      reason: 'bundle_too_large',
      detail: `${bytes.byteLength} bytes compressed, more than ${limits.maxCompressedBytes}`,
    });
  }
  return new Promise((resolve) => {
    const tar = new TarReader(limits);
    const gunzip = createGunzip();
    let inflated = 0;
    let settled = false;
    const settle = (result: ArchiveResult) => {
      if (settled) return;
      settled = true;
      gunzip.destroy();
      resolve(result);
    };
    gunzip.on('data', (chunk: Buffer) => {
      if (settled) return;
      inflated += chunk.length;
      if (inflated > limits.maxUncompressedBytes) {
        settle({
          ok: false,
          reason: 'bundle_too_large',
          detail: `inflates to more than ${limits.maxUncompressedBytes} bytes`,
        });
        return;
      }
      const rejection = tar.push(chunk);
      if (rejection !== undefined) settle({ ok: false, ...rejection });
    });
    gunzip.on('error', (err: NodeJS.ErrnoException) => {
      // zlib's messages are fixed strings ("incorrect header check", "unexpected end of file"): safe to show.
      settle({ ok: false, reason: 'bundle_corrupt', detail: `not a valid gzip stream: ${err.message}` });
    });
    gunzip.on('end', () => {
      const rejection = tar.end();
      settle(rejection === undefined ? { ok: true, entries: tar.entries } : { ok: false, ...rejection });
    });
    gunzip.end(bytes);
  });
}
