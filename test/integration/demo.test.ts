// `npm start` (authzd demo) prints commands a newcomer can paste; they must work and say what they promise.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect, it } from 'vitest';

import { freePorts } from '../helpers/free-port.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

it('the demo prints working check commands whose results match their comments', async () => {
  const [grpcPort, adminPort] = await freePorts(2);
  const child = spawn(
    process.execPath,
    ['dist/cli/main.js', 'demo', '--grpc-addr', `127.0.0.1:${grpcPort}`, '--admin-addr', `127.0.0.1:${adminPort}`],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not print its commands: ${out}`)), 20_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Ctrl-C stops the demo.')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  try {
    const lines = out.split('\n');
    const checks: { expect: string; command: string }[] = [];
    lines.forEach((line, i) => {
      const m = /-> expect (ALLOW|DENY( \d+ [a-z_]+)?)/.exec(line);
      if (m && lines[i + 1]?.startsWith('node ')) checks.push({ expect: m[1], command: lines[i + 1] });
    });
    expect(checks.length).toBeGreaterThanOrEqual(10);
    for (const check of checks) {
      const args = check.command.split(' ').slice(1);
      const { stdout } = await new Promise<{ stdout: string }>((resolve) =>
        execFile(process.execPath, args, { cwd: ROOT }, (_e, stdout) => resolve({ stdout })),
      );
      if (check.expect === 'ALLOW') expect(stdout, check.command).toMatch(/^ALLOW/);
      else {
        const [, status, reason] = check.expect.split(' ');
        expect(stdout, check.command).toMatch(new RegExp(`^DENY +${status} +reason=${reason}`));
      }
    }
  } finally {
    child.kill('SIGINT');
  }
}, 120_000);
