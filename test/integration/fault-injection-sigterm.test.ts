// SIGTERM under load, with real processes: `authzd serve` (one process, then --workers 2) answers checks
// from several gRPC connections and from its plain-HTTP interface, writing its audit log to a file, when
// SIGTERM arrives. Every call must end either with an answer or with a connection-level refusal (the
// listener is gone); every answer must have exactly one audit event and every audit event an answer (same
// decision ids, so nothing accepted was dropped or answered twice); the process must exit 0.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { beforeAll, describe, expect, it } from 'vitest';

import { ENVOY_INCLUDE_DIRS } from '../helpers/envoy-protos.js';
import { freePort } from '../helpers/free-port.js';
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from '../helpers/issuer.js';
import { spawnCli } from '../helpers/spawn-cli.js';
import { httpCheckRequest } from '../helpers/test-authzd.js';
import { until } from '../helpers/until.js';

const CONNECTIONS = 6;
const LANES_PER_CONNECTION = 6;
const HTTP_LANES = 4;

let dir: string;
let issuer: TestIssuer;
let tokens: string[];
const seen: Record<string, unknown> = {};

const definition = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: ENVOY_INCLUDE_DIRS,
});
const AuthorizationClient = (grpc.loadPackageDefinition(definition) as any).envoy.service.auth.v3.Authorization;

/** A client on its own TCP connection (grpc-js shares one per target unless told otherwise). */
function connection(address: string) {
  const client = new AuthorizationClient(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  return {
    check: (request: unknown) =>
      new Promise<any>((resolve, reject) =>
        client.Check(request, { deadline: Date.now() + 15_000 }, (err: grpc.ServiceError | null, res: unknown) =>
          err ? reject(err) : resolve(res),
        ),
      ),
    close: () => client.close(),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-fault-sigterm-'));
  issuer = await createTestIssuer();
  // A few users, so calls go through verification and evaluation now and then rather than only caches.
  tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => issuer.sign({ sub: 'alice', jti: `t-${i}` })));
});

async function sigtermUnderLoad(workers: number) {
  const httpPort = await freePort();
  const audit = path.join(dir, `audit-${workers}.log`);
  const config = path.join(dir, `sigterm-${workers}.yaml`);
  writeFileSync(
    config,
    [
      'grpc: { address: "127.0.0.1:0" }',
      'admin: { address: "127.0.0.1:0" }',
      `http: { address: "127.0.0.1:${httpPort}" }`,
      `audit: { destination: ${JSON.stringify(audit)} }`,
      'shutdown: { drainDelayMs: 300 }',
      'tokens:',
      '  issuers:',
      `    - { issuer: ${JSON.stringify(ISSUER)}, audiences: [${AUDIENCE}], jwksFile: ${JSON.stringify(issuer.jwksFile)} }`,
    ].join('\n'),
  );
  // Ready when every serving process said so (and, with workers, the primary too; its line may come first).
  const ready = new Set<unknown>();
  let grpcPort: number | undefined;
  let adminPort: number | undefined;
  const sidecar = await spawnCli(
    ['serve', '--config', config, '--workers', String(workers)],
    (l) => {
      if (l.msg === 'authzd ready') {
        ready.add(l.worker ?? 0);
        grpcPort = l.grpcPort as number;
        if (workers === 1) adminPort = l.adminPort as number;
      }
      if (l.msg === 'authzd cluster ready') adminPort = l.adminPort as number;
      return ready.size === workers && adminPort !== undefined ? { adminPort } : undefined;
    },
    { timeoutMs: 60_000 },
  );
  await until('readiness', async () =>
    (await fetch(`http://127.0.0.1:${sidecar.info.adminPort}/readyz`)).status === 200 ? true : undefined,
  );

  const answered: string[] = [];
  const failures: string[] = [];
  let sent = 0;
  const clients = Array.from({ length: CONNECTIONS }, () => connection(`127.0.0.1:${grpcPort}`));
  const grpcLane = async (client: ReturnType<typeof connection>, lane: number) => {
    for (let i = lane; ; i++) {
      sent++;
      try {
        const res = await client.check(
          httpCheckRequest({ path: '/accounts/acc-1001', token: tokens[i % tokens.length] }),
        );
        expect(res.http_response).toBe('ok_response');
        answered.push(res.ok_response.headers.find((h: any) => h.header.key === 'x-authz-decision-id').header.value);
      } catch (err) {
        // The only acceptable end: the call was not taken (listener closed, GOAWAY): UNAVAILABLE.
        const { code, details } = err as grpc.ServiceError;
        failures.push(code === grpc.status.UNAVAILABLE ? 'grpc:UNAVAILABLE' : `grpc:${code}:${details}`);
        return;
      }
    }
  };
  const httpLane = async (lane: number) => {
    for (let i = lane; ; i++) {
      sent++;
      let res: Response;
      try {
        res = await fetch(`http://127.0.0.1:${httpPort}/accounts/acc-1001`, {
          headers: { authorization: `Bearer ${tokens[i % tokens.length]}` },
        });
      } catch (err) {
        const code = ((err as Error).cause as { code?: string } | undefined)?.code ?? (err as Error).message;
        failures.push(`http:${['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(code) ? 'refused' : code}`);
        return;
      }
      expect(res.status).toBe(200);
      answered.push(res.headers.get('x-authz-decision-id')!);
    }
  };
  const load = Promise.all([
    ...clients.flatMap((c, k) =>
      Array.from({ length: LANES_PER_CONNECTION }, (_, lane) => grpcLane(c, k * LANES_PER_CONNECTION + lane)),
    ),
    ...Array.from({ length: HTTP_LANES }, (_, lane) => httpLane(lane)),
  ]);
  await until('load to be under way', () => (answered.length >= 300 ? true : undefined));
  const atSignal = answered.length;
  sidecar.child.kill('SIGTERM');
  const exitCode = await sidecar.exit;
  await load;
  for (const c of clients) c.close();

  const events = readFileSync(audit, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { decision_id: string });
  const eventIds = events.map((e) => e.decision_id);
  const byKind = failures.reduce<Record<string, number>>((acc, f) => ({ ...acc, [f]: (acc[f] ?? 0) + 1 }), {});
  seen[`workers${workers}`] = {
    sent,
    answered: answered.length,
    answeredAfterSignal: answered.length - atSignal,
    refused: byKind,
    auditEvents: events.length,
    exitCode,
  };
  return { exitCode, answered, failures, eventIds, sent, stderr: sidecar.stderr };
}

describe('SIGTERM under load', () => {
  for (const workers of [1, 2]) {
    it(`--workers ${workers}: every accepted check is answered and audited once, exit 0`, async () => {
      const r = await sigtermUnderLoad(workers);
      expect(r.exitCode).toBe(0);
      // Every lane ended by being refused at the door, nothing else (no INTERNAL, CANCELLED, deadline).
      expect(r.failures.every((f) => f === 'grpc:UNAVAILABLE' || f === 'http:refused')).toBe(true);
      expect(r.failures).toHaveLength(CONNECTIONS * LANES_PER_CONNECTION + HTTP_LANES);
      expect(r.answered.length + r.failures.length).toBe(r.sent);
      // Count in == count out, decision for decision.
      expect(new Set(r.eventIds).size).toBe(r.eventIds.length);
      expect(r.eventIds.length).toBe(r.answered.length);
      expect(new Set(r.eventIds)).toEqual(new Set(r.answered));
      await until('the last log line', () => (r.stderr().includes('shutdown complete') ? true : undefined), 5_000);
      console.log(`sigterm under load: ${JSON.stringify(seen[`workers${workers}`])}`);
    }, 90_000);
  }
});
