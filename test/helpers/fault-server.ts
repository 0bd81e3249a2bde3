// A loopback HTTP server whose behaviour a test switches at will (answer, reset the connection, hang,
// garbage), and which counts what it was asked: the fault-injection tests' stand-in for a JWKS endpoint,
// a control plane or a remote decision tier.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

export interface FaultServer {
  readonly url: string;
  readonly port: number;
  /** Requests received so far, by path (without query); `total` sums them. */
  readonly requests: Map<string, number>;
  readonly total: () => number;
  /** Replaces the behaviour for later requests (requests already held keep theirs). */
  handle(handler: Handler): void;
  close(): Promise<void>;
}

export async function startFaultServer(initial: Handler): Promise<FaultServer> {
  let handler = initial;
  const requests = new Map<string, number>();
  const held = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    requests.set(pathname, (requests.get(pathname) ?? 0) + 1);
    held.add(res);
    res.once('close', () => held.delete(res));
    const chunks: Buffer[] = [];
    const current = handler;
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => current(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    total: () => [...requests.values()].reduce((a, b) => a + b, 0),
    handle(next) {
      handler = next;
    },
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Behaviours shared by the tests. */
export const faults = {
  /** The TCP connection is dropped without an answer (what a crashed or restarting peer looks like). */
  reset: (): Handler => (req) => req.socket.destroy(),
  /** Never answers; the client's timeout must end the request. */
  hang: (): Handler => () => undefined,
  /** Answers after `ms`, with `then` (a slow peer). */
  slow:
    (ms: number, then: Handler): Handler =>
    (req, res, body) => {
      const timer = setTimeout(() => then(req, res, body), ms);
      res.once('close', () => clearTimeout(timer));
    },
  /** An HTML error page, as a proxy or load balancer in front of the real server would send. */
  html:
    (status: number): Handler =>
    (_req, res) =>
      void res
        .writeHead(status, { 'content-type': 'text/html' })
        .end('<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>\n'),
  /** Declares `declared` bytes, sends `sent`, then drops the connection. */
  truncated:
    (declared: number, sent: number): Handler =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(declared) });
      res.write(Buffer.alloc(sent, 0x1f));
      setTimeout(() => res.destroy(), 10);
    },
  bytes:
    (status: number, body: Uint8Array | string, headers: Record<string, string> = {}): Handler =>
    (_req, res) =>
      void res.writeHead(status, headers).end(body),
};

/** Sum of a metric's samples in Prometheus text whose labels include every label in `where` (0 when none). */
export function metricSum(text: string, name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const labels = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(where).every(([k, v]) => labels[k] === v)) sum += Number(m[3]);
  }
  return sum;
}
