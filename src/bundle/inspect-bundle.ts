// What a bundle says about itself, for `authzd bundle inspect`: nothing here is verified. The archive is still
// read under the same limits and entry rules as verification, so inspecting a hostile bundle is safe.
import { createHash } from 'node:crypto';

import { base64url, decodeProtectedHeader } from 'jose';

import {
  MANIFEST_FILE,
  ManifestSchema,
  SIGNATURES_FILE,
  SignaturesFileSchema,
  SignedPayloadSchema,
} from './bundle-format.js';
import { type BundleLimits, resolveLimits } from './bundle-limits.js';
import type { BundleRejection } from './bundle-rejections.js';
import { readBundleArchive } from './read-bundle-archive.js';

export interface BundleInspection {
  /** The parsed .manifest, or undefined with manifestProblem saying why. */
  readonly manifest: unknown;
  readonly manifestProblem?: string;
  /** What the (unverified) signature claims; problem says why parts are missing. */
  readonly signature: {
    readonly count: number;
    readonly header?: Readonly<Record<string, unknown>>;
    readonly scope?: string;
    readonly revision?: number;
    readonly problem?: string;
  };
  /** Every entry but .signatures.json, in archive order, with the hash the signature lists for it. */
  readonly files: readonly { name: string; size: number; sha256: string; signedSha256: string | undefined }[];
  /** Names the signature lists that the archive lacks. */
  readonly missing: readonly string[];
  readonly digest: string;
}

export type InspectResult =
  { ok: true; inspection: BundleInspection } | { ok: false; reason: BundleRejection; detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function inspectBundle(bytes: Uint8Array, limits: Partial<BundleLimits> = {}): Promise<InspectResult> {
  const archive = await readBundleArchive(bytes, resolveLimits(limits));
  if (!archive.ok) return archive;
  const { entries } = archive;

  const signature = readSignature(entries.get(SIGNATURES_FILE));
  const signed = new Map(signature.files.map((f) => [f.name, f.hash]));
  const files = [...entries]
    .filter(([name]) => name !== SIGNATURES_FILE)
    .map(([name, data]) => ({
      name,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      signedSha256: signed.get(name),
    }));

  let manifest: unknown;
  let manifestProblem: string | undefined;
  const manifestBytes = entries.get(MANIFEST_FILE);
  if (manifestBytes === undefined) manifestProblem = '.manifest is missing';
  else {
    manifest = parseJson(manifestBytes);
    const parsed = ManifestSchema.safeParse(manifest);
    if (manifest === undefined) manifestProblem = '.manifest is not JSON';
    else if (!parsed.success)
      manifestProblem = `.manifest: ${parsed.error.issues[0]!.path.join('.') || '(top level)'}: ${parsed.error.issues[0]!.message}`;
  }

  return {
    ok: true,
    inspection: {
      manifest,
      ...(manifestProblem !== undefined ? { manifestProblem } : {}),
      signature: signature.summary,
      files,
      missing: [...signed.keys()].filter((name) => !entries.has(name)),
      digest: createHash('sha256').update(bytes).digest('hex'),
    },
  };
}

function readSignature(file: Buffer | undefined): {
  summary: BundleInspection['signature'];
  files: { name: string; hash: string }[];
} {
  if (file === undefined)
    return { summary: { count: 0, problem: '.signatures.json is missing: the bundle is unsigned' }, files: [] };
  const parsed = SignaturesFileSchema.safeParse(parseJson(file));
  if (!parsed.success) return { summary: { count: 0, problem: '.signatures.json is malformed' }, files: [] };
  const { signatures } = parsed.data;
  if (signatures.length === 0)
    return { summary: { count: 0, problem: '.signatures.json lists no signature' }, files: [] };
  const jws = signatures[0]!;
  const count = signatures.length;
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    return { summary: { count, problem: 'the JWS header cannot be decoded' }, files: [] };
  }
  const payload = SignedPayloadSchema.safeParse(decodePayload(jws));
  if (!payload.success)
    return { summary: { count, header, problem: 'the JWS payload is not a bundle file list' }, files: [] };
  const { scope, revision, files } = payload.data;
  return {
    summary: {
      count,
      header,
      scope,
      revision,
      ...(count > 1 ? { problem: `${count} signatures; verification accepts exactly one` } : {}),
    },
    files,
  };
}

function decodePayload(jws: string): unknown {
  const part = jws.split('.')[1];
  if (part === undefined) return undefined;
  try {
    return parseJson(base64url.decode(part));
  } catch {
    return undefined;
  }
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}
