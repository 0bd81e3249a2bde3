// Shadow verification as it runs in production: `authzd serve` (the built CLI) deciding with the native
// engine, every decision sampled (engine.verifySample: 1) and re-evaluated by cedar-wasm on the verifier's
// worker thread; the agreements show on /metrics, and nothing disagrees.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { envoyAuthorizationClient } from '../helpers/envoy-protos.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { CLI } from '../helpers/spawn-cli.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

let issuer: TestIssuer;
let child: ChildProcess;
let exit: Promise<number | null>;
let ports: { grpcPort: number; adminPort: number };
let stderr = '';

beforeAll(async () => {
  issuer = await createTestIssuer();
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-verify-'));
  const config = path.join(dir, 'authzd.yaml');
  writeFileSync(config, 'policies: { engine: native }\nengine: { verifySample: 1 }\n');
  child = spawn(
    process.execPath,
    [
      CLI,
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
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  ports = await until(
    'authzd ready',
    () => {
      const line = stderr.split('\n').find((l) => l.includes('"authzd ready"'));
      return line !== undefined ? (JSON.parse(line) as typeof ports) : undefined;
    },
    30_000,
  );
});

afterAll(async () => {
  child.kill('SIGTERM');
  await exit;
});

const metric = (text: string, series: string) =>
  Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${series} `))
      ?.split(' ')[1] ?? 0,
  );

describe('engine verification in a running sidecar', () => {
  it('re-evaluates sampled decisions with cedar-wasm off the serving thread and finds them equal', async () => {
    const client = envoyAuthorizationClient(`127.0.0.1:${ports.grpcPort}`);
    const requests: [string, string][] = [
      ['alice', '/accounts/acc-1001'],
      ['alice', '/accounts/acc-2001'],
      ['bob', '/accounts/acc-1001'],
    ];
    let allowed = 0;
    for (let round = 0; round < 4; round++) {
      for (const [sub, p] of requests) {
        // A fresh token each round keeps the decision cache from answering instead of the engine.
        const token = await issuer.sign({
          sub,
          roles: sub === 'bob' ? ['teller'] : ['customer'],
          tenant: 'acme',
          jti: `${sub}-${round}`,
        });
        const res = await client.check(httpCheckRequest({ path: p, token, headers: { 'x-round': String(round) } }));
        if (res.status.code === 0) allowed++;
      }
    }
    client.close();
    expect(allowed).toBeGreaterThan(0);
    const text = await until(
      'every sampled decision verified',
      async () => {
        const t = await (await fetch(`http://127.0.0.1:${ports.adminPort}/metrics`)).text();
        return metric(t, 'authzd_engine_verifications_total{result="agree"}') >= 3 ? t : undefined;
      },
      30_000,
    );
    expect(metric(text, 'authzd_engine_disagreements_total')).toBe(0);
    expect(metric(text, 'authzd_engine_verifications_total{result="disagree"}')).toBe(0);
    expect(stderr).not.toContain('engine disagreement');
    expect(stderr).not.toContain('engine verifier thread stopped');
  });
});
