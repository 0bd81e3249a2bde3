import { randomUUID } from 'node:crypto';
import { link, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

import { makeDir } from './make-dir.js';

/**
 * Creates `file` (refusing to replace one) with `data` and fsyncs it before returning, so that a file
 * linked or renamed into place afterwards survives a crash of the machine with its content.
 */
export async function writeDurably(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` with `data` so that a crash at any moment leaves either the old content or the new, whole:
 * the data goes to a temporary file beside it (same directory, so the same filesystem), which is fsynced,
 * renamed over `file` (atomic, POSIX rename(2)), and then the directory is fsynced so the rename itself
 * survives a power loss. The one helper for local state that must not be torn (the sidecar's bundle cache,
 * revocation list and key sets); the control plane's shared files use writeDurably plus link(2) instead.
 */
export async function replaceDurably(
  file: string,
  data: Uint8Array | string,
  mode: number | 'keep' = 0o600,
): Promise<void> {
  // Hidden and ending in .tmp: no reader of the directory (a policy watcher, say) takes it for one of its files.
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${randomUUID()}.tmp`);
  // 'keep': a file a person edits too (routes.yaml) keeps its permissions; a new one is 0644.
  if (mode === 'keep')
    mode = await stat(file).then(
      (s) => s.mode & 0o777,
      () => 0o644,
    );
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDirectory(path.dirname(file));
}

/** fsync(2) on a directory, so entries created or renamed in it are on disk. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some filesystems refuse fsync on a directory (EINVAL); the rename is then as durable as they make it.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Deletes files in a temporary directory older than `maxAgeMs`: leftovers of a process that died between
 * writing and linking. Younger files may belong to another replica's write in progress and are kept. Ages
 * are the file system's: modification times against the wall clock, never an injected clock (which would
 * make another replica's write in progress look stale).
 */
export async function removeStaleFiles(dir: string, maxAgeMs: number): Promise<void> {
  const nowMs = Date.now();
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    try {
      if ((await stat(file)).mtimeMs < nowMs - maxAgeMs) await unlink(file);
    } catch {
      // Removed meanwhile by its owner.
    }
  }
}

/**
 * Checks that `tmpDir` can be created and written, and that it supports hard links: replicas claim
 * sequence numbers and revisions by linking a file into place, which fails on volumes without links.
 */
export async function probeLinkableDir(tmpDir: string): Promise<void> {
  await makeDir(tmpDir);
  const probe = path.join(tmpDir, `probe-${process.pid}-${randomUUID()}`);
  await writeDurably(probe, new Uint8Array());
  try {
    await link(probe, `${probe}.link`);
    await unlink(`${probe}.link`);
  } finally {
    await unlink(probe);
  }
}
