// The one check every secret passes at start-up: what counts as a known placeholder, and what does not.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { placeholderSecretProblem } from '../../../src/config/placeholder-secret-problem.js';
import { ROOT } from '../../helpers/spawn-cli.js';

/** Every *.placeholder file under deploy/, at any depth. */
function placeholderFiles(dir = path.join(ROOT, 'deploy')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) return placeholderFiles(file);
    return e.name.endsWith('.placeholder') ? [file] : [];
  });
}

describe('placeholderSecretProblem', () => {
  it('refuses every placeholder file the samples ship', () => {
    const files = placeholderFiles();
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const file of files)
      expect(placeholderSecretProblem(readFileSync(file, 'utf8'), 'x', file), file).toBeDefined();
  });

  it('refuses values that say they are placeholders, in any spelling, and one character repeated', () => {
    for (const value of [
      'PLACEHOLDER',
      'my-placeholder-token-123456',
      'replace-me-0123456789',
      'REPLACE_ME_0123456789',
      'Replace me please 123',
      'changeme0123456789ab',
      'change.me.0123456789',
      'changeit-changeit',
      'not-a-secret-0123456789',
      'your-secret-here-01234',
      'YOUR_TOKEN_0123456789',
      'aaaaaaaaaaaaaaaaaaaa',
      '0000000000000000',
      'x'.repeat(64),
    ]) {
      expect(placeholderSecretProblem(value, 'the admin token', 'src'), value).toBeDefined();
    }
  });

  it('names the secret and its source, never the value', () => {
    const problem = placeholderSecretProblem(
      'PLACEHOLDER-admin-token-replace-me',
      'the admin token',
      '--admin-token-file /run/admin-token',
    )!;
    expect(problem).toMatch(
      /^--admin-token-file \/run\/admin-token: the admin token is a known placeholder, not a secret: /,
    );
    expect(problem).not.toContain('PLACEHOLDER-admin-token');
  });

  it("accepts tokens made as the docs say (openssl rand -hex 32, base64) and the test suites' tokens", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 64 }), (bytes) => {
        const hex = Buffer.from(bytes).toString('hex');
        expect(placeholderSecretProblem(hex, 't', 's')).toBeUndefined();
      }),
    );
    for (let i = 0; i < 200; i++)
      expect(placeholderSecretProblem(randomBytes(32).toString('base64url'), 't', 's')).toBeUndefined();
    for (const token of [
      'dash-admin-token-0123456789abcdef',
      'file-token-0123456789abcdef',
      'listener-read-token-0123456789abcdef',
    ]) {
      expect(placeholderSecretProblem(token, 't', 's'), token).toBeUndefined();
    }
  });

  it('accepts real PEM signing keys', () => {
    for (let i = 0; i < 50; i++) {
      const type = i % 2 === 0 ? 'ed25519' : 'ec';
      const { privateKey } = generateKeyPairSync(type as 'ec', { namedCurve: 'P-256' });
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      expect(placeholderSecretProblem(pem, 'the signing key', 'k.pem'), pem).toBeUndefined();
    }
  });
});
