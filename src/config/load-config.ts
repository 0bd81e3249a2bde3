import { readFileSync } from 'node:fs';
import path from 'node:path';

import { parse as parseYaml } from 'yaml';

import { ConfigError } from './config-error.js';
import { type Config, ConfigSchema } from './config-schema.js';
import { deepFreeze } from './deep-freeze.js';

/** Values from command-line flags; each replaces the matching key of the file. */
export interface ConfigOverrides {
  policies?: string;
  grpcAddress?: string;
  adminAddress?: string;
  httpAddress?: string;
  workers?: number;
  bundle?: { url: string; publicKeys: { file: string; kid?: string }[]; cacheDir?: string; scope?: string };
  revocationUrl?: string;
  /** One issuer from flags (--issuer, --audience, --jwks) replaces the file's issuer list. */
  issuer?: { issuer: string; audiences: string[]; jwks: string };
}

/**
 * Reads the YAML file (if any), applies flag overrides, validates once and returns a deep-frozen config.
 * Relative paths inside the file are resolved against the file's folder, relative flag paths against the
 * working directory.
 */
export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Config {
  let raw: unknown = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
    }
    try {
      raw = parseYaml(text, { uniqueKeys: true }) ?? {};
    } catch (err) {
      throw new ConfigError([`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
    }
    if (typeof raw !== 'object' || Array.isArray(raw))
      throw new ConfigError([`${file}: expected a mapping at the top level`]);
  }
  const input = structuredClone(raw) as Record<string, any>;
  const section = (name: string): Record<string, any> => (input[name] ??= {});
  if (overrides.policies !== undefined) section('policies').directory = path.resolve(overrides.policies);
  if (overrides.grpcAddress !== undefined) section('grpc').address = overrides.grpcAddress;
  if (overrides.adminAddress !== undefined) section('admin').address = overrides.adminAddress;
  if (overrides.httpAddress !== undefined) section('http').address = overrides.httpAddress;
  if (overrides.workers !== undefined) section('grpc').workers = overrides.workers;
  if (overrides.bundle !== undefined) {
    const { url, publicKeys, cacheDir, scope } = overrides.bundle;
    Object.assign(section('bundle'), {
      url,
      publicKeys: publicKeys.map((k) => ({ ...k, file: path.resolve(k.file) })),
      ...(cacheDir !== undefined ? { cacheDir: path.resolve(cacheDir) } : {}),
      ...(scope !== undefined ? { scope } : {}),
    });
  }
  if (overrides.revocationUrl !== undefined) section('revocation').url = overrides.revocationUrl;
  if (overrides.issuer !== undefined) {
    const { issuer, audiences, jwks } = overrides.issuer;
    const source = /^https?:\/\//.test(jwks) ? { jwksUrl: jwks } : { jwksFile: path.resolve(jwks) };
    section('tokens').issuers = [{ issuer, audiences, ...source }];
  }

  const result = ConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
        return `${where}: ${issue.message}`;
      }),
    );
  }
  const config = result.data;
  if (file !== undefined) resolvePaths(config, path.dirname(path.resolve(file)));
  return deepFreeze(config);
}

function resolvePaths(config: Config, base: string): void {
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(base, p));
  config.policies.directory = abs(config.policies.directory);
  for (const issuer of config.tokens.issuers) issuer.jwksFile = abs(issuer.jwksFile);
  config.audit.hashSaltFile = abs(config.audit.hashSaltFile);
  for (const key of config.bundle.publicKeys) key.file = abs(key.file)!;
  config.bundle.cacheDir = abs(config.bundle.cacheDir);
  config.bundle.tokenFile = abs(config.bundle.tokenFile);
  config.revocation.tokenFile = abs(config.revocation.tokenFile);
  if (config.audit.ship !== undefined) config.audit.ship.tokenFile = abs(config.audit.ship.tokenFile);
  if (!['stdout', 'stderr'].includes(config.audit.destination))
    config.audit.destination = abs(config.audit.destination)!;
}
