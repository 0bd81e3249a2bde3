import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config-error.js';

/** A bearer token from a file or an environment variable, read once at start-up; never logged. */
export function readSecret(file: string | undefined, env: string | undefined, what: string): string | undefined {
  if (file !== undefined) {
    try {
      const value = readFileSync(file, 'utf8').trim();
      if (value.length > 0) return value;
    } catch (err) {
      throw new ConfigError([`${what}.tokenFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
    }
    throw new ConfigError([`${what}.tokenFile: ${file} is empty`]);
  }
  if (env !== undefined) {
    const value = process.env[env];
    if (value === undefined || value.length === 0) throw new ConfigError([`${what}.tokenEnv: environment variable ${env} is not set`]);
    return value;
  }
  return undefined;
}
