// A real nginx (Debian's package) as the load balancer in front of control-plane replicas, as a Kubernetes
// Service spreads connections over pods: round robin, a failed connection retried on the next replica.
// nginx is required (npm test installs it first); without it this fails rather than skips.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { freePort } from './free-port.js';

export interface NginxLoadBalancer {
  readonly port: number;
  readonly base: string;
  /** nginx's access log: one line per proxied request, `upstream=ADDR status=CODE`. */
  accessLog(): string;
  stop(): Promise<void>;
}

export function findNginx(): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs.filter((x) => x.length > 0)) {
    const candidate = path.join(d, 'nginx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  throw new Error(
    'nginx not found: this test needs a real nginx (Debian: apt-get install -y --no-install-recommends nginx; npm test installs it first: scripts/install-test-tools.sh)',
  );
}

/** Starts nginx on a free loopback port, balancing over `upstreams` (`127.0.0.1:PORT` each). */
export async function startNginxLoadBalancer(upstreams: readonly string[]): Promise<NginxLoadBalancer> {
  const bin = findNginx();
  const dir = mkdtempSync(path.join(tmpdir(), 'authzd-lb-'));
  // Started as root, nginx runs its workers as nobody; they must be able to reach the temp paths.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`);
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    [
      'worker_processes 1;',
      'events { worker_connections 4096; }',
      'http {',
      ...temp,
      `  log_format lb 'upstream=$upstream_addr status=$status uri=$request_uri';`,
      `  access_log ${dir}/access.log lb;`,
      '  upstream control_plane {',
      // A replica that refuses a connection is skipped for 2 s (what a Service's endpoints do once the pod is gone).
      ...upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=2s;`),
      '    keepalive 32;',
      '  }',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    location / {',
      '      proxy_pass http://control_plane;',
      '      proxy_http_version 1.1;',
      '      proxy_set_header Connection "";',
      // Long polls park up to 60 s on the replica.
      '      proxy_read_timeout 90s;',
      '      proxy_connect_timeout 1s;',
      // A replica that died: the request goes to the next one (GETs; a POST only if it never reached one).
      '      proxy_next_upstream error timeout http_502 http_503;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  let stderr = '';
  const child: ChildProcess = spawn(
    bin,
    ['-e', 'stderr', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid;`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${stderr}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) break;
    if (attempt > 400) throw new Error(`nginx did not listen on ${port}:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    accessLog: () => {
      try {
        return readFileSync(path.join(dir, 'access.log'), 'utf8');
      } catch {
        return '';
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGQUIT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
