import { type FSWatcher, watch } from 'node:fs';
import path from 'node:path';

import { ConfigError } from '../../../config/config-error.js';
import type { Logger } from '../../../telemetry/create-logger.js';
import type { ControlPlaneStore, StoreOptions } from '../control-plane-store.js';
import { StoreChanges, type StoreTopic } from '../store-changes.js';
import { DirectoryBundleRepository, POINTER_FILE } from './directory-bundle-repository.js';
import { DirectoryDecisionLog } from './directory-decision-log.js';
import { DirectoryRevocationLog } from './directory-revocation-log.js';

const STORE_ERRORS = new Set(['BundleRepositoryError', 'RevocationStoreError', 'DecisionLogStoreError']);

/**
 * The embedded store: `--data` on a local (or shared) filesystem, nothing to install. Replicas sharing the
 * directory claim revisions and sequence numbers with link(2) and notice each other's writes through
 * fs.watch plus a periodic re-read (fs.watch misses events on NFS and some container mounts).
 */
export class DirectoryStore implements ControlPlaneStore {
  readonly kind = 'directory';
  readonly description: string;
  readonly changes = new StoreChanges();
  readonly healthy = true;
  readonly #stops: (() => void)[] = [];
  readonly #options: StoreOptions;

  private constructor(
    dir: string,
    options: StoreOptions,
    readonly bundles: DirectoryBundleRepository,
    readonly revocations: DirectoryRevocationLog,
    readonly decisions: DirectoryDecisionLog,
  ) {
    this.description = dir;
    this.#options = options;
  }

  /** Opens the three parts; a part that cannot be used is reported with every other problem in one ConfigError. */
  static async open(dir: string, options: StoreOptions): Promise<DirectoryStore> {
    const problems: string[] = [];
    const keep = (err: unknown): undefined => {
      if (!(err instanceof Error && STORE_ERRORS.has(err.name))) throw err;
      problems.push(err.message);
      return undefined;
    };
    const bundles = await DirectoryBundleRepository.open(path.join(dir, 'bundles', options.bundleName)).catch(keep);
    const revocations = await DirectoryRevocationLog.open({
      dir: path.join(dir, 'revocations'),
      now: options.now,
      graceSeconds: options.revocationGraceSeconds,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    }).catch(keep);
    const decisions = await DirectoryDecisionLog.open({
      dir: path.join(dir, 'decisions'),
      retentionDays: options.decisionRetentionDays,
      now: options.now,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    }).catch(keep);
    if (bundles === undefined || revocations === undefined || decisions === undefined) throw new ConfigError(problems);
    await bundles.removeStaleTmp();
    return new DirectoryStore(dir, options, bundles, revocations, decisions);
  }

  onHealthChange(): () => void {
    // A directory that is there at start stays there; its failures surface as failed requests.
    return () => {};
  }

  follow(): void {
    const logger = this.#options.logger;
    this.#watch(this.bundles.dir, 'bundle', (name) => name === null || name === POINTER_FILE, logger);
    this.#watch(this.revocations.entriesDir, 'revocations', () => true, logger);
    const poll = setInterval(() => this.changes.emit('bundle'), this.#options.pollMs).unref();
    const rescan = setInterval(() => this.changes.emit('revocations'), this.#options.revocationRescanMs).unref();
    this.#stops.push(
      () => clearInterval(poll),
      () => clearInterval(rescan),
    );
  }

  async close(): Promise<void> {
    for (const stop of this.#stops.splice(0)) stop();
  }

  #watch(dir: string, topic: StoreTopic, relevant: (name: string | null) => boolean, logger?: Logger): void {
    let debounce: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(dir, (_event, name) => {
        if (!relevant(name)) return;
        clearTimeout(debounce);
        debounce = setTimeout(() => this.changes.emit(topic), 20);
      });
      watcher.on('error', (err) =>
        logger?.warn({ err: err.message, topic }, 'fs.watch failed; relying on the periodic re-read'),
      );
    } catch (err) {
      logger?.warn({ err: (err as Error).message, topic }, 'fs.watch unavailable; relying on the periodic re-read');
    }
    this.#stops.push(() => {
      watcher?.close();
      clearTimeout(debounce);
    });
  }
}
