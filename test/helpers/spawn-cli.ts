import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface RunningCli<T> {
  readonly child: ChildProcess;
  /** What `ready` extracted from the log line that announced readiness. */
  readonly info: T;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs the built CLI and resolves once `ready` recognises a JSON log line on stderr (which is how the
 * tests learn ephemeral ports); rejects if the process exits first or nothing is recognised in time.
 */
export function spawnCli<T>(
  args: string[],
  ready: (line: Record<string, unknown>) => T | undefined,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunningCli<T>> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args[0]} did not become ready:\n${err}`)),
      options.timeoutMs ?? 30_000,
    );
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      for (const line of err.split('\n')) {
        if (!line.startsWith('{')) continue;
        const info = ready(JSON.parse(line) as Record<string, unknown>);
        if (info === undefined) continue;
        clearTimeout(timer);
        resolve({
          child,
          info,
          stderr: () => err,
          exit,
          async stop(signal = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exit;
          },
        });
        return;
      }
    });
    exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code} before it was ready:\n${err}`));
    });
  });
}
