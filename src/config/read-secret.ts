import { readFileSync } from 'node:fs';

import { ConfigError } from './config-error.js';
import { placeholderSecretProblem } from './placeholder-secret-problem.js';

/**
 * A secret's text from a file, the one way every secret file is read (tokens on both sides of the control
 * plane, the audit salt): surrounding whitespace, such as the newline an editor or `echo` adds, is not part of
 * the secret. Reading it the same way everywhere keeps a token that one side trimmed from failing on the other.
 * Throws the file system's error.
 */
export function readSecretFile(file: string): string {
  return readFileSync(file, 'utf8').trim();
}

/** A bearer token from a file or an environment variable, read once at start-up; never logged. */
export function readSecret(file: string | undefined, env: string | undefined, what: string): string | undefined {
  if (file !== undefined) {
    let value: string;
    try {
      value = readSecretFile(file);
    } catch (err) {
      throw new ConfigError([
        `${what}.tokenFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      ]);
    }
    if (value.length === 0) throw new ConfigError([`${what}.tokenFile: ${file} is empty`]);
    return usable(value, `${what}.tokenFile ${file}`, what);
  }
  if (env !== undefined) {
    const value = process.env[env];
    if (value === undefined || value.length === 0)
      throw new ConfigError([`${what}.tokenEnv: environment variable ${env} is not set`]);
    return usable(value, `${what}.tokenEnv ${env}`, what);
  }
  return undefined;
}

function usable(value: string, source: string, what: string): string {
  const placeholder = placeholderSecretProblem(value, `the ${what} token`, source);
  if (placeholder !== undefined) throw new ConfigError([placeholder]);
  return value;
}
