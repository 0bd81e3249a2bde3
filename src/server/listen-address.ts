import type { ListenOptions } from 'node:net';

/** "HOST:PORT", "[v6]:PORT" or "unix:///path" as options for net.Server#listen. */
export function listenAddress(address: string): ListenOptions {
  if (address.startsWith('unix://')) return { path: address.slice('unix://'.length) };
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host: host.length > 0 ? host : undefined, port: Number(address.slice(colon + 1)) };
}
