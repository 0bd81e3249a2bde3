import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { generateSigningKeys } from '../../../src/bundle/bundle-keys.js';
import { writeTar } from '../../../src/bundle/write-tar.js';
import { DEFAULT_TIMING } from '../../../src/control-plane/control-plane-options.js';
import { startControlPlane } from '../../../src/control-plane/start-control-plane.js';
import { validatePolicyFiles } from '../../../src/control-plane/validate-policy-files.js';
import { CedarWasmEngine } from '../../../src/engine/cedar-wasm/cedar-wasm-engine.js';
import { PolicyStore } from '../../../src/engine/policy-store.js';
import { compilePolicyModel } from '../../../src/policy/compile-policy-model.js';
import { readPolicyTests } from '../../../src/policy-test/read-policy-tests.js';
import { createLogger } from '../../../src/telemetry/create-logger.js';
import { EXAMPLE_POLICIES, examplePolicyFiles } from '../../helpers/policy-files.js';

const OWNER_READS = `- name: the owner reads her account
  claims: { sub: alice, tenant: acme, roles: [customer] }
  method: GET
  path: /accounts/acc-1001
  expect: { decision: allow, policies: [account-owner-read] }
`;
// account-owner-read with its condition turned off: the owner's test must catch it.
const noOwnerRead = (text: string) => text.replace('when { resource.owner == principal };', 'when { false };');

describe('validatePolicyFiles', () => {
  it('passes the example set, with and without its tests', async () => {
    expect(await validatePolicyFiles(examplePolicyFiles())).toBeUndefined();
    expect(
      await validatePolicyFiles(examplePolicyFiles(), { tests: await readPolicyTests(EXAMPLE_POLICIES) }),
    ).toBeUndefined();
  });

  it('lists every problem of a broken set, by file', async () => {
    const rejection = await validatePolicyFiles(
      examplePolicyFiles({ 'accounts.cedar': 'permit (principal, action, resource) when {', 'routes.yaml': null }),
    );
    expect(rejection).toMatchObject({ reason: 'policy_invalid' });
    expect(rejection!.tests).toBeUndefined();
    const problems = rejection!.problems;
    expect(problems).toContain('routes.yaml: missing');
    expect(problems.some((p) => /^accounts\.cedar:1:\d+: /.test(p))).toBe(true);
  });

  it('turns each failing test case into a problem, and each invalid test file into its problems', async () => {
    const files = examplePolicyFiles();
    const accounts = noOwnerRead(files.get('accounts.cedar')!);
    const tests = new Map([
      ['tests/accounts.yaml', OWNER_READS],
      ['tests/bad.yaml', '- name: x\n  expect: { decision: allow }\n  extra: 1\n'],
    ]);
    expect(await validatePolicyFiles(examplePolicyFiles({ 'accounts.cedar': accounts }), { tests })).toEqual({
      reason: 'policy_tests_failed',
      problems: [
        'tests/bad.yaml:3:3: [0].extra: unknown key',
        'tests/bad.yaml:1:3: [0]: a case needs a request (method + path, or action + resource), or peer alone for a connection',
        "tests/accounts.yaml: case 'the owner reads her account': expected allow (account-owner-read), got deny no_matching_permit",
      ],
      tests: { cases: 1, failed: 1 },
    });
    // Invalid test files alone: the tests cannot run.
    expect(
      await validatePolicyFiles(examplePolicyFiles(), {
        tests: new Map([['tests/bad.yaml', '- name: x\n  expect: { decision: allow }\n  extra: 1\n']]),
      }),
    ).toMatchObject({
      reason: 'policy_tests_invalid',
      tests: { cases: 0, failed: 0 },
    });
    // A set that does not compile reports its compile problems only: its tests cannot run.
    const broken = await validatePolicyFiles(examplePolicyFiles({ 'routes.yaml': null }), { tests });
    expect(broken).toEqual({ reason: 'policy_invalid', problems: ['routes.yaml: missing'] });
  });

  it("runs the tests on the caller's engine without disturbing the set it serves", async () => {
    const engine = new CedarWasmEngine({ validateRequests: true });
    const store = new PolicyStore(engine);
    store.activate(
      compilePolicyModel(
        examplePolicyFiles({
          'extra.cedar': '@id("served-only") forbid (principal, action == Bank::Action::"connect", resource);',
        }),
      ),
    );
    const served = () => {
      const set = store.acquire()!;
      try {
        const call = {
          principal: { type: 'Bank::Workload', id: 'spiffe://cluster.local/ns/bank/sa/ledger' },
          action: { type: 'Bank::Action', id: 'connect' },
          resource: { type: 'Bank::Service', id: 'spiffe://cluster.local/ns/bank/sa/core-banking' },
          context: { connection: { time: 1 } },
          principalEntity: undefined,
          entities: [],
        };
        return engine.authorize(set, call);
      } finally {
        store.release(set);
      }
    };
    expect(served()).toMatchObject({ kind: 'decision', allow: false, determining: ['served-only'] });
    expect(
      await validatePolicyFiles(examplePolicyFiles(), { tests: await readPolicyTests(EXAMPLE_POLICIES), engine }),
    ).toBeUndefined();
    // The engine's ids for the tests' set differ from the served set's, which still holds its own policies.
    expect(served()).toMatchObject({ kind: 'decision', allow: false, determining: ['served-only'] });
  });
});

describe('the control plane publication gate', () => {
  it('does not publish a directory edit that makes a policy test fail, and says which case; uploads are not tested', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authzd-cp-gate-'));
    const policies = path.join(dir, 'policies');
    cpSync(EXAMPLE_POLICIES, policies, { recursive: true });
    const keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'ES256', kid: 'gate-test' });
    const admin = 'admin-token-0123456789abcdef';
    const cp = await startControlPlane(
      {
        policies,
        signingKeyFile: keys.privateKeyFile,
        kid: keys.kid,
        address: '127.0.0.1:0',
        store: { kind: 'directory', directory: path.join(dir, 'data') },
        bundleName: 'bank',
        scope: 'bank',
        adminToken: admin,
        readToken: undefined,
        history: 5,
        // No watch-triggered publications during the test: each one below is asked for.
        timing: { ...DEFAULT_TIMING, watchDebounceMs: 3_600_000, pollMs: 3_600_000 },
      },
      { logger: createLogger('silent') },
    );
    try {
      // Revisions follow the clock (at least the Unix time in seconds); only their order matters here.
      const first = cp.publisher.current!.revision;
      expect(first).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 60);
      const file = path.join(policies, 'accounts.cedar');
      const good = readFileSync(file, 'utf8');
      writeFileSync(file, noOwnerRead(good));

      const outcome = await cp.publishDirectory();
      expect(outcome).toMatchObject({ result: 'rejected' });
      const problems = outcome.result === 'rejected' ? outcome.problems : [];
      expect(problems).toContain(
        "tests/accounts.yaml: case 'the owner reads her account': expected allow (account-owner-read), got deny no_matching_permit",
      );
      expect(cp.publisher.current!.revision).toBe(first);

      const publish = (body?: Uint8Array) =>
        fetch(`http://127.0.0.1:${cp.port}/v1/bundles/bank/publish`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${admin}`,
            ...(body !== undefined ? { 'content-type': 'application/gzip' } : {}),
          },
          ...(body !== undefined ? { body } : {}),
        });
      const refused = await publish();
      expect(refused.status).toBe(422);
      expect(await refused.json()).toMatchObject({
        error: 'policy_rejected',
        problems: expect.arrayContaining([expect.stringContaining("case 'the owner reads her account'")]),
      });
      expect(cp.publisher.current!.revision).toBe(first);

      // The same files uploaded carry no tests: they only have to compile.
      const files = examplePolicyFiles({ 'accounts.cedar': noOwnerRead(good) });
      const uploaded = await publish(gzipSync(writeTar([...files].map(([n, t]) => [n, Buffer.from(t)] as const))));
      const second = (await uploaded.json()) as { result: string; revision: number };
      expect(second.result).toBe('published');
      expect(second.revision).toBeGreaterThan(first);

      // Fixing the policy lets the directory publish again, tests and all.
      writeFileSync(file, good);
      const third = await cp.publishDirectory();
      expect(third).toMatchObject({ result: 'published' });
      expect(third.result === 'published' && third.bundle.revision).toBeGreaterThan(second.revision);
      expect([...cp.publisher.current!.files.keys()].some((name) => name.startsWith('tests'))).toBe(false);
    } finally {
      await cp.shutdown();
    }
  });
});
