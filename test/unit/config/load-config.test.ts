import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../../src/config/config-error.js';
import { loadConfig } from '../../../src/config/load-config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'authzd-config-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const problems = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('fills defaults and freezes the result', () => {
    const config = loadConfig(undefined);
    expect(config.grpc.address).toBe('0.0.0.0:9191');
    expect(config.admin.address).toBe('0.0.0.0:9192');
    expect(config.tokens).toMatchObject({
      header: 'authorization',
      scheme: 'Bearer',
      maxBytes: 8192,
      clockToleranceSeconds: 30,
      issuers: [],
    });
    expect(config.policies.onError).toBe('deny');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.tokens.issuers)).toBe(true);
    expect(() => {
      (config.grpc as { address: string }).address = 'x';
    }).toThrow(TypeError);
  });

  it('reads YAML, resolves paths against the file, and lets flags override', () => {
    const p = file(
      'a.yaml',
      'policies: { directory: ./pol }\ntokens:\n  issuers:\n    - issuer: https://i\n      audiences: [api]\n      jwksFile: keys/jwks.json\n',
    );
    const config = loadConfig(p, { grpcAddress: 'unix:///tmp/authzd.sock' });
    expect(config.policies.directory).toBe(path.join(dir, 'pol'));
    expect(config.tokens.issuers[0].jwksFile).toBe(path.join(dir, 'keys/jwks.json'));
    expect(config.tokens.issuers[0].algorithms).not.toContain('HS256');
    expect(config.grpc.address).toBe('unix:///tmp/authzd.sock');
  });

  it('builds one issuer from --issuer/--audience/--jwks, file or URL', () => {
    expect(
      loadConfig(undefined, { issuer: { issuer: 'https://i', audiences: ['a', 'b'], jwks: 'https://i/jwks' } }).tokens
        .issuers[0],
    ).toMatchObject({
      jwksUrl: 'https://i/jwks',
      audiences: ['a', 'b'],
    });
    expect(
      loadConfig(undefined, { issuer: { issuer: 'https://i', audiences: ['a'], jwks: 'jwks.json' } }).tokens.issuers[0]
        .jwksFile,
    ).toBe(path.resolve('jwks.json'));
  });

  it('reports every problem with its path: unknown keys, bad types, forbidden algorithms', () => {
    const p = file(
      'bad.yaml',
      [
        'grpc: { adress: "x" }',
        'tokens:',
        '  maxBytes: "big"',
        '  issuers:',
        '    - issuer: https://i',
        '      audiences: []',
        '      algorithms: [HS256, none]',
        '      jwksFile: a',
        '      jwksUrl: https://b',
      ].join('\n'),
    );
    const list = problems(() => loadConfig(p));
    expect(list).toEqual(
      expect.arrayContaining([
        'grpc: Unrecognized key: "adress"',
        expect.stringMatching(/^tokens.maxBytes: /),
        expect.stringMatching(/^tokens.issuers.0.audiences: /),
        expect.stringMatching(/^tokens.issuers.0.algorithms.0: /),
        expect.stringMatching(/^tokens.issuers.0.algorithms.1: /),
      ]),
    );
  });

  it('needs exactly one key source per issuer, and a salt when hashing identifiers', () => {
    expect(problems(() => loadConfig(file('k.yaml', 'tokens: { issuers: [{ issuer: i, audiences: [a] }] }')))).toEqual([
      'tokens.issuers.0: exactly one of jwksFile and jwksUrl is required',
    ]);
    expect(problems(() => loadConfig(file('h.yaml', 'audit: { hashIdentifiers: true }')))).toEqual([
      'audit: hashIdentifiers needs hashSaltFile or hashSaltEnv',
    ]);
  });

  it('rejects bad addresses, duplicate keys and unreadable files clearly', () => {
    expect(problems(() => loadConfig(file('addr.yaml', 'grpc: { address: "nohost" }')))).toEqual([
      'grpc.address: expected HOST:PORT or unix:///path',
    ]);
    expect(problems(() => loadConfig(file('dup.yaml', 'log: { level: info }\nlog: { level: debug }')))[0]).toMatch(
      /not valid YAML/,
    );
    expect(problems(() => loadConfig(path.join(dir, 'missing.yaml')))[0]).toMatch(/cannot read .*ENOENT/);
    expect(problems(() => loadConfig(file('list.yaml', '- a')))[0]).toMatch(/expected a mapping/);
  });
});
