import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';

import {
  persistedKeySetFile,
  readPersistedKeySet,
  writePersistedKeySet,
} from '../../../src/token/persisted-key-set.js';

const ISSUER = 'https://login.example.com/';
const URL_ = 'https://login.example.com/jwks.json';

describe('persisted key sets', () => {
  it('writes one file per issuer and reads it back for the same issuer and URL only', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-jwks-'));
    const file = persistedKeySetFile(dir, ISSUER);
    expect(persistedKeySetFile(dir, 'https://other/')).not.toBe(file);
    expect(readPersistedKeySet(file, ISSUER, URL_, Date.now())).toEqual({ kind: 'missing' });
    const jwks = { keys: [{ ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'k1' }] };
    const fetchedAt = Date.now() - 1_000;
    await writePersistedKeySet(file, ISSUER, URL_, { jwks, fetchedAt });
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readPersistedKeySet(file, ISSUER, URL_, Date.now())).toEqual({
      kind: 'loaded',
      keySet: { jwks, fetchedAt },
    });
    expect(readPersistedKeySet(file, ISSUER, 'https://login.example.com/other-jwks.json', Date.now())).toEqual({
      kind: 'refused',
      detail: 'written for another issuer or JWKS URL',
    });
  });

  it('refuses a copy that is not JSON, dated in the future, empty, or holds private keys', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-jwks-'));
    const file = path.join(dir, 'k.json');
    const write = (body: unknown) => writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
    const publicKey = { ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'k1' };
    const privateKey = {
      ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
      kid: 'k2',
    };
    const cases: [unknown, string][] = [
      ['{"issuer":', 'not JSON'],
      [
        { issuer: ISSUER, url: URL_, fetchedAt: Date.now() + 3_600_000, jwks: { keys: [publicKey] } },
        'fetchedAt lies in the future',
      ],
      [
        { issuer: ISSUER, url: URL_, fetchedAt: 'yesterday', jwks: { keys: [publicKey] } },
        'fetchedAt: expected epoch milliseconds',
      ],
      [
        { issuer: ISSUER, url: URL_, fetchedAt: Date.now(), jwks: { keys: [] } },
        'the key set is empty ({"keys": []}): no token could be verified',
      ],
      [
        { issuer: ISSUER, url: URL_, fetchedAt: Date.now(), jwks: { keys: [privateKey] } },
        'keys[0] (kid "k2"): has private key members (d); a JWKS must hold public keys only',
      ],
    ];
    for (const [body, detail] of cases) {
      write(body);
      expect(readPersistedKeySet(file, ISSUER, URL_, Date.now()), detail).toEqual({ kind: 'refused', detail });
    }
  });
});
