import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { createAuditLog } from '../../../src/audit/audit-log.js';
import { formatReplayReport } from '../../../src/audit/format-replay-report.js';
import { readLogLines } from '../../../src/audit/read-log-lines.js';
import { exactChanges, type LogLine, replayDecisions } from '../../../src/audit/replay-decisions.js';
import { CheckPipeline } from '../../../src/check/check-pipeline.js';
import { type ConfigInput, ConfigSchema } from '../../../src/config/config-schema.js';
import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../../../src/engine/policy-store.js';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { TokenVerifier } from '../../../src/token/token-verifier.js';
import { testConfig } from '../../helpers/config.js';
import { createTestIssuer, type TestIssuer } from '../../helpers/issuer.js';
import { examplePolicyFiles } from '../../helpers/policy-files.js';
import { httpCheckRequest } from '../../helpers/test-authzd.js';

const MAINTENANCE = {
  'maintenance.cedar': '@id("maintenance")\nforbid (principal, action == Bank::Action::"readAccount", resource);\n',
};

let issuer: TestIssuer;
let plainLog: string;
let hashedLog: string;
const engine = new CedarWasmEngine({ validateRequests: true });

/** A decision log written by the real pipeline and audit log (example policies): allows, denies, the rest. */
async function writeLog(audit: ConfigInput['audit']): Promise<string> {
  const config = testConfig(issuer);
  const store = new PolicyStore(engine);
  store.activate(compilePolicyModel(examplePolicyFiles()));
  let n = 0;
  const pipeline = new CheckPipeline({
    config,
    store,
    engine,
    verifier: new TokenVerifier(config.tokens, { now: Date.now }),
    now: Date.now,
    newId: () => `d-${++n}`,
  });
  const lines: string[] = [];
  const log = createAuditLog(ConfigSchema.parse({ audit }).audit, {
    stream: { write: (line: string) => void lines.push(line) },
  });
  const check = async (path: string, token?: string, method = 'GET') =>
    log.record(await pipeline.check(httpCheckRequest({ path, token, method })), 0.001);
  const alice = await issuer.sign({ sub: 'alice', roles: ['customer'] });
  const bob = await issuer.sign({ sub: 'bob', roles: ['teller'] });
  const carol = await issuer.sign({ sub: 'carol', roles: ['customer'] });
  await check('/accounts/acc-1001', alice); // d-1 allow account-owner-read
  await check('/accounts/acc-1001', bob); // d-2 allow teller-read
  await check('/accounts/acc-1002', alice); // d-3 allow account-owner-read
  await check('/accounts/acc-2001', alice); // d-4 deny tenant-isolation
  await check('/accounts/acc-1001', carol); // d-5 deny no_matching_permit
  await check('/accounts/acc-1001'); // d-6 token_missing: before the engine
  await check('/nowhere', alice); // d-7 route_not_found: before the engine
  // d-8 step_up_required: only the @stepUp forbid transfer-requires-mfa denies (no acr=mfa).
  await check(
    '/accounts/acc-1001/transfers',
    await issuer.sign({ sub: 'alice', roles: ['customer'], scope: 'payments:write' }),
    'POST',
  );
  log.record(
    { kind: 'error', failure: { id: 'd-err', reason: 'jwks_unavailable', policyVersion: 'v', detail: 'x' } },
    0.001,
  );
  // What else a shared stream carries: a diagnostic line, a plain text line, a broken decision event.
  lines.push('{"level":30,"msg":"authzd ready"}\n', 'some text\n', '{"type":"authz.decision","decision_id":"d-9"}\n');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'authzd-replay-')), 'audit.log');
  writeFileSync(file, lines.join(''));
  return file;
}

async function readLines(file: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const { text } of readLogLines([file])) if (text.startsWith('{"log":"audit"')) out.push(JSON.parse(text));
  return out;
}

async function replay(file: string, changes: Record<string, string | null> = {}, limit?: number) {
  const set = engine.prepare(compilePolicyModel(examplePolicyFiles(changes)));
  return replayDecisions(readLogLines([file]), { engine, set, ...(limit !== undefined ? { limit } : {}) });
}

beforeAll(async () => {
  issuer = await createTestIssuer();
  plainLog = await writeLog({});
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-replay-'));
  writeFileSync(path.join(dir, 'salt'), 'replay-test-salt-0123456789\n');
  hashedLog = await writeLog({ hashIdentifiers: true, hashSaltFile: path.join(dir, 'salt') });
});

describe('replayDecisions', () => {
  it('finds no change against the policy set that made the decisions', async () => {
    const report = await replay(plainLog);
    expect(report.events).toBe(9);
    // The step-up deny replays as a step-up deny, not as the policy_denied Cedar itself answers.
    expect((await readLines(plainLog)).find((e) => e.decision_id === 'd-8')).toMatchObject({
      reason: 'step_up_required',
      policies: ['transfer-requires-mfa'],
    });
    expect(report.exact).toEqual({ unchanged: 6, allow_to_deny: 0, deny_to_allow: 0, reason_changed: 0 });
    expect(report.notReplayable).toEqual({ noInput: 0, outsideEngine: 2, errors: 1, failed: 0 });
    expect(report.lines).toEqual({ read: 12, notDecision: 2, malformed: 1 });
    expect(report.malformedExamples).toEqual([`${plainLog}:12: time: expected an ISO 8601 timestamp`]);
    expect(report.changes).toEqual([]);
    expect(exactChanges(report)).toBe(0);
    expect(formatReplayReport(report, { files: [plainLog], policies: 'policies/' })).toContain(
      'no decision would change.',
    );
  });

  it('reports the allows an added forbid turns into denies, with the forbid and example ids', async () => {
    const report = await replay(plainLog, MAINTENANCE);
    expect(report.exact).toEqual({ unchanged: 1, allow_to_deny: 3, deny_to_allow: 0, reason_changed: 2 });
    expect(exactChanges(report)).toBe(5);
    expect(report.changes).toEqual([
      {
        kind: 'allow_to_deny',
        route: 'get-account',
        approximate: false,
        before: { decision: 'allow', reason: 'policy_allowed', policies: ['account-owner-read'] },
        after: { decision: 'deny', reason: 'policy_denied', policies: ['maintenance'] },
        count: 2,
        examples: ['d-1', 'd-3'],
      },
      expect.objectContaining({
        kind: 'allow_to_deny',
        before: expect.objectContaining({ policies: ['teller-read'] }),
        count: 1,
        examples: ['d-2'],
      }),
      expect.objectContaining({
        kind: 'reason_changed',
        before: expect.objectContaining({ reason: 'no_matching_permit' }),
        after: expect.objectContaining({ reason: 'policy_denied', policies: ['maintenance'] }),
        examples: ['d-5'],
      }),
      expect.objectContaining({
        kind: 'reason_changed',
        before: expect.objectContaining({ policies: ['tenant-isolation'] }),
        after: {
          decision: 'deny',
          reason: 'policy_denied',
          policies: expect.arrayContaining(['maintenance', 'tenant-isolation']),
        },
        examples: ['d-4'],
      }),
    ]);
    const text = formatReplayReport(report, { files: [plainLog], policies: 'changed/' });
    expect(text).toMatch(
      /allow -> deny\s+get-account\s+allow policy_allowed \(account-owner-read\)\s+deny policy_denied \(maintenance\)\s+2\s+d-1, d-3/,
    );
    expect(text).not.toContain('approximate');
  });

  it('reports the denies a removed forbid turns into allows', async () => {
    const report = await replay(plainLog, { 'tenants.cedar': null });
    expect(report.exact).toMatchObject({ deny_to_allow: 0, allow_to_deny: 0 });
    // Without tenant-isolation alice is still no teller of globex: the deny stays, for another reason.
    expect(report.changes).toEqual([
      expect.objectContaining({
        kind: 'reason_changed',
        after: { decision: 'deny', reason: 'no_matching_permit', policies: [] },
        examples: ['d-4'],
      }),
    ]);
    const open = await replay(plainLog, {
      'open.cedar': '@id("open-reads")\npermit (principal, action == Bank::Action::"readAccount", resource);\n',
    });
    expect(open.exact).toEqual({ unchanged: 2, allow_to_deny: 0, deny_to_allow: 1, reason_changed: 3 });
    expect(open.changes).toContainEqual(
      expect.objectContaining({
        kind: 'deny_to_allow',
        before: expect.objectContaining({ reason: 'no_matching_permit' }),
        after: expect.objectContaining({ policies: ['open-reads'] }),
        examples: ['d-5'],
      }),
    );
    // An allow now also permitted by the new policy: same decision, more determining policies.
    expect(open.changes).toContainEqual(expect.objectContaining({ kind: 'reason_changed', examples: ['d-1', 'd-3'] }));
  });

  it('replays hashed logs only approximately, counts them apart and says so', async () => {
    const report = await replay(hashedLog, MAINTENANCE);
    expect(report.exact).toEqual({ unchanged: 0, allow_to_deny: 0, deny_to_allow: 0, reason_changed: 0 });
    expect(Object.values(report.approximate).reduce((a, b) => a + b, 0)).toBe(6);
    expect(report.changes.every((g) => g.approximate)).toBe(true);
    expect(exactChanges(report)).toBe(0);
    const text = formatReplayReport(report, { files: [hashedLog], policies: 'changed/' });
    expect(text).toContain('replayed approximately (hashed identifiers)');
    expect(text).toContain('entity lookups by id fail');
    expect(text).toContain('allow -> deny (approx.)');
  });

  it('counts engine decisions logged without input apart from denies before the engine', async () => {
    const lines: LogLine[] = [
      {
        file: 'f',
        line: 1,
        text: JSON.stringify({
          type: 'authz.decision',
          time: '2026-01-01T00:00:00Z',
          decision_id: 'a',
          decision: 'allow',
          reason: 'policy_allowed',
          source: 'engine',
        }),
      },
      {
        file: 'f',
        line: 2,
        text: JSON.stringify({
          type: 'authz.decision',
          time: '2026-01-01T00:00:00Z',
          decision_id: 'b',
          decision: 'deny',
          reason: 'token_expired',
          source: 'authentication',
        }),
      },
      {
        file: 'f',
        line: 3,
        text: JSON.stringify({
          type: 'authz.decision',
          time: '2026-01-01T00:00:00Z',
          decision_id: 'c',
          decision: 'deny',
          reason: 'no_matching_permit',
          source: 'cache',
        }),
      },
    ];
    const set = engine.prepare(compilePolicyModel(examplePolicyFiles()));
    const report = await replayDecisions(
      (async function* () {
        yield* lines;
      })(),
      { engine, set, limit: 2 },
    );
    expect(report.notReplayable).toMatchObject({ noInput: 1, outsideEngine: 1 });
    expect(report.events).toBe(2);
    expect(report.limited).toBe(true);
  });

  it('does not replay answers policies did not give, even when they carry an input', async () => {
    const engineEvent = (await readLines(plainLog)).find((e) => e.decision_id === 'd-1')!;
    const lines: LogLine[] = [
      { ...engineEvent, decision_id: 'rl', decision: 'deny', reason: 'rate_limited', source: 'rate-limit' },
      { ...engineEvent, decision_id: 'ru', decision: 'deny', reason: 'remote_unavailable', source: 'remote' },
      { ...engineEvent, decision_id: 'rm', source: 'remote' },
    ].map((e, i) => ({ file: 'f', line: i + 1, text: JSON.stringify(e) }));
    const set = engine.prepare(compilePolicyModel(examplePolicyFiles(MAINTENANCE)));
    const report = await replayDecisions(
      (async function* () {
        yield* lines;
      })(),
      { engine, set },
    );
    expect(report.notReplayable).toMatchObject({ outsideEngine: 2, noInput: 0 });
    // A remote decision was an evaluation (by the control plane's engine): it is replayed.
    expect(report.exact.allow_to_deny).toBe(1);
    expect(report.changes.map((g) => g.examples)).toEqual([['rm']]);
  });
});
