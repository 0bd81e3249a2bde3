import type { Config } from '../config/config-schema.js';
import type { CheckRequestMessage } from '../contract/check-request.js';
import { clientAddress } from './client-address.js';

/** What the HTTP listener knows about an authorization request it received. */
export interface IncomingAuthzRequest {
  readonly method: string;
  /** The request target as received (origin-form: path and query). */
  readonly target: string;
  readonly httpVersion: string;
  /** Lower-cased names, every value of a repeated header kept (node's `headersDistinct`). */
  readonly headers: Readonly<Record<string, readonly string[] | undefined>>;
  /** The TCP peer; undefined on a Unix socket. */
  readonly peerAddress: string | undefined;
  readonly peerPort: number | undefined;
}

export interface HttpMappingOptions {
  readonly originalRequest: Config['http']['originalRequest'];
  readonly pathPrefix: string;
  readonly isTrustedProxy: (ip: string) => boolean;
}

export interface MappedRequest {
  readonly message: CheckRequestMessage;
  /**
   * Why the original request could not be recovered (a header the proxy should have set is missing or
   * repeated, a path outside the prefix). The message then lacks method or path, so the pipeline denies
   * it with request_invalid like any other malformed request. A fixed phrase, never request data.
   */
  readonly problem: string | undefined;
}

// Per convention, the headers that carry the original request. They are believed as they arrive, so the
// proxy in front must set (overwrite) every one of them; docs/http-interface.md says so for each proxy.
const CONVENTIONS = {
  'x-original': { method: 'x-original-method', uri: 'x-original-uri' },
  'x-forwarded': { method: 'x-forwarded-method', uri: 'x-forwarded-uri' },
} as const;

/**
 * Turns an HTTP authorization request into the CheckRequest shape the pipeline takes, so HTTP and gRPC
 * callers go through the same stages. Where the original method and path come from is configuration, not
 * guessed from which headers are present: a client could otherwise send `X-Original-URI` through a proxy
 * that does not set it (Envoy with a broad `allowed_headers`, Traefik) and be judged on a path of its
 * choosing.
 *  - `request` (Envoy `http_service`): the request line is the original one, with `pathPrefix` in front.
 *  - `x-original` (nginx `auth_request`): X-Original-Method and X-Original-URI.
 *  - `x-forwarded` (Traefik `forwardAuth`, Caddy `forward_auth`): X-Forwarded-Method and X-Forwarded-Uri.
 * In the header conventions the host is X-Forwarded-Host (else Host); the scheme is X-Forwarded-Proto in all.
 */
export function httpToCheckRequest(incoming: IncomingAuthzRequest, options: HttpMappingOptions): MappedRequest {
  const { headers } = incoming;
  let problem: string | undefined;
  const single = (name: string): string | undefined => {
    const values = headers[name];
    if (values === undefined || values.length === 0) return undefined;
    // Two values for a header that names the original request are two answers to one question: refuse.
    if (values.length > 1) {
      problem ??= `${name} header repeated`;
      return undefined;
    }
    return values[0];
  };

  let method: string;
  let path: string;
  let host: string | undefined;
  if (options.originalRequest === 'request') {
    method = incoming.method;
    path = stripPrefix(incoming.target, options.pathPrefix) ?? '';
    if (path.length === 0) problem ??= `request path outside http.pathPrefix`;
    host = single('host');
  } else {
    const names = CONVENTIONS[options.originalRequest];
    method = single(names.method) ?? '';
    path = single(names.uri) ?? '';
    if (method.length === 0) problem ??= `${names.method} header missing`;
    if (path.length === 0) problem ??= `${names.uri} header missing`;
    host = single('x-forwarded-host') ?? single('host');
  }
  const scheme = single('x-forwarded-proto');

  const ip = clientAddress(incoming.peerAddress, headers['x-forwarded-for'], options.isTrustedProxy);
  const fromPeer = ip !== undefined && incoming.peerAddress !== undefined && ip === unmapped(incoming.peerAddress);
  const flat: Record<string, string> = Object.fromEntries(
    Object.entries(headers).flatMap(([name, values]) => (values === undefined ? [] : [[name, values.join(',')]])),
  );
  const message: CheckRequestMessage = {
    attributes: {
      ...(ip !== undefined
        ? {
            source: {
              address: {
                socket_address: {
                  address: ip,
                  ...(fromPeer && incoming.peerPort !== undefined ? { port_value: incoming.peerPort } : {}),
                },
              },
            },
          }
        : {}),
      request: {
        http: {
          // A problem blanks the method too, so nothing half-recovered is ever evaluated.
          method: problem === undefined ? method : '',
          path: problem === undefined ? path : '',
          host: host ?? '',
          scheme: scheme ?? '',
          headers: flat,
          protocol: `HTTP/${incoming.httpVersion}`,
        },
      },
    },
  };
  return { message, problem };
}

/** The original path under Envoy's `path_prefix`; undefined when the target is not under it. */
function stripPrefix(target: string, prefix: string): string | undefined {
  if (prefix.length === 0) return target;
  if (!target.startsWith(prefix)) return undefined;
  const rest = target.slice(prefix.length);
  if (rest.length === 0) return '/';
  if (rest.startsWith('/')) return rest;
  if (rest.startsWith('?')) return `/${rest}`;
  return undefined;
}

const unmapped = (ip: string) => ip.replace(/^::ffff:(?=\d{1,3}(?:\.\d{1,3}){3}$)/i, '');
