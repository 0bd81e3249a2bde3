import { createHash } from 'node:crypto';

import { buildBundle, BundleBuildError } from '../bundle/build-bundle.js';
import type { BundleAlgorithm } from '../bundle/bundle-format.js';
import type { BundleKey } from '../bundle/key-algorithm.js';
import { type TrustedKey, verifyBundle } from '../bundle/verify-bundle.js';
import type { PolicyFiles } from '../policy/policy-files.js';
import type { Logger } from '../telemetry/create-logger.js';
import type { BundleRepository } from './store/bundle-repository.js';
import type { PolicyRejection } from './validate-policy-files.js';

/** A signed bundle the control plane serves, with what the API and the decision endpoint need from it. */
export interface PublishedBundle {
  readonly revision: number;
  /** Lowercase hex SHA-256 of `bytes`. */
  readonly digest: string;
  /** `<revision>-<first 16 hex of digest>`: the ETag's value and the policy version of /v1/authorize. */
  readonly version: string;
  /** The quoted HTTP entity tag. */
  readonly etag: string;
  readonly created: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly bytes: Uint8Array;
  readonly files: PolicyFiles;
  /** Policy file name -> hex SHA-256 of its content (the manifest excluded): what "unchanged" compares. */
  readonly fileHashes: ReadonlyMap<string, string>;
}

export interface RevisionInfo {
  readonly revision: number;
  readonly digest: string;
  readonly etag: string;
  readonly created: string;
  readonly size: number;
  readonly current: boolean;
  readonly metadata: Readonly<Record<string, string>>;
}

export type PublishOutcome =
  | { readonly result: 'published' | 'unchanged'; readonly bundle: PublishedBundle }
  | ({ readonly result: 'rejected' } & PolicyRejection);

export interface BundlePublisherOptions {
  readonly repository: BundleRepository;
  readonly scope: string;
  readonly signingKey: BundleKey;
  readonly alg: BundleAlgorithm;
  readonly kid: string;
  /** The public half of the signing key: every bundle read back from the store is verified with it. */
  readonly trustedKey: TrustedKey;
  /** Bundles kept in the store, the current one included. */
  readonly history: number;
  /** The publication gate: why a policy set must not ship, undefined when it may. */
  readonly validate: (files: PolicyFiles) => Promise<PolicyRejection | undefined>;
  readonly logger?: Logger;
  /** Epoch milliseconds; revisions are at least the current Unix time in seconds (see nextRevision). */
  readonly now?: () => number;
  /** No revision below this is published (`--min-revision`: a floor for a clock that was once ahead). */
  readonly minRevision?: number;
}

const MAX_PUBLISH_ATTEMPTS = 20;

/**
 * Turns policy sets into signed, numbered bundles and keeps track of the one being served. Publications
 * are serialized; each one validates the set, skips it when its files equal the current bundle's, signs
 * it as the next revision (see nextRevision), and stores it and moves the pointer in one step of the store
 * (`commit`), which refuses a number another replica took. Bundles read back from the store (at start, or
 * published by another replica) are verified with the signing key's public half before they are served.
 */
export class BundlePublisher {
  readonly #options: BundlePublisherOptions;
  readonly #listeners = new Set<(bundle: PublishedBundle) => void>();
  readonly #infos = new Map<number, RevisionInfo>();
  #current: PublishedBundle | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: BundlePublisherOptions) {
    this.#options = options;
  }

  /** Loads the recorded current bundle, if there is a usable one. */
  static async open(options: BundlePublisherOptions): Promise<BundlePublisher> {
    const publisher = new BundlePublisher(options);
    await publisher.sync();
    return publisher;
  }

  get current(): PublishedBundle | undefined {
    return this.#current;
  }

  /** Called after the served bundle changed (published here, or adopted from another replica). */
  onChange(listener: (bundle: PublishedBundle) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Validates, signs and stores `files` as the next revision. Throws only on infrastructure failures. */
  publish(files: PolicyFiles, metadata: Record<string, string> = {}): Promise<PublishOutcome> {
    return this.#exclusive(async () => {
      const rejection = await this.#options.validate(files);
      if (rejection !== undefined) return { result: 'rejected', ...rejection };
      const hashes = fileHashes(files);
      for (let attempt = 0; attempt < MAX_PUBLISH_ATTEMPTS; attempt++) {
        await this.#syncLocked();
        const current = this.#current;
        if (current !== undefined && sameHashes(current.fileHashes, hashes))
          return { result: 'unchanged', bundle: current };
        const revision = nextRevision(
          (await this.#options.repository.revisions())[0] ?? 0,
          current?.revision ?? 0,
          (this.#options.now ?? Date.now)(),
          this.#options.minRevision ?? 0,
        );
        let bytes: Uint8Array;
        try {
          bytes = await buildBundle(files, { ...this.#signing(), revision, scope: this.#options.scope, metadata });
        } catch (err) {
          // Names or text a bundle cannot carry: a verdict on the files, like a validation problem.
          if (err instanceof BundleBuildError)
            return { result: 'rejected', reason: 'bundle_unbuildable', problems: [...err.problems] };
          throw err;
        }
        const bundle = await this.#verify(bytes, revision);
        // `taken`: another replica took the number; `overtaken`: it moved the pointer beyond this revision.
        // Either way, start over from what the store holds now.
        if ((await this.#options.repository.commit(revision, bytes, bundle.digest)) !== 'committed') continue;
        this.#serve(bundle);
        await this.#prune();
        return { result: 'published', bundle };
      }
      throw new Error(`could not allocate a bundle revision after ${MAX_PUBLISH_ATTEMPTS} attempts`);
    });
  }

  /**
   * Adopts the bundle the store's pointer names when it is newer than the one served (another replica
   * published it). Never goes back to an older revision. Returns whether the served bundle changed.
   */
  sync(): Promise<boolean> {
    return this.#exclusive(() => this.#syncLocked());
  }

  /** Bundles in the store, newest first, each verified once. Those that do not verify are left out (and logged). */
  revisions(): Promise<RevisionInfo[]> {
    return this.#exclusive(async () => {
      const out: RevisionInfo[] = [];
      const onDisk = await this.#options.repository.revisions();
      for (const revision of [...this.#infos.keys()]) if (!onDisk.includes(revision)) this.#infos.delete(revision);
      for (const revision of onDisk) {
        let info = this.#infos.get(revision);
        if (info === undefined) {
          try {
            info = infoOf(await this.#verify(await this.#options.repository.read(revision), revision), false);
            this.#infos.set(revision, info);
          } catch (err) {
            this.#options.logger?.warn(
              { revision, err: (err as Error).message },
              'stored bundle left out of the history',
            );
            continue;
          }
        }
        out.push({ ...info, current: revision === this.#current?.revision });
      }
      return out;
    });
  }

  async #syncLocked(): Promise<boolean> {
    const logger = this.#options.logger;
    let pointer;
    try {
      pointer = await this.#options.repository.readPointer();
    } catch (err) {
      logger?.error({ err: (err as Error).message }, 'bundle pointer unreadable; keeping the served bundle');
      return false;
    }
    if (pointer === undefined || pointer.revision <= (this.#current?.revision ?? 0)) return false;
    try {
      const bundle = await this.#verify(await this.#options.repository.read(pointer.revision), pointer.revision);
      if (bundle.digest !== pointer.digest)
        throw new Error(`digest ${bundle.digest} differs from the recorded ${pointer.digest}`);
      this.#serve(bundle);
      logger?.info({ revision: bundle.revision, digest: bundle.digest }, 'serving the recorded bundle');
      return true;
    } catch (err) {
      logger?.error(
        { revision: pointer.revision, err: (err as Error).message },
        'recorded bundle unusable; it is not served',
      );
      return false;
    }
  }

  async #verify(bytes: Uint8Array, revision: number): Promise<PublishedBundle> {
    const verified = await verifyBundle(bytes, { keys: [this.#options.trustedKey], scope: this.#options.scope });
    if (!verified.ok) throw new Error(`bundle ${revision} does not verify: ${verified.reason}: ${verified.detail}`);
    const b = verified.bundle;
    if (b.revision !== revision) throw new Error(`stored bundle ${revision} holds revision ${b.revision}`);
    const version = `${b.revision}-${b.digest.slice(0, 16)}`;
    return {
      revision: b.revision,
      digest: b.digest,
      version,
      etag: `"${version}"`,
      created: b.created,
      metadata: b.metadata,
      bytes,
      files: b.files,
      fileHashes: fileHashes(b.files),
    };
  }

  #serve(bundle: PublishedBundle): void {
    this.#current = bundle;
    this.#infos.set(bundle.revision, infoOf(bundle, true));
    for (const listener of this.#listeners) listener(bundle);
  }

  async #prune(): Promise<void> {
    const removed = await this.#options.repository.prune(this.#options.history, this.#current?.revision ?? 0);
    for (const revision of removed) this.#infos.delete(revision);
  }

  #signing() {
    const { signingKey, kid, alg } = this.#options;
    return { signingKey, kid, alg };
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }
}

/**
 * The revision of the next publication: above every revision stored and the one served, and at least the
 * current Unix time in seconds (and `minRevision`). Counting alone restarts at 1 when the store is lost, and
 * every sidecar then refuses the new bundles as rollbacks below the revision it holds; the clock carries
 * the order across a lost store. Replicas sharing a store still never reuse a number (the store's commit
 * refuses a taken one), and a replica whose clock is behind another's continues from the highest revision
 * stored, so revisions only grow whatever the skew. Publications faster than one a second run ahead of the clock by
 * one per publication; the clock catches up.
 */
export function nextRevision(highestOnDisk: number, served: number, nowMs: number, minRevision: number): number {
  return Math.max(highestOnDisk + 1, served + 1, Math.floor(nowMs / 1000), minRevision);
}

function infoOf(bundle: PublishedBundle, current: boolean): RevisionInfo {
  return {
    revision: bundle.revision,
    digest: bundle.digest,
    etag: bundle.etag,
    created: bundle.created,
    size: bundle.bytes.byteLength,
    current,
    metadata: bundle.metadata,
  };
}

function fileHashes(files: PolicyFiles): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, text] of files) out.set(name, createHash('sha256').update(text, 'utf8').digest('hex'));
  return out;
}

function sameHashes(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, hash] of a) if (b.get(name) !== hash) return false;
  return true;
}
