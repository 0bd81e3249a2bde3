// Raw protobuf fuzzing of a running authzd over gRPC: valid CheckRequests encoded with Envoy's own protos,
// then flipped, truncated, extended, spliced and replaced by random bytes, plus hand-made hostile encodings
// (huge and overlong varints, deep nesting through unknown groups and through google.protobuf.Struct,
// messages over the size limit, a gzip bomb). Every call must end in a valid CheckResponse or a gRPC error
// (INTERNAL from grpc-js when the bytes do not decode, RESOURCE_EXHAUSTED over the size limit), the server
// must keep answering valid requests, and its memory must stay bounded. AUTHZD_FUZZ_RUNS sets the number of
// mutated calls (default 400).
import v8 from 'node:v8';
import vm from 'node:vm';

import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import type protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadEnvoyRoot } from '../helpers/envoy-protos.js';
import { createTestIssuer, type TestIssuer } from '../helpers/issuer.js';
import { httpCheckRequest, startTestAuthzd } from '../helpers/test-authzd.js';

const RUNS = Number(process.env.AUTHZD_FUZZ_RUNS ?? 400);
const CHECK = '/envoy.service.auth.v3.Authorization/Check';
const DENY_STATUSES = new Set([400, 401, 403, 429, 503]);

type Answer =
  | { readonly ok: true; readonly response: Buffer }
  | { readonly ok: false; readonly code: number; readonly details: string };

let issuer: TestIssuer;
let sidecar: Awaited<ReturnType<typeof startTestAuthzd>>;
let raw: grpc.Client;
let CheckRequest: protobuf.Type;
let CheckResponse: protobuf.Type;
let seeds: Buffer[];
let valid: Buffer;

const call = (client: grpc.Client, bytes: Buffer) =>
  new Promise<Answer>((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      CHECK,
      (b) => b,
      (b) => b,
      bytes,
      { deadline: Date.now() + 15_000 },
      (err, response) =>
        resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, response: response! }),
    );
  });

/** A call's answer must be one of the two legal kinds; returns a short label for statistics. */
function expectLegal(answer: Answer): string {
  if (!answer.ok) {
    // Not UNAVAILABLE (a broken connection or a crashed server) and not a pipeline internal_error.
    expect([grpc.status.INTERNAL, grpc.status.RESOURCE_EXHAUSTED]).toContain(answer.code);
    if (answer.code === (grpc.status.INTERNAL as number)) expect(answer.details).toBe('Error deserializing request');
    return `grpc:${grpc.status[answer.code]}`;
  }
  const response = CheckResponse.toObject(CheckResponse.decode(answer.response), {
    enums: Number,
    defaults: false,
    oneofs: true,
  }) as any;
  expect(CheckResponse.verify(response)).toBeNull();
  const code = response.status?.code ?? 0;
  if (code === 0) {
    expect(response.ok_response).toBeDefined();
    return 'allow';
  }
  expect(response.denied_response).toBeDefined();
  expect(DENY_STATUSES).toContain(response.denied_response.status.code);
  return `deny:${JSON.parse(response.denied_response.body).reason}`;
}

function varint(value: number | bigint): number[] {
  let n = BigInt(value);
  const out: number[] = [];
  while (n > 127n) {
    out.push(Number(n & 127n) | 128);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}

/** google.protobuf.Struct nested `depth` times ({"a": {"a": ...}}), written outside-in with precomputed lengths. */
function nestedStruct(depth: number): Buffer {
  // Struct.fields(1) = entry{ key(1) = "a", value(2) = Value{ struct_value(5) = Struct } }
  const sizes: number[] = [];
  let size = 0;
  for (let i = 0; i < depth; i++) {
    sizes.push(size);
    const value = 1 + varint(size).length + size;
    const entry = 3 + 1 + varint(value).length + value;
    size = 1 + varint(entry).length + entry;
  }
  const out: number[] = [];
  for (let i = depth - 1; i >= 0; i--) {
    const inner = sizes[i];
    const value = 1 + varint(inner).length + inner;
    const entry = 3 + 1 + varint(value).length + value;
    for (const b of [0x0a, ...varint(entry), 0x0a, 0x01, 0x61, 0x12, ...varint(value), 0x2a, ...varint(inner)])
      out.push(b);
  }
  return Buffer.from(out);
}

/** A CheckRequest whose attributes.metadata_context.filter_metadata["x"] is `struct`. */
function withMetadata(struct: Buffer): Buffer {
  const entry = Buffer.concat([Buffer.from([0x0a, 0x01, 0x78, 0x12, ...varint(struct.length)]), struct]);
  const metadata = Buffer.concat([Buffer.from([0x0a, ...varint(entry.length)]), entry]);
  const attributes = Buffer.concat([Buffer.from([(11 << 3) | 2, ...varint(metadata.length)]), metadata]);
  return Buffer.concat([Buffer.from([0x0a, ...varint(attributes.length)]), attributes]);
}

const unknownGroups = (depth: number) =>
  Buffer.from([
    ...Array.from({ length: depth }, () => varint((99 << 3) | 3)).flat(),
    ...Array.from({ length: depth }, () => varint((99 << 3) | 4)).flat(),
  ]);
function unknownLenNesting(depth: number): Buffer {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < depth; i++)
    inner = Buffer.concat([Buffer.from([...varint((99 << 3) | 2), ...varint(inner.length)]), inner]);
  return inner;
}

beforeAll(async () => {
  issuer = await createTestIssuer();
  sidecar = await startTestAuthzd(issuer);
  raw = new grpc.Client(`127.0.0.1:${sidecar.app.grpcPort}`, grpc.credentials.createInsecure());
  const root = loadEnvoyRoot(['envoy/service/auth/v3/external_auth.proto']);
  CheckRequest = root.lookupType('envoy.service.auth.v3.CheckRequest');
  CheckResponse = root.lookupType('envoy.service.auth.v3.CheckResponse');
  const encode = (request: Record<string, unknown>) =>
    Buffer.from(CheckRequest.encode(CheckRequest.fromObject(request)).finish());
  const alice = await issuer.sign({ sub: 'alice' });
  const rawHeaders: any = httpCheckRequest({ path: '/accounts/acc-1001', token: alice });
  rawHeaders.attributes.request.http.header_map = {
    headers: Object.entries(rawHeaders.attributes.request.http.headers).map(([key, value]) => ({
      key,
      raw_value: Buffer.from(value as string),
    })),
  };
  delete rawHeaders.attributes.request.http.headers;
  valid = encode(httpCheckRequest({ path: '/accounts/acc-1001', token: alice }));
  seeds = [
    valid,
    encode(httpCheckRequest({ path: '/accounts/acc-1001' })),
    encode(
      httpCheckRequest({
        method: 'POST',
        path: '/accounts/acc-1001/transfers',
        token: await issuer.sign({ sub: 'alice', scope: 'payments:write' }),
      }),
    ),
    encode(
      httpCheckRequest({
        path: '/tenants/acme/customers/export?x=%2e%2e',
        token: await issuer.forge({ sub: 'carol', roles: ['admin'] }),
      }),
    ),
    encode(rawHeaders),
    encode({
      attributes: {
        source: { principal: 'spiffe://cluster.local/ns/bank/sa/ledger' },
        destination: { principal: 'spiffe://cluster.local/ns/bank/sa/core-banking' },
      },
    }),
  ];
  for (const seed of seeds) expectLegal(await call(raw, seed));
});

afterAll(async () => {
  raw?.close();
  await sidecar?.stop();
});

const seedIndex = fc.nat(5);
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    seed: seedIndex,
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), seed: seedIndex, at: fc.nat() }),
  fc.record({
    kind: fc.constant('extend' as const),
    seed: seedIndex,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 200 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    seed: seedIndex,
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  }),
  fc.record({ kind: fc.constant('splice' as const), seed: seedIndex, other: seedIndex, at: fc.nat() }),
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 2000 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function apply(m: Mutation): Buffer {
  if (m.kind === 'random') return Buffer.from(m.bytes);
  const seed = seeds[m.seed];
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(seed);
      for (const [at, xor] of m.flips) out[at % out.length] ^= xor;
      return out;
    }
    case 'truncate':
      return seed.subarray(0, m.at % seed.length);
    case 'extend':
      return Buffer.concat([seed, m.bytes]);
    case 'insert': {
      const at = m.at % seed.length;
      return Buffer.concat([seed.subarray(0, at), m.bytes, seed.subarray(at)]);
    }
    case 'splice': {
      const other = seeds[m.other];
      return Buffer.concat([seed.subarray(0, m.at % seed.length), other.subarray(m.at % other.length)]);
    }
  }
}

describe('gRPC Check under raw protobuf mutations', () => {
  it('answers every mutated message legally, keeps answering valid requests, and keeps memory bounded', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      return process.memoryUsage();
    };
    const before = heap();
    const seen = new Map<string, number>();
    let calls = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const label = expectLegal(await call(raw, apply(m)));
        seen.set(label, (seen.get(label) ?? 0) + 1);
        // The test's own copies of audit events and log lines are not the server's memory.
        if (++calls % 100 === 0) {
          sidecar.auditEvents.length = 0;
          sidecar.logLines.length = 0;
        }
      }),
      { numRuns: RUNS },
    );
    expect(expectLegal(await call(raw, valid))).toBe('allow');
    sidecar.auditEvents.length = 0;
    sidecar.logLines.length = 0;
    const after = heap();
    // Generous: a leak of a few KB per call over thousands of calls shows up; allocator noise does not.
    expect(after.heapUsed - before.heapUsed).toBeLessThan(48 * 1024 * 1024);
    expect(after.rss - before.rss).toBeLessThan(256 * 1024 * 1024);
    // Mutations must reach both the decoder's refusals and the pipeline's decisions.
    expect(seen.get('grpc:INTERNAL') ?? 0).toBeGreaterThan(0);
    expect([...seen.keys()].filter((k) => k.startsWith('deny:')).length).toBeGreaterThan(1);
  });

  // protobufjs is lenient where it is harmless (an overlong varint, field number 0 are skipped); Envoy never
  // sends either, and what decodes is still only the valid request around them.
  it.each<[string, string | RegExp, () => Buffer]>([
    [
      'a length varint of 2^63 - 1',
      'grpc:INTERNAL',
      () => Buffer.concat([valid, Buffer.from([0x0a, ...varint(2n ** 63n - 1n)])]),
    ],
    [
      'a length past the end of the message',
      'grpc:INTERNAL',
      () => Buffer.concat([valid, Buffer.from([0x0a, ...varint(1 << 20)]), Buffer.alloc(10)]),
    ],
    [
      'an overlong varint (11 bytes)',
      'allow',
      () => Buffer.concat([valid, Buffer.from([(98 << 3) | 0, ...Array(10).fill(0x80), 0x00])]),
    ],
    ['field number 0', 'allow', () => Buffer.concat([valid, Buffer.from([0x00, 0x01])])],
    ['an end-group without a start', 'grpc:INTERNAL', () => Buffer.concat([valid, Buffer.from(varint((99 << 3) | 4))])],
    ['unknown groups nested 100000 deep', 'grpc:INTERNAL', () => Buffer.concat([valid, unknownGroups(100_000)])],
    ['unknown groups nested 5 deep (skipped)', 'allow', () => Buffer.concat([valid, unknownGroups(5)])],
    [
      'an unknown length-delimited field nested 2000 deep (opaque, skipped)',
      'allow',
      () => Buffer.concat([valid, unknownLenNesting(2000)]),
    ],
    [
      'google.protobuf.Struct nested 20000 deep in metadata_context',
      'grpc:INTERNAL',
      () => withMetadata(nestedStruct(20_000)),
    ],
    [
      'google.protobuf.Struct nested 30 deep in metadata_context',
      'deny:peer_unauthenticated',
      () => withMetadata(nestedStruct(30)),
    ],
    ['the attributes field twice (protobuf merges)', /^(allow|deny:[a-z_]+)$/, () => Buffer.concat([valid, seeds[1]])],
    [
      'a path that is not UTF-8',
      /^deny:(path_invalid|route_not_found|token_missing)$/,
      () =>
        Buffer.from(
          Buffer.from(
            CheckRequest.encode(CheckRequest.fromObject(httpCheckRequest({ path: '/accounts/\u00ff' }))).finish(),
          ).map((b) => (b === 0xc3 ? 0xff : b)),
        ),
    ],
    ['an empty message', 'deny:peer_unauthenticated', () => Buffer.alloc(0)],
  ])('a hand-made encoding: %s -> %s', async (_name, want, make) => {
    const label = expectLegal(await call(raw, make()));
    if (typeof want === 'string') expect(label).toBe(want);
    else expect(label).toMatch(want);
    expect(expectLegal(await call(raw, valid))).toBe('allow');
  });

  it('refuses a message over grpc.maxReceiveMessageBytes with RESOURCE_EXHAUSTED, compressed or not', async () => {
    const padding = (bytes: number) => Buffer.from([...varint((98 << 3) | 2), ...varint(bytes)]);
    const big = Buffer.concat([valid, padding(5 << 20), Buffer.alloc(5 << 20)]);
    const plain = await call(raw, big);
    expect(plain).toMatchObject({ ok: false, code: grpc.status.RESOURCE_EXHAUSTED });
    // A gzip bomb: 60 MiB of zeros compress to about 60 KiB; grpc-js stops inflating at the limit.
    const gzip = new grpc.Client(`127.0.0.1:${sidecar.app.grpcPort}`, grpc.credentials.createInsecure(), {
      'grpc.default_compression_algorithm': 2,
    });
    try {
      expect(expectLegal(await call(gzip, valid))).toBe('allow');
      const bomb = await call(gzip, Buffer.concat([valid, padding(60 << 20), Buffer.alloc(60 << 20)]));
      expect(bomb).toMatchObject({
        ok: false,
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: expect.stringMatching(/decompresses to a size larger than 4194304/),
      });
    } finally {
      gzip.close();
    }
    expect(expectLegal(await call(raw, valid))).toBe('allow');
  });

  it('stays ready throughout', async () => {
    expect((await fetch(`http://127.0.0.1:${sidecar.app.adminPort}/readyz`)).status).toBe(200);
    expect(sidecar.logLines.filter((l) => l.level >= 50 && /uncaught|unhandled/i.test(l.msg ?? ''))).toEqual([]);
  });
});
