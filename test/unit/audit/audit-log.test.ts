import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { createAuditLog } from '../../../src/audit/audit-log.js';
import { parseDecisionEvent } from '../../../src/audit/decision-event.js';
import { CheckPipeline } from '../../../src/check/check-pipeline.js';
import { type ConfigInput, ConfigSchema } from '../../../src/config/config-schema.js';
import type { CheckRequestMessage } from '../../../src/contract/check-request.js';
import type { CheckOutcome } from '../../../src/contract/decision.js';
import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../../../src/engine/policy-store.js';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { TokenVerifier } from '../../../src/token/token-verifier.js';
import { testConfig } from '../../helpers/config.js';
import { createTestIssuer, ISSUER, type TestIssuer } from '../../helpers/issuer.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';
import { httpCheckRequest } from '../../helpers/test-authzd.js';

const decision = (over: Record<string, unknown> = {}): CheckOutcome => ({
  kind: 'decision',
  decision: {
    id: 'd-1',
    allowed: true,
    reason: 'policy_allowed',
    source: 'engine',
    policies: ['p1'],
    errors: [],
    policyVersion: 'v1',
    routeId: 'get-account',
    principal: { type: 'Bank::User', id: 'alice@example.com' },
    action: 'readAccount',
    resource: { type: 'Bank::Account', id: 'acc-1001' },
    tenant: 'acme',
    issuer: 'https://i',
    tokenPresented: true,
    request: { method: 'GET', path: '/accounts/acc-1001', host: 'h', id: 'r-1' },
    detail: 'internal detail',
    ...over,
  } as never,
});

const memory = () => {
  const lines: any[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(JSON.parse(s)) } };
};

describe('audit log', () => {
  it('writes one complete event per outcome, without internal detail', () => {
    const m = memory();
    const audit = createAuditLog(ConfigSchema.parse({}).audit, { stream: m.stream });
    audit.record(decision(), 0.000123);
    audit.record(
      { kind: 'error', failure: { id: 'd-2', reason: 'jwks_unavailable', policyVersion: 'v1', detail: 'x' } },
      0.5,
    );
    expect(m.lines).toHaveLength(2);
    expect(m.lines[0]).toMatchObject({
      log: 'audit',
      type: 'authz.decision',
      decision_id: 'd-1',
      decision: 'allow',
      reason: 'policy_allowed',
      policies: ['p1'],
      policy_version: 'v1',
      route: 'get-account',
      principal: { type: 'Bank::User', id: 'alice@example.com' },
      resource: { type: 'Bank::Account', id: 'acc-1001' },
      tenant: 'acme',
      source: 'engine',
      request: { method: 'GET', path: '/accounts/acc-1001', id: 'r-1' },
      latency_us: 123,
    });
    expect(m.lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(JSON.stringify(m.lines)).not.toContain('internal detail');
    expect(m.lines[1]).toMatchObject({ decision: 'error', reason: 'jwks_unavailable', latency_us: 500000 });
  });

  it('hashes personal identifiers with the salt and leaves the raw path out', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-audit-'));
    writeFileSync(path.join(dir, 'salt'), 'a-long-enough-salt-value\n');
    const config = ConfigSchema.parse({ audit: { hashIdentifiers: true, hashSaltFile: path.join(dir, 'salt') } }).audit;
    const m = memory();
    createAuditLog(config, { stream: m.stream }).record(decision(), 0.001);
    const e = m.lines[0];
    expect(e.principal.id).toMatch(/^hmac:[A-Za-z0-9_-]{22}$/);
    expect(e.resource.id).toMatch(/^hmac:/);
    expect(JSON.stringify(e)).not.toContain('alice@example.com');
    expect(JSON.stringify(e)).not.toContain('acc-1001');
    // Stable: the same input hashes the same way, so events stay joinable.
    const again = memory();
    createAuditLog(config, { stream: again.stream }).record(decision(), 0.001);
    expect(again.lines[0].principal.id).toBe(e.principal.id);
  });

  it('hands the destination one write per event-loop turn, whole lines within the pipe limit, in order', async () => {
    const writes: string[] = [];
    const audit = createAuditLog(ConfigSchema.parse({ audit: { destination: 'stdout' } }).audit, {
      stream: { write: (s: string) => void writes.push(s) },
      batch: true,
    });
    for (let i = 0; i < 40; i++) audit.record(decision({ id: `d-${i}` }), 0.0001);
    // Nothing is written while the turn lasts, except batches that reached the limit.
    const early = writes.length;
    expect(early).toBeLessThan(40);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.length).toBeGreaterThan(early);
    expect(writes.length).toBeLessThan(40);
    for (const w of writes) {
      expect(Buffer.byteLength(w)).toBeLessThanOrEqual(4096);
      expect(w.endsWith('\n')).toBe(true);
    }
    const ids = writes
      .join('')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { decision_id: string }).decision_id);
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => `d-${i}`));
  });

  it('keeps a batch within a quarter of bufferBytes, so a write always fits the buffer and is tried', async () => {
    const writes: string[] = [];
    const audit = createAuditLog(ConfigSchema.parse({ audit: { destination: '/tmp/x', bufferBytes: 4096 } }).audit, {
      stream: { write: (s: string) => void writes.push(s) },
      batch: true,
    });
    for (let i = 0; i < 20; i++) audit.record(decision({ id: `d-${i}` }), 0.0001);
    await audit.flush();
    expect(writes.join('').trim().split('\n')).toHaveLength(20);
    // A batch is one line, or lines that together stay within 1,024 bytes.
    for (const w of writes) expect(Buffer.byteLength(w) <= 1024 || w.indexOf('\n') === w.length - 1).toBe(true);
  });

  it('loses no batched event on flush or close', async () => {
    const writes: string[] = [];
    const audit = createAuditLog(ConfigSchema.parse({}).audit, {
      stream: { write: (s: string) => void writes.push(s) },
      batch: true,
    });
    audit.record(decision({ id: 'd-a' }), 0.0001);
    await audit.flush();
    expect(writes.join('')).toContain('"decision_id":"d-a"');
    audit.record(decision({ id: 'd-b' }), 0.0001);
    await audit.close();
    expect(writes.join('').trim().split('\n')).toHaveLength(2);
  });

  it('writes to a file asynchronously and flushes on close', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-audit-'));
    const file = path.join(dir, 'nested', 'audit.log');
    let written = 0;
    const audit = createAuditLog(ConfigSchema.parse({ audit: { destination: file } }).audit, {
      onWritten: () => written++,
    });
    for (let i = 0; i < 1000; i++) audit.record(decision({ id: `d-${i}` }), 0.0001);
    await audit.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1000);
    expect(written).toBe(1000);
    expect(JSON.parse(lines[999]).decision_id).toBe('d-999');
  });
});

describe('audit log: replay inputs', () => {
  let issuer: TestIssuer;
  let pipeline: CheckPipeline;
  beforeAll(async () => {
    issuer = await createTestIssuer();
    const config = testConfig(issuer);
    const engine = new CedarWasmEngine({ validateRequests: true });
    const store = new PolicyStore(engine);
    store.activate(compilePolicyModel(examplePolicyFiles()));
    pipeline = new CheckPipeline({
      config,
      store,
      engine,
      verifier: new TokenVerifier(config.tokens, { now: Date.now }),
      now: Date.now,
      newId: () => 'd-42',
    });
  });

  /** A real Check through the pipeline (example policies), recorded by an audit log with `audit` config. */
  async function logged(audit: ConfigInput['audit'], token: string | undefined, path = '/accounts/acc-1001') {
    const request = httpCheckRequest({
      path,
      token,
      headers: { 'x-api-secret': 'header-value-never-logged' },
      sourceIp: '192.0.2.77',
    }) as any;
    request.attributes.request.http.body = '{"pin":"body-value-never-logged"}';
    const m = memory();
    createAuditLog(ConfigSchema.parse({ audit }).audit, { stream: m.stream }).record(
      await pipeline.check(request as CheckRequestMessage),
      0.001,
    );
    return { event: m.lines[0], text: JSON.stringify(m.lines[0]) };
  }

  it('adds the Cedar request as evaluated, without the entity slice, token, headers or body', async () => {
    const token = await issuer.sign({ sub: 'alice', email: 'alice@example.com', roles: ['customer'] });
    const { event, text } = await logged({}, token);
    expect(event).toMatchObject({ decision: 'allow', source: 'engine', reason: 'policy_allowed' });
    expect(Object.keys(event.input).sort()).toEqual(['action', 'context', 'principal', 'resource']);
    expect(event.input.principal).toEqual({
      uid: { type: 'Bank::User', id: 'alice' },
      attrs: { tenant: 'acme', email: 'alice@example.com' },
      parents: [{ type: 'Bank::Role', id: 'customer' }],
    });
    expect(event.input.action).toEqual({ type: 'Bank::Action', id: 'readAccount' });
    expect(event.input.resource).toEqual({ type: 'Bank::Account', id: 'acc-1001' });
    expect(event.input.context.request).toMatchObject({
      method: 'GET',
      path: '/accounts/acc-1001',
      routeId: 'get-account',
      sourceIp: { __extn: { fn: 'ip', arg: '192.0.2.77' } },
    });
    expect(event.input.context.token).toMatchObject({
      iss: ISSUER,
      sub: 'alice',
      tenant: 'acme',
      scope: ['accounts:read'],
    });
    // The account entity (resource of the slice) is not logged: a replay takes it from its own store.
    expect(text).not.toContain('"owner"');
    for (const secret of [
      token,
      token.split('.')[2],
      'header-value-never-logged',
      'body-value-never-logged',
      'curl/8.5.0',
      'Bearer',
    ]) {
      expect(text).not.toContain(secret);
    }
    // What the input holds is valid as a replay needs it.
    expect(parseDecisionEvent(event)).toMatchObject({ ok: true, event: { input: { resource: { id: 'acc-1001' } } } });
  });

  it('has no input for denies that never reached the engine, nor with includeInputs off', async () => {
    expect((await logged({}, undefined)).event).toMatchObject({ reason: 'token_missing', source: 'authentication' });
    expect((await logged({}, undefined)).event.input).toBeUndefined();
    const unrouted = await logged({}, await issuer.sign({ sub: 'alice' }), '/nowhere');
    expect(unrouted.event).toMatchObject({ reason: 'route_not_found' });
    expect(unrouted.event.input).toBeUndefined();
    const off = await logged({ includeInputs: false }, await issuer.sign({ sub: 'alice' }));
    expect(off.event).toMatchObject({ decision: 'allow', source: 'engine' });
    expect(off.event.input).toBeUndefined();
  });

  it('hashes identifiers in the input the same way as the top-level fields', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-audit-'));
    writeFileSync(path.join(dir, 'salt'), 'another-long-enough-salt\n');
    const token = await issuer.sign({ sub: 'alice', email: 'alice@example.com', roles: ['customer'] });
    const { event, text } = await logged({ hashIdentifiers: true, hashSaltFile: path.join(dir, 'salt') }, token);
    expect(event.hashed).toBe(true);
    const { input } = event;
    expect(input.principal.uid).toEqual(event.principal);
    expect(input.resource).toEqual(event.resource);
    expect(input.principal.uid.id).toMatch(/^hmac:[A-Za-z0-9_-]{22}$/);
    // Every other occurrence of the raw principal id hashes to the same value.
    expect(input.context.token.sub).toBe(input.principal.uid.id);
    expect(input.principal.attrs.email).toMatch(/^hmac:/);
    expect(input.principal.attrs.tenant).toBe('acme');
    expect(input.principal.parents).toEqual([{ type: 'Bank::Role', id: 'customer' }]);
    expect(input.context.request.path).toMatch(/^hmac:/);
    expect(input.context.request.sourceIp).toBeUndefined();
    expect(input.action).toEqual({ type: 'Bank::Action', id: 'readAccount' });
    for (const personal of ['"alice"', 'alice@example.com', 'acc-1001', '192.0.2.77'])
      expect(text).not.toContain(personal);
    expect(parseDecisionEvent(event)).toMatchObject({ ok: true, event: { hashed: true } });
  });

  it('hands each event line, as written, to listeners', () => {
    const written: string[] = [];
    const audit = createAuditLog(ConfigSchema.parse({}).audit, {
      stream: { write: (s: string) => void written.push(s) },
    });
    const heard: string[] = [];
    const stop = audit.onEvent((line) => heard.push(line));
    audit.record(decision({ id: 'd-a' }), 0.001);
    audit.record(
      { kind: 'error', failure: { id: 'd-b', reason: 'jwks_unavailable', policyVersion: 'v1', detail: 'x' } },
      0.5,
    );
    stop();
    audit.record(decision({ id: 'd-c' }), 0.001);
    expect(heard).toEqual(written.slice(0, 2));
    expect(written).toHaveLength(3);
    expect(heard.every((line) => line.endsWith('}\n') && line.indexOf('\n') === line.length - 1)).toBe(true);
    expect(JSON.parse(heard[0])).toMatchObject({ log: 'audit', decision_id: 'd-a' });
  });
});

describe('docs/audit.md', () => {
  it('documents every top-level field an event can have, and no other', async () => {
    const { readFileSync: read } = await import('node:fs');
    const doc = read(new URL('../../../docs/audit.md', import.meta.url), 'utf8');
    const table = doc
      .split('\n')
      .filter((l) => /^\| `[a-z_]+` \| /.test(l))
      .map((l) => /^\| `([a-z_]+)`/.exec(l)![1]);
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-audit-fields-'));
    writeFileSync(path.join(dir, 'salt'), 'a-long-enough-salt-value\n');
    const fields = new Set<string>();
    for (const config of [
      ConfigSchema.parse({}).audit,
      ConfigSchema.parse({ audit: { hashIdentifiers: true, hashSaltFile: path.join(dir, 'salt') } }).audit,
    ]) {
      const m = memory();
      const audit = createAuditLog(config, { stream: m.stream });
      audit.record(
        decision({
          risk: 'high',
          errors: ['p9'],
          remote: { result: 'timeout', failureMode: 'closed', ms: 51 },
          rateLimit: { scope: 'principal', burst: 2, windowSeconds: 1, retryAfterSeconds: 3 },
          input: {
            principal: { type: 'Bank::User', id: 'a' },
            action: { type: 'Bank::Action', id: 'r' },
            resource: { type: 'Bank::Account', id: 'x' },
            context: {},
            principalEntity: undefined,
          },
        }),
        0.001,
      );
      audit.record(
        { kind: 'error', failure: { id: 'e', reason: 'internal_error', policyVersion: 'v', detail: 'x' } },
        0.001,
      );
      for (const line of m.lines) for (const key of Object.keys(line)) fields.add(key);
    }
    expect([...fields].sort()).toEqual([...new Set(table.filter((k) => !k.includes('.')))].sort());
  });
});
