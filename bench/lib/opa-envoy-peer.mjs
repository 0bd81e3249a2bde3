// The reference peer, OPA-Envoy (#15): built from its public repository at a pinned tag (never vendored),
// started with an equivalent Rego policy, asked for decisions. Used by bench/opa-envoy.mjs (alternating
// rounds) and bench/run.mjs (the OPA-Envoy rows of the targets table).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CHECK_METHOD, checkMethod } from './check-requests.mjs';
import { AUDIENCE, ISSUER } from './issuer.mjs';
import { freePort, pinned, sleep } from './servers.mjs';

export const OPA_TAG = 'v1.19.1-envoy';
const OPA_REPO = 'https://github.com/open-policy-agent/opa-envoy-plugin.git';

/** The Go toolchain's version, for reports ("go1.22.2 linux/amd64"). */
export const goVersion = () =>
  execFileSync('go', ['version'], { encoding: 'utf8' })
    .trim()
    .replace(/^go version /, '');

/**
 * A built opa-envoy-plugin ({ bin }), or why there is none ({ skipped }). bin: a built binary to use as is;
 * otherwise the tag's source from git (a local clone or mirror, bare or not, or a URL; default
 * $OPA_ENVOY_GIT or the public repository) is built with `go build` (a few minutes) and kept in $TMPDIR.
 */
export function obtainPeer({ bin, git, log = () => {} } = {}) {
  const skip = (why) => ({ skipped: why });
  if (bin !== undefined) return existsSync(bin) ? { bin } : skip(`--opa-bin ${bin} does not exist`);
  const cached = path.join(os.tmpdir(), `authzd-opa-envoy-${OPA_TAG}`, 'opa-envoy-plugin');
  if (existsSync(cached)) return { bin: cached };
  if (spawnSync('go', ['version']).status !== 0) return skip('no Go toolchain (`go`) to build it with');
  const source = git ?? process.env.OPA_ENVOY_GIT ?? OPA_REPO;
  const src = mkdtempSync(path.join(os.tmpdir(), 'authzd-opa-envoy-src-'));
  try {
    if (existsSync(source)) {
      // A local clone or mirror: the tag's tree, without touching the repository.
      const tar = spawnSync('git', ['--git-dir', gitDir(source), 'archive', OPA_TAG], { maxBuffer: 1 << 30 });
      if (tar.status !== 0) return skip(`git archive ${OPA_TAG} from ${source}: ${tar.stderr.toString().trim()}`);
      execFileSync('tar', ['-x', '-C', src], { input: tar.stdout });
    } else {
      const clone = spawnSync('git', ['clone', '--quiet', '--depth', '1', '--branch', OPA_TAG, source, src]);
      if (clone.status !== 0) return skip(`git clone ${source} at ${OPA_TAG}: ${clone.stderr.toString().trim()}`);
    }
    log(`building opa-envoy-plugin ${OPA_TAG} (go build, a few minutes)`);
    mkdirSync(path.dirname(cached), { recursive: true });
    const build = spawnSync('nice', ['go', 'build', '-o', cached, './cmd/opa-envoy-plugin'], {
      cwd: src,
      encoding: 'utf8',
    });
    if (build.status !== 0) return skip(`go build failed: ${build.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    return { bin: cached };
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

function gitDir(dir) {
  return existsSync(path.join(dir, '.git')) ? path.join(dir, '.git') : dir;
}

// The example policies (policies/*.cedar) in Rego, as far as the benchmark's requests reach them: bearer token
// verified with io.jwt.decode_verify against the same JWKS (signature, iss, aud, exp), routes matched on method
// and path, the permits and forbids of accounts, transfers and tenants. No rate limits, step-up challenges or
// audit input: see the unfairness notes in docs/BENCHMARKS.md.
export const REGO = `package authzd.bench

import rego.v1

default allow := false

http := input.attributes.request.http

token := substring(http.headers.authorization, 7, -1) if startswith(http.headers.authorization, "Bearer ")

claims := payload if {
	[valid, _, payload] := io.jwt.decode_verify(token, {
		"cert": data.jwks,
		"iss": "${ISSUER}",
		"aud": "${AUDIENCE}",
		"time": time.now_ns(),
	})
	valid
}

parts := split(trim_prefix(http.path, "/"), "/")

roles contains role if some role in claims.roles

scopes := split(object.get(claims, "scope", ""), " ")

account := data.accounts[parts[1]] if parts[0] == "accounts"

# account-owner-read, teller-read (admin is a teller)
allow if {
	http.method == "GET"
	count(parts) == 2
	account.owner == claims.sub
}

allow if {
	http.method == "GET"
	count(parts) == 2
	some role in ["teller", "admin"]
	role in roles
	account.tenant == claims.tenant
}

# owner-transfer, minus frozen-account and transfer-requires-mfa
allow if {
	http.method == "POST"
	count(parts) == 3
	parts[2] == "transfers"
	account.owner == claims.sub
	"payments:write" in scopes
	account.status != "frozen"
	claims.acr == "mfa"
	claims.auth_time + 3600 >= time.now_ns() / 1000000000
}

# admin-export
allow if {
	http.method == "GET"
	count(parts) == 4
	parts[0] == "tenants"
	parts[2] == "customers"
	parts[3] == "export"
	"admin" in roles
	parts[1] == claims.tenant
}

# tenant-admin-billing
allow if {
	http.method in {"PUT", "PATCH"}
	count(parts) == 3
	parts[0] == "tenants"
	parts[2] == "billing-plan"
	"tenant-admin" in roles
	parts[1] == claims.tenant
}
`;

/** The Rego data: the JWKS text and the accounts of the Cedar entity store. */
export function regoData(files, jwksText) {
  const accounts = {};
  for (const e of JSON.parse(files.get('entities.json'))) {
    if (e.uid.type !== 'Bank::Account') continue;
    accounts[e.uid.id] = { tenant: e.attrs.tenant, owner: e.attrs.owner.__entity.id, status: e.attrs.status };
  }
  return { jwks: jwksText, accounts };
}

export async function startPeer(bin, { cpus, dir, name }) {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  writeFileSync(path.join(dir, 'policy.rego'), REGO);
  const argv = pinned(cpus, [
    bin,
    'run',
    '--server',
    '--addr',
    `127.0.0.1:${httpPort}`,
    '--log-level',
    'error',
    '--set',
    `plugins.envoy_ext_authz_grpc.addr=127.0.0.1:${grpcPort}`,
    '--set',
    'plugins.envoy_ext_authz_grpc.path=authzd/bench/allow',
    '--set',
    'plugins.envoy_ext_authz_grpc.enable-reflection=false',
    // One decision log line per call to stdout, like authzd's audit line (both go to /dev/null here).
    '--set',
    'decision_logs.console=true',
    path.join(dir, 'policy.rego'),
    path.join(dir, 'data.json'),
  ]);
  const out = openSync('/dev/null', 'w');
  const errFile = path.join(dir, `${name}.stderr`);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, openSync(errFile, 'w')] });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/health?plugins`);
      if (r.status === 200) break;
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`opa-envoy-plugin did not become ready: ${readFileSync(errFile, 'utf8').slice(-500)}`);
    await sleep(100);
  }
  return {
    pid: child.pid,
    grpcAddr: `127.0.0.1:${grpcPort}`,
    command: argv,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** allow/deny of each message, by the response's gRPC status (OK or not), the one field both servers set. */
export async function decisions(grpcAddr, messages) {
  const client = new grpc.Client(grpcAddr, grpc.credentials.createInsecure());
  const { responseDeserialize } = checkMethod();
  const call = (bytes) =>
    new Promise((resolve) =>
      client.makeUnaryRequest(
        CHECK_METHOD,
        (b) => b,
        (b) => b,
        bytes,
        (err, response) =>
          resolve(err ? `error: ${err.details}` : responseDeserialize(response).status?.code ? `deny` : 'allow'),
      ),
    );
  const out = [];
  try {
    for (let i = 0; i < messages.length; i += 16)
      out.push(...(await Promise.all(messages.slice(i, i + 16).map((m) => call(m.bytes)))));
  } finally {
    client.close();
  }
  return out;
}
