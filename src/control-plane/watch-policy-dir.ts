import { type FSWatcher, watch } from 'node:fs';

import { contentVersion } from '../policy/compile-policy-model.js';
import { type PolicyFiles, readPolicyDir } from '../policy/policy-files.js';
import { readPolicyTests } from '../policy-test/read-policy-tests.js';
import type { Logger } from '../telemetry/create-logger.js';

export interface PolicyDirWatchOptions {
  /** Quiet time after the last fs event before the directory is read: editors write in several steps. */
  readonly debounceMs?: number;
  /** Period of the content-hash poll, the fallback for volumes where fs.watch misses events. */
  readonly pollMs?: number;
  /** Content version of the set already handled (published or rejected) at start. */
  readonly initialVersion?: string;
  readonly logger?: Logger;
}

/**
 * Calls `onChange` with the policy directory's files whenever their content changes, found by fs.watch
 * (debounced) or by a periodic content-hash poll. A content version is delivered once: a rejected set is
 * not retried until the files change again, but a handler that throws (an infrastructure failure, not a
 * verdict on the files) gets the same content again at the next poll. Returns the stop function.
 */
export function watchPolicyDir(
  dir: string,
  onChange: (files: PolicyFiles) => Promise<void>,
  options: PolicyDirWatchOptions = {},
): () => void {
  const logger = options.logger;
  let delivered = options.initialVersion;
  let running = false;
  let again = false;
  let stopped = false;

  const check = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        let files: PolicyFiles;
        try {
          files = await readPolicyDir(dir);
        } catch (err) {
          // Mid-rename or briefly missing: the next event or poll tries again.
          logger?.debug({ dir, err: (err as Error).message }, 'policy directory unreadable; will retry');
          continue;
        }
        // Test files count too: fixing only a test of a rejected set must lead to a new attempt.
        const version = `${contentVersion(files)}+${contentVersion(await readPolicyTests(dir).catch(() => new Map()))}`;
        if (version === delivered || stopped) continue;
        delivered = version;
        try {
          await onChange(files);
        } catch (err) {
          delivered = undefined;
          logger?.error(
            { err: (err as Error).message },
            'handling a policy directory change failed; retrying at the next poll',
          );
        }
      } while (again && !stopped);
    } finally {
      running = false;
    }
  };
  const trigger = () => {
    check().catch(() => {});
  };

  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => {
      clearTimeout(debounce);
      debounce = setTimeout(trigger, options.debounceMs ?? 150);
    });
    watcher.on('error', (err) =>
      logger?.warn({ dir, err: err.message }, 'policy directory watch failed; relying on polling'),
    );
  } catch (err) {
    logger?.warn(
      { dir, err: (err as Error).message },
      'fs.watch unavailable for the policy directory; relying on polling',
    );
  }
  const poll = setInterval(trigger, options.pollMs ?? 5_000).unref();
  return () => {
    stopped = true;
    watcher?.close();
    clearTimeout(debounce);
    clearInterval(poll);
  };
}
