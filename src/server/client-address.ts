import { isIP } from 'node:net';

/**
 * The address of the client a proxy acts for. The TCP peer is the answer unless it is a trusted proxy;
 * then X-Forwarded-For is read from the right (each proxy appends the address it saw), skipping trusted
 * proxies, and the first address that is not one is the client. Entries left of that are whatever the
 * client sent and are never believed. A peer without an address (a Unix socket) counts as trusted: the
 * socket's file permissions decide who may connect.
 *
 * Undefined when the entry that would be the client is not an IP address: the request is then decided
 * without a source address rather than with a proxy's, which IP-based policies might trust.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: readonly string[] | undefined,
  isTrustedProxy: (ip: string) => boolean,
): string | undefined {
  const direct = peer === undefined ? undefined : unmapIPv4(peer);
  if (direct !== undefined && !isTrustedProxy(direct)) return direct;
  const hops = (forwardedFor ?? [])
    .flatMap((value) => value.split(','))
    .map((hop) => hop.trim())
    .filter((hop) => hop.length > 0);
  let client = direct;
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = hopAddress(hops[i]!);
    if (ip === undefined) return undefined;
    client = ip;
    if (!isTrustedProxy(ip)) return ip;
  }
  // Every hop was a trusted proxy: the leftmost is the closest thing to a client we know.
  return client;
}

/** An X-Forwarded-For entry: an address, optionally with a port (`1.2.3.4:80`, `[2001:db8::1]:80`). */
function hopAddress(hop: string): string | undefined {
  const candidate = /^\[([^\]]+)\](?::\d+)?$/.exec(hop)?.[1] ?? /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop)?.[1] ?? hop;
  return isIP(candidate) === 0 ? undefined : unmapIPv4(candidate);
}

function unmapIPv4(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return mapped !== null ? mapped[1]! : ip;
}
