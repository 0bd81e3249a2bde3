// A publication the gate refuses is reported where the operator acts, with real processes: an emergency
// forbid dropped into the watched policy directory breaks policy tests; the refusal shows in the control
// plane's metric (with the reason) and log, in the answer to POST .../publish, and in the output of
// `authzd bundle publish`, which lists the failing cases. Then the fixed set, and an upload, go through it.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateSigningKeys } from '../../src/bundle/bundle-keys.js';
import { CLI, ROOT, type RunningCli, spawnCli } from '../helpers/spawn-cli.js';
import { until } from '../helpers/until.js';

const ADMIN = 'gate-admin-token-0123456789abcdef';
const FREEZE =
  '// Emergency: stop every request while the incident is investigated.\n@id("freeze-everything")\nforbid (principal, action, resource);\n';

let dir: string;
let policies: string;
let tokenFile: string;
let cp: RunningCli<{ port: number; adminPort: number }>;
const bundleUrl = () => `http://127.0.0.1:${cp.info.adminPort}/v1/bundles/default`;
const metrics = async () => (await fetch(`http://127.0.0.1:${cp.info.port}/metrics`)).text();

function publishCli(...extra: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'bundle', 'publish', '--url', bundleUrl(), '--token-file', tokenFile, ...extra],
      { timeout: 100_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr }),
    );
  });
}

/** The control plane's JSON log lines with this message. */
const logLines = (msg: string) =>
  cp
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'authzd-gate-report-'));
  policies = path.join(dir, 'policies');
  cpSync(path.join(ROOT, 'policies'), policies, { recursive: true });
  tokenFile = path.join(dir, 'admin-token');
  writeFileSync(tokenFile, `${ADMIN}\n`);
  const keys = await generateSigningKeys(path.join(dir, 'keys'), { alg: 'ES256', kid: 'gate-report' });
  cp = await spawnCli(
    [
      'control-plane',
      '--policies',
      policies,
      '--signing-key',
      keys.privateKeyFile,
      '--kid',
      keys.kid,
      '--addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
      '--data',
      path.join(dir, 'data'),
      '--admin-token-file',
      tokenFile,
    ],
    (l) => (l.msg === 'control plane ready' ? { port: l.port as number, adminPort: l.adminPort as number } : undefined),
  );
});
afterAll(async () => {
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Revisions are numbered by the clock (docs/control-plane.md): the first is read, the rest compared with it.
let first: number;
let second: number;

describe('a refused publication is reported where the operator acts', () => {
  it('the control plane publishes its first revision', async () => {
    first = await until(
      'the first revision',
      async () => Number(/authzd_cp_bundle_revision (\d+)\n/.exec(await metrics())?.[1] ?? 0) || undefined,
    );
    expect(first).toBeGreaterThan(0);
  });

  it('an emergency forbid that breaks policy tests, dropped into the watched directory: the metric and the log give the reason', async () => {
    writeFileSync(path.join(policies, 'emergency.cedar'), FREEZE);
    await until('the watch-triggered rejection to be counted with its reason', async () =>
      /authzd_cp_publish_rejections_total\{reason="policy_tests_failed",trigger="watch"\} 1/.test(await metrics())
        ? true
        : undefined,
    );
    expect(await metrics()).toMatch(new RegExp(`authzd_cp_bundle_revision ${first}\n`));
    const [line] = logLines('policy set rejected; not published');
    expect(line).toMatchObject({ trigger: 'watch', reason: 'policy_tests_failed', served: first });
    const tests = line.tests as { cases: number; failed: number };
    expect(tests.failed).toBeGreaterThan(0);
    expect(tests.cases).toBeGreaterThanOrEqual(tests.failed);
    expect(
      (line.problems as string[]).filter((p) => / got deny policy_denied \(.*freeze-everything.*\)/.test(p)).length,
    ).toBe(tests.failed);
  });

  it('authzd bundle publish prints the verdict: the reason, every failing case, the revision sidecars keep (exit 1)', async () => {
    const r = await publishCli();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /^authzd bundle publish: refused by the publication gate \(policy_tests_failed\): (\d+) of (\d+) policy test cases fail; nothing was published\n/,
    );
    const failed = Number(/(\d+) of \d+ policy test cases fail/.exec(r.stderr)![1]);
    const cases = r.stderr
      .split('\n')
      .filter((l) =>
        /^ {2}- tests\/\w+\.yaml: case '.+': expected .+, got deny policy_denied \(.*freeze-everything.*\)$/.test(l),
      );
    expect(cases.length).toBe(failed);
    expect(r.stderr).toMatch(new RegExp(`\nsidecars keep revision ${first}\n$`));
    expect(r.stdout).toBe('');
  });

  it('the publish API answers 422 with the reason, the test totals, every problem and the revision still served', async () => {
    const res = await fetch(`${bundleUrl()}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { tests: { failed: number }; problems: string[] };
    expect(body).toMatchObject({
      error: 'policy_rejected',
      reason: 'policy_tests_failed',
      current: first,
      detail: expect.stringMatching(/^\d+ of \d+ policy test cases fail; nothing was published$/),
    });
    expect(body.problems.length).toBe(body.tests.failed);
    // Every trigger is counted under its reason.
    const text = await metrics();
    expect(text).toMatch(/authzd_cp_publish_rejections_total\{reason="policy_tests_failed",trigger="api"\} 2/);
    expect(text).toMatch(/authzd_cp_policy_problems [1-9]/);
  });

  it('once the forbid is gone, the directory passes the gate again and the CLI says so (exit 0)', async () => {
    unlinkSync(path.join(policies, 'emergency.cedar'));
    const r = await publishCli();
    expect(r.code, r.stderr).toBe(0);
    // The directory holds the first revision's files again.
    expect(r.stdout).toMatch(
      new RegExp(
        `^unchanged: revision ${first} already holds these files of bundle default \\(etag "${first}-[0-9a-f]{16}", sha256:[0-9a-f]{64}\\)\n$`,
      ),
    );
  });

  it('uploads a directory with DIR: published, or refused with the compile problem and its position', async () => {
    const upload = path.join(dir, 'upload');
    cpSync(policies, upload, { recursive: true });
    writeFileSync(
      path.join(upload, 'accounts.cedar'),
      `// uploaded\n${(await import('node:fs')).readFileSync(path.join(policies, 'accounts.cedar'), 'utf8')}`,
    );
    const ok = await publishCli(upload);
    expect(ok.code, ok.stderr).toBe(0);
    second = Number(/^published revision (\d+) of bundle default/.exec(ok.stdout)?.[1]);
    expect(second).toBeGreaterThan(first);

    writeFileSync(path.join(upload, 'broken.cedar'), 'permit (principal, action,\n');
    const refused = await publishCli(upload);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /refused by the publication gate \(policy_invalid\): the policy set does not compile/,
    );
    expect(refused.stderr).toMatch(/\n {2}- broken\.cedar/);
    expect(refused.stderr).toMatch(new RegExp(`\nsidecars keep revision ${second}\n$`));
  });

  it('says what went wrong when the control plane refuses the token or cannot be reached', async () => {
    writeFileSync(path.join(dir, 'wrong-token'), 'wrong-token-0123456789abcdef');
    const wrong = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [CLI, 'bundle', 'publish', '--url', bundleUrl(), '--token-file', path.join(dir, 'wrong-token')],
        (error, _o, stderr) => resolve({ code: error?.code as number, stderr }),
      ),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('the control plane answered 401: unauthorized: the admin token is required');
    // The read listener does not publish when an admin listener exists.
    const elsewhere = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          CLI,
          'bundle',
          'publish',
          '--url',
          `http://127.0.0.1:${cp.info.port}/v1/bundles/default`,
          '--token-file',
          tokenFile,
        ],
        (error, _o, stderr) => resolve({ code: error?.code as number, stderr }),
      ),
    );
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain(
      'the control plane answered 404: not_found: publishing and revoking are served on the admin listener',
    );
  });
});
