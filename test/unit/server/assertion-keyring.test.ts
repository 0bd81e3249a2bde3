import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';

import { ConfigSchema } from '../../../src/config/config-schema.js';
import { AssertionKeyring, createAsserter } from '../../../src/server/assertion-keyring.js';

const config = ConfigSchema.parse({
  assertions: { enabled: true, audience: 'core-banking', ttlSeconds: 60 },
}).assertions;
const decision = {
  id: 'd-1',
  policyVersion: '7',
  routeId: 'get-account',
  principal: { type: 'Bank::User', id: 'alice' },
  tenant: 'acme',
} as never;

describe('AssertionKeyring', () => {
  it('signs assertions that verify against its JWKS, through rotations, until the old key retires', async () => {
    let now = Date.now();
    const keyring = new AssertionKeyring(config, () => now);
    await keyring.rotate();
    const assert = createAsserter(keyring, config, () => now);
    const first = await assert(decision);
    await keyring.rotate();
    const second = await assert(decision);
    const jwks = () => createLocalJWKSet(keyring.jwks());
    expect(keyring.jwks().keys).toHaveLength(2);
    for (const token of [first, second]) {
      const { payload } = await jwtVerify(token, jwks(), {
        issuer: 'authzd',
        audience: 'core-banking',
        currentDate: new Date(now),
      });
      expect(payload).toMatchObject({
        sub: 'alice',
        decision_id: 'd-1',
        policy_version: '7',
        jti: 'd-1',
        act: { sub: 'authzd' },
      });
    }
    now += 61_000 + 60_000; // one lifetime plus the margin
    expect(keyring.jwks().keys).toHaveLength(1);
    await expect(jwtVerify(first, jwks(), { currentDate: new Date(now - 119_000) })).rejects.toThrow();
  });

  it("exports and loads keys, so cluster workers sign with the primary's keys", async () => {
    const primary = new AssertionKeyring(config);
    await primary.rotate();
    const worker = new AssertionKeyring(config);
    await worker.load(primary.export());
    const token = await createAsserter(worker, config)(decision);
    await expect(
      jwtVerify(token, createLocalJWKSet(primary.jwks() as never), { audience: 'core-banking' }),
    ).resolves.toBeDefined();
    expect(JSON.stringify(primary.jwks())).not.toContain('"d"');
  });
});
