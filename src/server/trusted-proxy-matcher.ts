import { BlockList, isIP } from 'node:net';

/**
 * A predicate for "this address is one of our proxies", built once from `http.trustedProxies` (IPs and CIDR
 * blocks, already validated by the config schema). IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`, what a
 * dual-stack listener reports for IPv4 clients) match their IPv4 entries.
 */
export function trustedProxyMatcher(entries: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return (ip) => {
    const family = isIP(ip);
    return family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  };
}
