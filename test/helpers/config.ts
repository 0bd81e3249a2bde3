import { type Config, type ConfigInput, ConfigSchema } from '../../src/config/config-schema.js';
import { deepFreeze } from '../../src/config/deep-freeze.js';
import { AUDIENCE, ISSUER, type TestIssuer } from './issuer.js';

/** A validated, frozen config for tests: ephemeral loopback ports, the test issuer, quiet logs. */
export function testConfig(issuer: TestIssuer | undefined, overrides: ConfigInput = {}): Config {
  return deepFreeze(
    ConfigSchema.parse({
      grpc: { address: '127.0.0.1:0' },
      admin: { address: '127.0.0.1:0' },
      log: { level: 'silent' },
      ...overrides,
      tokens: {
        ...(issuer !== undefined
          ? { issuers: [{ issuer: ISSUER, audiences: [AUDIENCE], jwksFile: issuer.jwksFile, requiredType: 'at+jwt' }] }
          : {}),
        ...overrides.tokens,
      },
    }),
  );
}
