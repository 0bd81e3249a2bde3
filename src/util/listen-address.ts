import type { ListenOptions } from 'node:net';

/** "HOST:PORT", "[v6]:PORT" or "unix:///path" as options for net.Server#listen. */
export function listenAddress(address: string): ListenOptions {
  if (address.startsWith('unix://')) return { path: address.slice('unix://'.length) };
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host: host.length > 0 ? host : undefined, port: Number(address.slice(colon + 1)) };
}

/** Whether only this host can reach the listener: a Unix socket or a loopback address. */
export function isLocalOnly(options: ListenOptions): boolean {
  if (options.path !== undefined) return true;
  const host = options.host;
  return (
    host === 'localhost' || host === '::1' || (host !== undefined && /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))
  );
}
