/**
 * Cedar's `ipaddr`: an address and a prefix length (CIDR). IPv4 addresses are kept as unsigned 32-bit
 * numbers, IPv6 as 128-bit bigints. Two values are equal when version, address and prefix are equal
 * (`ip("10.0.0.1/24") != ip("10.0.0.0/24")`), as Cedar's derived equality on (IpAddr, prefix).
 */
export class IpAddr {
  constructor(
    readonly v6: boolean,
    readonly addr: number | bigint,
    readonly prefix: number,
  ) {}

  equals(o: IpAddr): boolean {
    return this.v6 === o.v6 && this.addr === o.addr && this.prefix === o.prefix;
  }

  isLoopback(): boolean {
    return this.v6 ? this.addr === 1n && this.prefix >= 128 : (this.addr as number) >>> 24 === 127 && this.prefix >= 8;
  }

  isMulticast(): boolean {
    if (this.v6) return (this.addr as bigint) >> 120n === 0xffn && this.prefix >= 8;
    const first = (this.addr as number) >>> 24;
    return first >= 224 && first <= 239 && this.prefix >= 4;
  }

  /** Whether this address's whole network lies inside `range`'s (Cedar's isInRange). */
  isInRange(range: IpAddr): boolean {
    if (this.v6 !== range.v6) return false;
    if (!this.v6) {
      const net = (p: number) => (p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0);
      const host = (p: number) => (p === 32 ? 0 : 0xffffffff >>> p);
      const a = this.addr as number;
      const b = range.addr as number;
      const selfNetwork = (a & net(this.prefix)) >>> 0;
      const otherNetwork = (b & net(range.prefix)) >>> 0;
      const selfBroadcast = (a | host(this.prefix)) >>> 0;
      const otherBroadcast = (b | host(range.prefix)) >>> 0;
      return otherNetwork <= selfNetwork && selfBroadcast <= otherBroadcast;
    }
    const ALL = (1n << 128n) - 1n;
    const net = (p: number) => (p === 0 ? 0n : (ALL << BigInt(128 - p)) & ALL);
    const host = (p: number) => (p === 128 ? 0n : ALL >> BigInt(p));
    const a = this.addr as bigint;
    const b = range.addr as bigint;
    return (b & net(range.prefix)) <= (a & net(this.prefix)) && (a | host(this.prefix)) <= (b | host(range.prefix));
  }

  toString(): string {
    if (!this.v6) {
      const a = this.addr as number;
      return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${this.prefix}`;
    }
    const groups: string[] = [];
    for (let i = 7; i >= 0; i--) groups.push((((this.addr as bigint) >> BigInt(i * 16)) & 0xffffn).toString(16));
    return `${groups.join(':')}/${this.prefix}`;
  }
}

const HEX = /^[0-9a-fA-F]$/;

/** Rust's Ipv4Addr parser: four decimal octets, no leading zeros, each at most 255. */
function parseV4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

/**
 * Rust's Ipv6Addr parser without the embedded-IPv4 form (Cedar refuses any string with two colons and two
 * dots before parsing, which covers every valid embedded form): up to eight groups of one to four hex
 * digits, at most one `::` standing for at least one zero group.
 */
function parseV6(s: string): bigint | undefined {
  const readGroups = (text: string, limit: number): number[] | undefined => {
    if (text === '') return [];
    const parts = text.split(':');
    if (parts.length > limit) return undefined;
    const out: number[] = [];
    for (const p of parts) {
      if (p.length < 1 || p.length > 4 || ![...p].every((c) => HEX.test(c))) return undefined;
      out.push(parseInt(p, 16));
    }
    return out;
  };
  const dbl = s.indexOf('::');
  let groups: number[];
  if (dbl === -1) {
    const g = readGroups(s, 8);
    if (g === undefined || g.length !== 8) return undefined;
    groups = g;
  } else {
    const head = readGroups(s.slice(0, dbl), 7);
    if (head === undefined) return undefined;
    const tail = readGroups(s.slice(dbl + 2), 7 - head.length);
    if (tail === undefined) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

function parsePrefix(s: string, max: number, maxLen: number): number | undefined {
  if (s.length > maxLen || !/^[0-9]*$/.test(s) || (s.startsWith('0') && s !== '0') || s === '') return undefined;
  const n = Number(s);
  return n > max ? undefined : n;
}

const atLeastTwo = (s: string, c: string): boolean => {
  const i = s.indexOf(c);
  return i !== -1 && s.indexOf(c, i + 1) !== -1;
};

/** `ip("…")`: an address or a CIDR range, as cedar-policy's ipaddr extension parses it. */
export function parseIp(s: string): IpAddr | string {
  const fail = `invalid IP address: ${s}`;
  if (s.length > 43) return `error parsing IP address from string \`${s}\`: string length is too large`;
  if (atLeastTwo(s, ':') && atLeastTwo(s, '.'))
    return `error parsing IP address from string: IPv4 embedded in IPv6 is not accepted: \`${s}\``;
  const slash = s.indexOf('/');
  const addrStr = slash === -1 ? s : s.slice(0, slash);
  const v4 = parseV4(addrStr);
  const v6 = v4 === undefined ? parseV6(addrStr) : undefined;
  if (v4 === undefined && v6 === undefined) return fail;
  if (slash === -1) return v4 !== undefined ? new IpAddr(false, v4, 32) : new IpAddr(true, v6!, 128);
  const prefixStr = s.slice(slash + 1);
  const prefix = v4 !== undefined ? parsePrefix(prefixStr, 32, 2) : parsePrefix(prefixStr, 128, 3);
  if (prefix === undefined) return `error parsing prefix \`${prefixStr}\``;
  return v4 !== undefined ? new IpAddr(false, v4, prefix) : new IpAddr(true, v6!, prefix);
}
