// A bundle server like the control plane's bundle endpoint: ETag, If-None-Match -> 304, `?wait=` long polling,
// and an outage switch (every request answered 503) for restart and failover tests.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestBundleServer {
  /** The bundle URL, `/v1/bundles/default`, as the control plane's. */
  readonly url: string;
  /** Serves these bytes from now on, waking long polls. */
  serve(bytes: Uint8Array): void;
  /** Answers every request with 503 until the next serve(). */
  fail(): void;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

export async function startBundleServer(): Promise<TestBundleServer> {
  let body: Uint8Array | undefined;
  let etag = '"none"';
  let requests = 0;
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://x');
    const send = () => {
      if (body === undefined) res.writeHead(503).end();
      else if (req.headers['if-none-match'] === etag) res.writeHead(304, { etag }).end();
      else res.writeHead(200, { etag, 'content-type': 'application/gzip' }).end(body);
    };
    const wait = Number(url.searchParams.get('wait') ?? 0);
    if (body !== undefined && req.headers['if-none-match'] === etag && wait > 0) {
      const wake = () => {
        waiters.delete(wake);
        clearTimeout(timer);
        send();
      };
      const timer = setTimeout(wake, wait * 1000);
      waiters.add(wake);
    } else send();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const wakeAll = () => {
    for (const wake of [...waiters]) wake();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/bundles/default`,
    serve(bytes) {
      body = bytes;
      etag = `"${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}"`;
      wakeAll();
    },
    fail() {
      body = undefined;
      wakeAll();
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((r) => {
        wakeAll();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
