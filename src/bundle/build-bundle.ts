// Building a signed bundle from a policy set. Pure: no Cedar validation here (callers validate first: the CLI
// runs compilePolicyModel, the control plane its own pipeline), no file system, no clock unless `created` is
// left out. The same files, options and `created` give the same archive; with EdDSA (deterministic signatures,
// RFC 8032) the same bytes, with ES256 the same bytes but for the randomized signature value.
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';

import { CompactSign } from 'jose';

import { isPolicyFile, type PolicyFiles } from '../policy/policy-files.js';
import {
  BUNDLE_ALGORITHMS,
  BUNDLE_JWS_TYPE,
  type BundleAlgorithm,
  entryNameProblem,
  KID_PATTERN,
  type Manifest,
  MANIFEST_FILE,
  metadataProblem,
  MODEL_VERSION,
  SCOPE_PATTERN,
  SIGNATURES_FILE,
  type SignedPayload,
} from './bundle-format.js';
import { type BundleKey, keyAlgorithm } from './key-algorithm.js';
import { writeTar } from './write-tar.js';

export interface BuildBundleOptions {
  signingKey: BundleKey;
  kid: string;
  alg: BundleAlgorithm;
  /** Positive safe integer; verifiers refuse revisions older than the active one. */
  revision: number;
  scope: string;
  metadata?: Record<string, string>;
  /** Defaults to now; pass it for a reproducible build. */
  created?: Date;
}

/** The inputs of buildBundle are wrong: every problem, listed. */
export class BundleBuildError extends Error {
  override readonly name = 'BundleBuildError';
  constructor(readonly problems: readonly string[]) {
    super(`cannot build the bundle:\n  - ${problems.join('\n  - ')}`);
  }
}

const gzipAsync = promisify(gzip);

export async function buildBundle(files: PolicyFiles, options: BuildBundleOptions): Promise<Uint8Array> {
  const created = options.created ?? new Date();
  const problems = checkInputs(files, options, created);
  if (problems.length > 0) throw new BundleBuildError(problems);

  const manifest: Manifest = {
    revision: options.revision,
    created: created.toISOString(),
    modelVersion: MODEL_VERSION,
    scope: options.scope,
    ...(options.metadata !== undefined ? { metadata: sortedRecord(options.metadata) } : {}),
  };
  const signedEntries: [string, Buffer][] = [
    [MANIFEST_FILE, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)],
    ...[...files.keys()]
      .sort(byCodeUnit)
      .map((name): [string, Buffer] => [name, Buffer.from(files.get(name)!, 'utf8')]),
  ];
  const payload: SignedPayload = {
    files: signedEntries.map(([name, data]) => ({
      name,
      hash: createHash('sha256').update(data).digest('hex'),
      algorithm: 'SHA-256',
    })),
    scope: options.scope,
    revision: options.revision,
  };
  const jws = await new CompactSign(Buffer.from(JSON.stringify(payload)))
    .setProtectedHeader({ alg: options.alg, kid: options.kid, typ: BUNDLE_JWS_TYPE })
    .sign(options.signingKey);
  const signatures = Buffer.from(`${JSON.stringify({ signatures: [jws] }, null, 2)}\n`);

  // .signatures.json first, as in OPA bundles, so a reader meets the signature before the files it covers.
  const tar = writeTar([[SIGNATURES_FILE, signatures], ...signedEntries]);
  // zlib writes mtime 0 and no file name into the gzip header, so the output depends on the input alone.
  return new Uint8Array(await gzipAsync(tar, { level: constants.Z_BEST_COMPRESSION }));
}

function checkInputs(files: PolicyFiles, options: BuildBundleOptions, created: Date): string[] {
  const problems: string[] = [];
  if (files.size === 0) problems.push('no policy files');
  for (const [name, text] of files) {
    const problem = isPolicyFile(name)
      ? entryNameProblem(name)
      : 'is not a policy file (*.cedar, schema.cedarschema, entities.json, routes.yaml)';
    if (problem !== undefined) problems.push(`${JSON.stringify(name)} ${problem}`);
    else if (Buffer.byteLength(name) > 100)
      problems.push(`${JSON.stringify(name)}: names are limited to 100 bytes (ustar)`);
    // A lone surrogate would silently become U+FFFD: the bundle would not carry the text it was given.
    if (Buffer.from(text, 'utf8').toString('utf8') !== text)
      problems.push(`${JSON.stringify(name)}: the text is not well-formed Unicode`);
  }
  if (!Number.isSafeInteger(options.revision) || options.revision <= 0)
    problems.push(`revision ${options.revision} must be a positive safe integer`);
  if (!SCOPE_PATTERN.test(options.scope))
    problems.push(`scope ${JSON.stringify(options.scope)} must be 1-256 printable ASCII characters without spaces`);
  if (!KID_PATTERN.test(options.kid))
    problems.push(`kid ${JSON.stringify(options.kid)} must be 1-256 printable ASCII characters without spaces`);
  if (!BUNDLE_ALGORITHMS.includes(options.alg))
    problems.push(`alg ${JSON.stringify(options.alg)} must be ES256 or EdDSA`);
  else if (keyAlgorithm(options.signingKey) !== options.alg)
    problems.push(
      `the signing key is not ${options.alg === 'ES256' ? 'a P-256' : 'an Ed25519'} key (alg ${options.alg})`,
    );
  else if (options.signingKey.type !== 'private')
    problems.push(`the signing key must be a private key, got a ${options.signingKey.type} key`);
  if (options.metadata !== undefined) {
    const problem = metadataProblem(options.metadata);
    if (problem !== undefined) problems.push(problem);
  }
  if (Number.isNaN(created.getTime())) problems.push('created is not a valid date');
  else if (!/^\d{4}-/.test(created.toISOString())) problems.push('created must fall in the years 0000-9999 (RFC 3339)');
  return problems;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => byCodeUnit(a, b)));
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
