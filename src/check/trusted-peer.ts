import { BlockList, isIPv6 } from 'node:net';

import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/config-schema.js';
import type { PeerFacts } from './extract-request.js';

/**
 * Which downstream peers are believed about things clients could otherwise forge: forwarded client
 * certificates and risk-signal headers. Anyone can set a header; only a peer named here (by its mTLS
 * identity or its address) is trusted to have set it. Built once from the config.
 */
export function createPeerTrust(config: Config['trustedPeers']): (peer: PeerFacts) => boolean {
  const principals = new Set(config.principals);
  const cidrs = new BlockList();
  const problems: string[] = [];
  for (const cidr of config.cidrs) {
    const [address, bits] = cidr.split('/');
    const prefix = Number(bits ?? (isIPv6(address ?? '') ? 128 : 32));
    try {
      cidrs.addSubnet(address!, prefix, isIPv6(address!) ? 'ipv6' : 'ipv4');
    } catch {
      problems.push(`trustedPeers.cidrs: ${JSON.stringify(cidr)} is not an address/prefix`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (principals.size === 0 && config.cidrs.length === 0) return () => false;
  return (peer) =>
    (peer.principal !== undefined && principals.has(peer.principal)) ||
    (peer.ip !== undefined && cidrs.check(peer.ip, isIPv6(peer.ip) ? 'ipv6' : 'ipv4'));
}
