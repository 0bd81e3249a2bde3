// A sidecar deciding with the native engine keeps cedar-wasm off its serving thread (#15): policy sets are
// validated by cedar-wasm on the compile worker and sampled decisions re-checked on the verifier's thread,
// so the serving thread never pays the module's ~16 MiB, nor the ~30 MiB its first calls add. The probe
// (test/fixtures/cedar-wasm-loaded-probe.cjs) reads the serving thread's module cache after real checks;
// with engine: cedar-wasm the same probe must see the module, so it cannot pass by seeing nothing.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { envoyAuthorizationClient } from '../helpers/envoy-protos.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { ROOT, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

const PROBE = path.join(ROOT, 'test', 'fixtures', 'cedar-wasm-loaded-probe.cjs');

let issuer: TestIssuer;
const running: RunningCli<{ grpcPort: number }>[] = [];

beforeAll(async () => {
  issuer = await createTestIssuer();
});

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
});

/** Starts a sidecar with `engine`, answers a few checks that reach the engine, and asks the probe. */
async function servingThreadLoadsCedar(engine: 'native' | 'cedar-wasm'): Promise<boolean> {
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-serving-thread-'));
  const config = path.join(dir, 'authzd.yaml');
  const probeFile = path.join(dir, 'probe.json');
  writeFileSync(config, `policies: { engine: ${engine} }\nengine: { verifySample: 1 }\n`);
  const cli = await spawnCli(
    [
      'serve',
      '--config',
      config,
      '--issuer',
      ISSUER,
      '--audience',
      AUDIENCE,
      '--jwks',
      issuer.jwksFile,
      '--grpc-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
    ],
    (line) => (line.msg === 'authzd ready' ? { grpcPort: line.grpcPort as number } : undefined),
    { env: { NODE_OPTIONS: `--require ${PROBE}`, AUTHZD_PROBE_FILE: probeFile } },
  );
  running.push(cli);
  const client = envoyAuthorizationClient(`127.0.0.1:${cli.info.grpcPort}`);
  const answers: number[] = [];
  for (const [sub, p] of [
    ['alice', '/accounts/acc-1001'],
    ['bob', '/accounts/acc-1001'],
    ['alice', '/accounts/acc-2001'],
  ]) {
    const token = await issuer.sign({ sub, roles: sub === 'bob' ? ['teller'] : ['customer'], tenant: 'acme' });
    answers.push((await client.check(httpCheckRequest({ path: p, token }))).status.code);
  }
  client.close();
  // Decided by the engine (an allow and a policy deny), not refused before it.
  expect(answers).toContain(0);
  expect(answers.some((code) => code !== 0)).toBe(true);
  cli.child.kill('SIGUSR2');
  const probe = await until(
    'the probe answered',
    () => (existsSync(probeFile) ? (JSON.parse(readFileSync(probeFile, 'utf8')) as { cedarWasm: boolean }) : undefined),
    30_000,
  );
  return probe.cedarWasm;
}

describe('the serving thread and cedar-wasm', () => {
  it('never loads cedar-wasm with the native engine, although the verifier checks every decision', async () => {
    expect(await servingThreadLoadsCedar('native')).toBe(false);
  });

  it('loads it with engine: cedar-wasm (the probe sees the module when it is there)', async () => {
    expect(await servingThreadLoadsCedar('cedar-wasm')).toBe(true);
  });
});
