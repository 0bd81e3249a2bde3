import { isIP } from 'node:net';
import type { CheckRequestMessage, PeerMessage, ProtoStruct } from './check-request.js';

export interface PeerFacts {
  readonly ip: string | undefined;
  readonly port: number | undefined;
  /** The SPIFFE ID (or other URI SAN) Envoy took from the peer's certificate. */
  readonly principal: string | undefined;
}

export interface HttpFacts {
  readonly method: string;
  /** :path as Envoy sent it, query included. */
  readonly rawPath: string;
  readonly host: string;
  readonly scheme: string;
  /** Envoy's x-request-id, to join the audit log with access logs. */
  readonly requestId: string | undefined;
  /** Lower-cased header name -> value; repeated headers joined with "," as Envoy does. */
  header(name: string): string | undefined;
}

export interface RequestFacts {
  /** Absent for Envoy's network (L4) ext_authz filter. */
  readonly http: HttpFacts | undefined;
  readonly source: PeerFacts;
  readonly destination: PeerFacts;
  /** Epoch milliseconds: Envoy's request time, else the local clock. */
  readonly timeMs: number;
  readonly contextExtensions: Readonly<Record<string, string>>;
  readonly filterMetadata: Readonly<Record<string, ProtoStruct>>;
}

export type ExtractResult = { readonly ok: true; readonly facts: RequestFacts } | { readonly ok: false; readonly detail: string };

const TOKEN_CHARS = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const EMPTY: Readonly<Record<string, never>> = Object.freeze({});

export function extractRequest(message: CheckRequestMessage, nowMs: number): ExtractResult {
  const attributes = message.attributes ?? {};
  const request = attributes.request ?? {};
  const seconds = Number(request.time?.seconds ?? 0);
  const timeMs = seconds > 0 ? seconds * 1000 + Math.floor((request.time?.nanos ?? 0) / 1e6) : nowMs;
  const base = {
    source: peerFacts(attributes.source),
    destination: peerFacts(attributes.destination),
    timeMs,
    contextExtensions: attributes.context_extensions ?? EMPTY,
    filterMetadata: attributes.metadata_context?.filter_metadata ?? EMPTY,
  };
  const http = request.http;
  if (http === undefined) return { ok: true, facts: { http: undefined, ...base } };

  const method = http.method ?? '';
  if (!TOKEN_CHARS.test(method)) return { ok: false, detail: 'missing or invalid method' };
  const headers = headerLookup(http);
  const rawPath = http.path || headers(':path') || '';
  if (rawPath.length === 0) return { ok: false, detail: 'missing path' };
  return {
    ok: true,
    facts: {
      http: {
        method: method.toUpperCase(),
        rawPath,
        host: http.host || headers(':authority') || headers('host') || '',
        scheme: http.scheme || headers(':scheme') || '',
        requestId: http.id || headers('x-request-id') || undefined,
        header: headers,
      },
      ...base,
    },
  };
}

function headerLookup(http: NonNullable<NonNullable<CheckRequestMessage['attributes']>['request']>['http'] & {}): (name: string) => string | undefined {
  const list = http.header_map?.headers;
  if (list !== undefined && list.length > 0) {
    // encode_raw_headers: every header as sent, values as bytes, repeats as separate entries.
    const map = new Map<string, string>();
    for (const h of list) {
      if (h.key === undefined || h.key.length === 0) continue;
      const key = h.key.toLowerCase();
      const value = h.raw_value !== undefined && h.raw_value.length > 0 ? h.raw_value.toString('latin1') : (h.value ?? '');
      const prior = map.get(key);
      map.set(key, prior === undefined ? value : `${prior},${value}`);
    }
    return (name) => map.get(name);
  }
  const headers = http.headers ?? EMPTY;
  // Envoy already lower-cases header names in this map.
  return (name) => (Object.hasOwn(headers, name) ? headers[name] : undefined);
}

function peerFacts(peer: PeerMessage | undefined): PeerFacts {
  const socket = peer?.address?.socket_address;
  const ip = socket?.address !== undefined && isIP(socket.address) !== 0 ? socket.address : undefined;
  return {
    ip,
    port: socket?.port_value || undefined,
    principal: peer?.principal || undefined,
  };
}
