import http from 'node:http';

import type { RecordSinks } from '../audit/record-outcome.js';
import { httpAnswer } from '../check/http-answer.js';
import type { Config } from '../config/config-schema.js';
import type { CheckFailure, CheckOutcome } from '../contract/decision.js';
import { isLocalOnly, listenAddress } from '../util/listen-address.js';
import type { CheckRunner } from './check-runner.js';
import { httpToCheckRequest } from './http-to-check-request.js';
import { removeStaleSocket } from './remove-stale-socket.js';
import { trustedProxyMatcher } from './trusted-proxy-matcher.js';

export interface HttpAuthzServer {
  /** The bound TCP port (0 on a Unix socket). */
  readonly port: number;
  /**
   * Stops accepting, lets in-flight checks answer and record their outcome, then closes every connection;
   * connections still busy after `timeoutMs` are cut, but recording still completes before this resolves.
   */
  close(timeoutMs: number): Promise<void>;
}

export interface HttpAuthzDeps {
  /** Decides and records each call, exactly as for gRPC. */
  readonly runner: CheckRunner;
  readonly sinks: RecordSinks;
}

// Node's own limits, set explicitly so a process-wide --max-http-header-size cannot move them. No header
// count limit: node would silently drop headers past maxHeadersCount (possibly X-Forwarded-For or the
// proxy's X-Original-*), whereas the 16 KiB total rejects an oversized header block with 431.
const MAX_HEADER_BYTES = 16 * 1024;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
// Longer than nginx's default upstream keepalive_timeout (60 s), so nginx closes idle connections first
// and never reuses one authzd is closing. Same value as the admin listener.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** In the header conventions, a deny's JSON body is repeated in this response header (for nginx). */
export const DENY_BODY_HEADER = 'x-authz-deny-body';

// The error reasons as HTTP: 5xx, so the proxy applies its failure handling rather than relaying a deny.
const ERROR_ANSWERS: Readonly<Record<CheckFailure['reason'], { status: number; error: string }>> = {
  policy_unavailable: { status: 503, error: 'service_unavailable' },
  jwks_unavailable: { status: 503, error: 'service_unavailable' },
  internal_error: { status: 500, error: 'internal_server_error' },
  deadline_exceeded: { status: 504, error: 'gateway_timeout' },
};

/**
 * The plain-HTTP face of the Check pipeline, for Envoy's ext_authz `http_service`, nginx `auth_request`,
 * Traefik `forwardAuth` and the like. Each request is translated into a CheckRequest, decided by the same
 * pipeline as gRPC, recorded through the same exit point (recordOutcome: metrics and audit), and answered
 * from the same HttpAnswer: 200 with the upstream headers, the deny status with its headers and JSON body,
 * or 503/500 for the error reasons, which both Envoy (any 5xx is an ext_authz error, so failure_mode_allow
 * and status_on_error apply) and nginx (auth_request turns it into a 500) treat as a failure, not a deny.
 * No request body is read.
 */
export async function startHttpAuthzServer(
  address: string,
  config: Config,
  deps: HttpAuthzDeps,
): Promise<HttpAuthzServer> {
  const { runner, sinks } = deps;
  const { logger } = sinks;
  const mapping = {
    originalRequest: config.http.originalRequest,
    pathPrefix: config.http.pathPrefix,
    isTrustedProxy: trustedProxyMatcher(config.http.trustedProxies),
  };
  let closing = false;

  const server = http.createServer(
    { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
    (req, res) => {
      const { message, problem } = httpToCheckRequest(
        {
          method: req.method ?? '',
          target: req.url ?? '',
          httpVersion: req.httpVersion,
          headers: req.headersDistinct,
          peerAddress: req.socket.remoteAddress,
          peerPort: req.socket.remotePort,
        },
        mapping,
      );
      if (problem !== undefined && sinks.throttle('http_original_request')) {
        logger.warn(
          { problem, originalRequest: mapping.originalRequest },
          'http authz: original request not recoverable; answered 400 (is the proxy setting the headers?)',
        );
      }
      runner
        .run(message, undefined, 'http')
        .then((outcome) =>
          send(res, outcome, config, { closing, denyBodyHeader: mapping.originalRequest !== 'request' }),
        )
        .catch((err: unknown) => {
          logger.error({ err: String(err) }, 'http authz: writing the answer failed');
          if (!res.headersSent) res.destroy();
        });
    },
  );
  server.maxHeadersCount = 0;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;

  await removeStaleSocket(address);
  const options = listenAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err: err.message }, 'http authz listener error'));
  if (!isLocalOnly(options)) {
    logger.warn(
      { address },
      'http authz listener is reachable beyond this host: only proxies should reach it (docs/http-interface.md)',
    );
  }
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : 0;
  logger.info(
    { http: address, httpPort: port, originalRequest: mapping.originalRequest, pathPrefix: mapping.pathPrefix },
    'http authz listening',
  );

  return {
    port,
    close: (timeoutMs) =>
      new Promise<void>((resolve) => {
        closing = true;
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
        server.close(() => {
          // Calls accepted before the close are still answered and recorded.
          void runner.idle().then(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        server.closeIdleConnections();
      }),
  };
}

function send(
  res: http.ServerResponse,
  outcome: CheckOutcome,
  config: Config,
  opts: { closing: boolean; denyBodyHeader: boolean },
): void {
  // The proxy gave up (timeout, client gone): the outcome is recorded, there is no one to answer.
  if (res.destroyed || res.writableEnded) return;
  let status: number;
  let headers: [string, string][];
  let body: string;
  if (outcome.kind === 'error') {
    const { id, reason } = outcome.failure;
    const answer = ERROR_ANSWERS[reason];
    status = answer.status;
    headers = [
      ['content-type', 'application/json'],
      ['cache-control', 'no-store'],
      ['x-authz-decision-id', id],
    ];
    // The reason code only: the failure's detail (stack, key-set URL) stays in the diagnostic log.
    body = JSON.stringify({ error: answer.error, reason, decision_id: id });
  } else {
    const answer = httpAnswer(outcome.decision, config);
    status = answer.allowed ? answer.status : denyStatusOverHttp(answer.status);
    headers = answer.headers.map(([name, value]) => [name, value]);
    body = answer.body ?? '';
    if (!answer.allowed && opts.denyBodyHeader) {
      // nginx's auth_request discards the subrequest's body; a copy in a header lets its error_page
      // location return it (docs/http-interface.md). The body is ASCII: reason codes, a UUID and policy
      // ids, which the policy compiler restricts to [A-Za-z0-9._:/#-].
      headers.push([DENY_BODY_HEADER, body]);
    }
    if (answer.allowed) {
      headers.push(['cache-control', 'no-store']);
      // Envoy's http_service has no headers_to_remove field; this response header is its HTTP equivalent.
      if (answer.headersToRemove.length > 0)
        headers.push(['x-envoy-auth-headers-to-remove', answer.headersToRemove.join(', ')]);
    }
  }
  headers.push(['content-length', String(Buffer.byteLength(body))]);
  // While draining, end keep-alive connections after this answer so the listener can close.
  if (opts.closing) headers.push(['connection', 'close']);
  res.writeHead(status, headers.flat()).end(body);
}

/**
 * A deny must reach the client as a deny. Every HTTP auth client reads a 5xx from the auth service as the
 * service failing (Envoy then applies failure_mode_allow, which may let the request through), so a deny
 * whose reason carries a 5xx status over gRPC (one that fails closed on purpose) is answered 403 here;
 * the body still names the reason.
 */
export function denyStatusOverHttp(status: number): number {
  return status >= 500 ? 403 : status;
}
