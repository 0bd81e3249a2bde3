import { MANIFEST_FILE, SIGNATURES_FILE } from '../bundle/bundle-format.js';
import { DEFAULT_BUNDLE_LIMITS } from '../bundle/bundle-limits.js';
import { readBundleArchive } from '../bundle/read-bundle-archive.js';
import type { PolicyFiles } from '../policy/policy-files.js';

export type PolicyUploadResult =
  | { readonly ok: true; readonly files: PolicyFiles }
  | { readonly ok: false; readonly tooLarge: boolean; readonly detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The policy files of an uploaded, unsigned gzip tar (POST /v1/bundles/{name}/publish). It is read in
 * memory with the bundle reader, so the same caps and entry rules apply as to a bundle: flat regular files
 * with policy-file names only, no links or directories, nothing ever written to disk from it.
 */
export async function readPolicyUpload(bytes: Uint8Array): Promise<PolicyUploadResult> {
  const archive = await readBundleArchive(bytes, DEFAULT_BUNDLE_LIMITS);
  if (!archive.ok) return { ok: false, tooLarge: archive.reason === 'bundle_too_large', detail: archive.detail };
  const files = new Map<string, string>();
  for (const [name, data] of archive.entries) {
    if (name === MANIFEST_FILE || name === SIGNATURES_FILE) {
      return { ok: false, tooLarge: false, detail: `${name}: upload the policy files themselves, not a built bundle` };
    }
    try {
      files.set(name, utf8.decode(data));
    } catch {
      return { ok: false, tooLarge: false, detail: `${name}: not valid UTF-8` };
    }
  }
  if (files.size === 0) return { ok: false, tooLarge: false, detail: 'the archive holds no policy files' };
  return { ok: true, files };
}
