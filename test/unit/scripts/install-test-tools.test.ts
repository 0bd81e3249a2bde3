// scripts/install-test-tools.sh, the set-up `npm test` runs first (pretest): its decisions, run by bash with
// the machine's tools hidden behind a bare PATH and fake tools put in their place. --dry-run prints what it
// finds and plans without installing anything.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ROOT } from '../../helpers/spawn-cli.js';

const SCRIPT = path.join(ROOT, 'scripts', 'install-test-tools.sh');
const KUSTOMIZE = 'sigs.k8s.io/kustomize/kustomize/v5@v5.6.0';
const tmp = mkdtempSync(path.join(tmpdir(), 'authzd-tools-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let dirs = 0;
/** A directory of executables with these names; `go` answers `go env GOPATH` with `gopath`. */
function fakeTools(names: string[], gopath = path.join(tmp, 'no-gopath')): string {
  const dir = path.join(tmp, `bin-${++dirs}`);
  mkdirSync(dir);
  for (const name of names) {
    const body = name === 'go' ? `#!/bin/sh\necho ${gopath}\n` : '#!/bin/sh\nexit 0\n';
    writeFileSync(path.join(dir, name), body);
    chmodSync(path.join(dir, name), 0o755);
  }
  return dir;
}

/** The script with only `pathDirs` on PATH and no other place to look, as on a fresh machine. */
function dryRun(
  pathDirs: string[],
  extra: Record<string, string> = {},
): { status: number | null; out: string; plan: string[] } {
  const run = spawnSync('/bin/bash', [SCRIPT, '--dry-run'], {
    encoding: 'utf8',
    env: {
      PATH: pathDirs.join(':') || path.join(tmp, 'empty'),
      HOME: path.join(tmp, 'home'),
      TEST_TOOLS_EXTRA_DIRS: '',
      ...extra,
    },
  });
  const out = `${run.stdout}${run.stderr}`;
  return { status: run.status, out, plan: out.split('\n').filter((l) => l.startsWith('plan: ')) };
}

const ALL = ['nginx', 'prometheus', 'promtool', 'initdb', 'pg_ctl', 'postgres', 'h2load', 'kustomize'];

describe('scripts/install-test-tools.sh', () => {
  it('on a machine with none of the tools plans every Debian package, Go, and kustomize through go install', () => {
    const { status, plan, out } = dryRun([]);
    expect(status, out).toBe(0);
    expect(plan).toEqual([
      `plan: apt-get install nginx prometheus postgresql nghttp2-client golang-go`,
      `plan: go install ${KUSTOMIZE}`,
    ]);
  });

  it('installs nothing when every tool is present', () => {
    const { status, plan, out } = dryRun([fakeTools(ALL)]);
    expect(status, out).toBe(0);
    expect(plan).toEqual([]);
    expect(out).toContain('every tool is present');
  });

  it('reinstalls nothing that is present: only the missing tool is planned', () => {
    expect(dryRun([fakeTools([...ALL.filter((t) => t !== 'kustomize'), 'go'])]).plan).toEqual([
      `plan: go install ${KUSTOMIZE}`,
    ]);
    expect(dryRun([fakeTools(ALL.filter((t) => t !== 'nginx'))]).plan).toEqual(['plan: apt-get install nginx']);
    // A package is missing when any of its commands is: Debian's prometheus brings promtool.
    expect(dryRun([fakeTools(ALL.filter((t) => t !== 'promtool'))]).plan).toEqual(['plan: apt-get install prometheus']);
    expect(dryRun([fakeTools(ALL.filter((t) => t !== 'pg_ctl'))]).plan).toEqual(['plan: apt-get install postgresql']);
  });

  it("finds kustomize where go install puts it (Go's GOPATH/bin), and tools in the directories it knows besides PATH", () => {
    const gopath = path.join(tmp, 'gopath');
    const gobin = path.join(gopath, 'bin');
    mkdirSync(gobin, { recursive: true });
    writeFileSync(path.join(gobin, 'kustomize'), '#!/bin/sh\n');
    chmodSync(path.join(gobin, 'kustomize'), 0o755);
    const found = (r: ReturnType<typeof dryRun>, tool: string, where: string) => {
      expect(r.status, r.out).toBe(0);
      expect(r.plan).toEqual([]);
      expect(r.out).toContain(`present: ${tool} ( ${where} )`);
    };
    found(
      dryRun([fakeTools([...ALL.filter((t) => t !== 'kustomize'), 'go'], gopath)]),
      'kustomize',
      path.join(gobin, 'kustomize'),
    );
    // Without go, $GOPATH (else ~/go) is where go install would have put it.
    found(
      dryRun([fakeTools(ALL.filter((t) => t !== 'kustomize'))], { GOPATH: gopath }),
      'kustomize',
      path.join(gobin, 'kustomize'),
    );
    // nginx lives in /usr/sbin on Debian, which is not always on PATH: the extra directories count.
    const sbin = fakeTools(['nginx']);
    found(
      dryRun([fakeTools(ALL.filter((t) => t !== 'nginx'))], { TEST_TOOLS_EXTRA_DIRS: sbin }),
      'nginx',
      path.join(sbin, 'nginx'),
    );
  });

  it('finds every tool on this machine (npm test ran it first), without planning anything', () => {
    const run = spawnSync('/bin/bash', [SCRIPT, '--dry-run'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('every tool is present');
  });

  it('refuses an unknown argument with the usage exit code', () => {
    const run = spawnSync('/bin/bash', [SCRIPT, '--install-everything'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/usage: .*--dry-run/);
  });

  it('is what npm test runs first, and .ci/run is the README test command (after lint)', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.pretest).toBe('bash scripts/install-test-tools.sh');
    const ci = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#') && !/^(set |cd |echo )/.test(l));
    expect(ci).toEqual(['npm ci --no-audit --no-fund', 'npm run lint', 'npm test']);
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain('npm ci && npm test');
  });
});
