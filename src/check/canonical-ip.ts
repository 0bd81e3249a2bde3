import { isIP } from 'node:net';

/**
 * The peer address as policies, trusted-peer ranges and Cedar's `ip()` should see it, or undefined when it
 * is no IP address. A dual-stack listener reports IPv4 clients as IPv4-mapped IPv6 (`::ffff:10.1.2.3`):
 * that is the IPv4 client `10.1.2.3`. Cedar refuses dotted quads inside IPv6 (`::1.2.3.4`,
 * `64:ff9b::1.2.3.4`) and zone ids (`fe80::1%eth0`), which would turn every request from such a peer into a
 * schema error; those are rewritten to plain hex groups, the zone dropped. Other addresses pass unchanged.
 */
export function canonicalIp(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return undefined;
  if (!/[.%]|ffff/i.test(address)) return address;
  const groups = hextets(address.split('%')[0]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return /[.%]/.test(address) ? groups.map((g) => g.toString(16)).join(':') : address;
}

/** The eight 16-bit groups of a valid IPv6 address without zone (isIP has checked the syntax). */
function hextets(ip: string): number[] {
  let text = ip;
  const dot = text.indexOf('.');
  if (dot !== -1) {
    const colon = text.lastIndexOf(':');
    const [a, b, c, d] = text
      .slice(colon + 1)
      .split('.')
      .map(Number) as [number, number, number, number];
    text = `${text.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
