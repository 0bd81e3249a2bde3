import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAuditLog } from '../../../src/audit/audit-log.js';
import type { CheckOutcome } from '../../../src/check/decision.js';
import { ConfigSchema } from '../../../src/config/config-schema.js';

const decision = (over: Record<string, unknown> = {}): CheckOutcome => ({
  kind: 'decision',
  decision: {
    id: 'd-1',
    allowed: true,
    reason: 'policy_allowed',
    source: 'engine',
    policies: ['p1'],
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
    audit.record({ kind: 'error', failure: { id: 'd-2', reason: 'jwks_unavailable', policyVersion: 'v1', detail: 'x' } }, 0.5);
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

  it('writes to a file asynchronously and flushes on close', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-audit-'));
    const file = path.join(dir, 'nested', 'audit.log');
    let written = 0;
    const audit = createAuditLog(ConfigSchema.parse({ audit: { destination: file } }).audit, { onWritten: () => written++ });
    for (let i = 0; i < 1000; i++) audit.record(decision({ id: `d-${i}` }), 0.0001);
    await audit.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1000);
    expect(written).toBe(1000);
    expect(JSON.parse(lines[999]!).decision_id).toBe('d-999');
  });
});
