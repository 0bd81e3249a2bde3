import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { removeStaleSocket } from '../../../src/server/remove-stale-socket.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-sock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A socket file whose process is gone, as a crashed container leaves it on the pod's emptyDir. */
function leaveStaleSocket(file: string): void {
  execFileSync(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(file)}, () => process.exit(0))`,
  ]);
}

describe('removeStaleSocket', () => {
  it('removes a socket nobody listens on, so a restarted sidecar can bind again', async () => {
    const file = path.join(dir, 'authzd.sock');
    leaveStaleSocket(file);
    expect(existsSync(file)).toBe(true);
    const server = createServer();
    await expect(
      new Promise((resolve, reject) => server.once('error', reject).listen(file, () => resolve(null))),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });

    await removeStaleSocket(`unix://${file}`);

    expect(existsSync(file)).toBe(false);
    await new Promise<void>((resolve) => server.listen(file, resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('leaves a live socket alone', async () => {
    const file = path.join(dir, 'live.sock');
    const live: Server = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => live.listen(file, resolve));
    try {
      await removeStaleSocket(`unix://${file}`);
      expect(existsSync(file)).toBe(true);
    } finally {
      await new Promise<void>((resolve) => live.close(() => resolve()));
    }
  });

  it('leaves a regular file and TCP addresses alone', async () => {
    const file = path.join(dir, 'not-a-socket');
    writeFileSync(file, 'data');
    await removeStaleSocket(`unix://${file}`);
    await removeStaleSocket('127.0.0.1:9191');
    expect(existsSync(file)).toBe(true);
  });
});
