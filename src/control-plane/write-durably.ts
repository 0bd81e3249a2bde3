import { randomUUID } from 'node:crypto';
import { link, open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { makeDir } from '../util/make-dir.js';

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
 * Deletes files in a temporary directory older than `maxAgeMs`: leftovers of a process that died between
 * writing and linking. Younger files may belong to another replica's write in progress and are kept.
 */
export async function removeStaleFiles(dir: string, maxAgeMs: number, nowMs: number): Promise<void> {
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
