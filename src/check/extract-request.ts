import type { CheckRequestMessage, HttpMessage, PeerMessage, ProtoStruct } from '../contract/check-request.js';
import { canonicalIp } from './canonical-ip.js';

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

export type ExtractResult =
  | { readonly ok: true; readonly facts: RequestFacts }
  | { readonly ok: false; readonly reason: 'request_invalid' | 'request_too_large'; readonly detail: string };

/** Bounds on the HTTP attributes of one CheckRequest (config `limits`). */
export interface RequestLimits {
  /** Header entries, pseudo-headers and repeats included. */
  readonly maxHeaders: number;
  /** Sum of header name and value lengths, in bytes. */
  readonly maxHeaderBytes: number;
  /** The path with its query, in bytes. */
  readonly maxPathBytes: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = Object.freeze({
  maxHeaders: 200,
  maxHeaderBytes: 65_536,
  maxPathBytes: 8192,
});

const MAX_TIME_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1000) - 1;
const TOKEN_CHARS = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const EMPTY: Readonly<Record<string, never>> = Object.freeze({});

export function extractRequest(
  message: CheckRequestMessage,
  nowMs: number,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
): ExtractResult {
  const attributes = message.attributes ?? {};
  const request = attributes.request ?? {};
  // Envoy's clock when it gives a plausible time; beyond what integers hold exactly (in JS and in
  // cedar-wasm) the value would reach policies corrupted, or fail the schema, so the local clock is used.
  const seconds = Number(request.time?.seconds ?? 0);
  const timeMs =
    seconds > 0 && seconds <= MAX_TIME_SECONDS ? seconds * 1000 + Math.floor((request.time?.nanos ?? 0) / 1e6) : nowMs;
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
  if (!TOKEN_CHARS.test(method)) return { ok: false, reason: 'request_invalid', detail: 'missing or invalid method' };
  // Before any header is copied or decoded: an absurd request costs a count and a sum, nothing more.
  const oversized = headersOverLimits(http, limits);
  if (oversized !== undefined) return { ok: false, reason: 'request_too_large', detail: oversized };
  const headers = headerLookup(http);
  const rawPath = http.path || headers(':path') || '';
  if (rawPath.length === 0) return { ok: false, reason: 'request_invalid', detail: 'missing path' };
  if (overBytes(rawPath, limits.maxPathBytes))
    return { ok: false, reason: 'request_too_large', detail: 'path too long' };
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

function headerLookup(
  http: NonNullable<NonNullable<CheckRequestMessage['attributes']>['request']>['http'] & {},
): (name: string) => string | undefined {
  const list = http.header_map?.headers;
  if (list !== undefined && list.length > 0) {
    // encode_raw_headers: every header as sent, values as bytes, repeats as separate entries.
    const map = new Map<string, string>();
    for (const h of list) {
      if (h.key === undefined || h.key.length === 0) continue;
      const key = h.key.toLowerCase();
      const value =
        h.raw_value !== undefined && h.raw_value.length > 0 ? h.raw_value.toString('latin1') : (h.value ?? '');
      const prior = map.get(key);
      map.set(key, prior === undefined ? value : `${prior},${value}`);
    }
    return (name) => map.get(name);
  }
  const headers = http.headers ?? EMPTY;
  // Envoy already lower-cases header names in this map.
  return (name) => (Object.hasOwn(headers, name) ? headers[name] : undefined);
}

/** Which limit the headers exceed, if any. Envoy's own defaults (100 headers, 60 KiB) stay below authzd's. */
function headersOverLimits(http: HttpMessage, limits: RequestLimits): string | undefined {
  // Names and values arrive as strings (UTF-16 units) or raw bytes. A unit is 1 to 3 UTF-8 bytes, so the
  // exact byte count (a second pass) is needed only when the sum falls between the bounds, which typical
  // requests never do.
  const list = http.header_map?.headers;
  const map = http.headers;
  const fromList = list !== undefined && list.length > 0;
  if (fromList && list.length > limits.maxHeaders) return 'too many headers';
  let count = 0;
  let rawBytes = 0;
  let units = 0;
  if (fromList) {
    for (const h of list) {
      units += h.key?.length ?? 0;
      if (h.raw_value !== undefined && h.raw_value.length > 0) rawBytes += h.raw_value.length;
      else units += h.value?.length ?? 0;
    }
  } else if (map !== undefined) {
    for (const name in map) {
      if (!Object.hasOwn(map, name)) continue;
      if (++count > limits.maxHeaders) return 'too many headers';
      units += name.length + (map[name]?.length ?? 0);
    }
  }
  if (rawBytes + 3 * units <= limits.maxHeaderBytes) return undefined;
  if (rawBytes + units > limits.maxHeaderBytes) return 'headers too large';
  let bytes = rawBytes;
  if (fromList) {
    for (const h of list) {
      bytes += Buffer.byteLength(h.key ?? '');
      if (h.raw_value === undefined || h.raw_value.length === 0) bytes += Buffer.byteLength(h.value ?? '');
    }
  } else if (map !== undefined) {
    for (const name in map)
      if (Object.hasOwn(map, name)) bytes += Buffer.byteLength(name) + Buffer.byteLength(map[name] ?? '');
  }
  return bytes > limits.maxHeaderBytes ? 'headers too large' : undefined;
}

/** Whether `s` takes more than `limit` bytes as UTF-8; counted only when its length leaves it in doubt. */
function overBytes(s: string, limit: number): boolean {
  if (3 * s.length <= limit) return false;
  return s.length > limit || Buffer.byteLength(s) > limit;
}

function peerFacts(peer: PeerMessage | undefined): PeerFacts {
  const socket = peer?.address?.socket_address;
  const ip = socket?.address !== undefined ? canonicalIp(socket.address) : undefined;
  return {
    ip,
    port: socket?.port_value || undefined,
    principal: peer?.principal || undefined,
  };
}
