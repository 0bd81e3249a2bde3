import { describe, expect, it } from 'vitest';

import { IpAddr, parseIp } from '../../../../src/engine/native/ipaddr.js';
import { disagreements, nativeOutcome } from '../../../helpers/expression-oracle.js';

const IPS = [
  '127.0.0.1',
  '127.0.0.1/8',
  '127.255.0.1/7',
  '10.0.0.0/8',
  '10.1.2.3',
  '192.168.0.1/24',
  '0.0.0.0/0',
  '255.255.255.255',
  '224.0.0.1',
  '239.255.255.255/4',
  '224.0.0.0/3',
  '::1',
  '::1/127',
  '::',
  '::/0',
  'ff00::1',
  'ff02::1/8',
  'fe80::1/7',
  '2001:db8::1',
  '2001:DB8:0:0:0:0:0:1',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7::',
  '::ffff:ff00:1',
  // invalid
  '01.2.3.4',
  '1.2.3',
  '1.2.3.4.5',
  '256.0.0.1',
  '1.2.3.4/33',
  '1.2.3.4/',
  '1.2.3.4/08',
  '1.2.3.4/-1',
  '::1/129',
  '::1/0128',
  '::ffff:1.2.3.4',
  '::1.2.3.4',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7::8',
  ':1::2',
  '1:::2',
  '12345::',
  'g::1',
  '',
  ' 1.2.3.4',
  '1.2.3.4 ',
  '1.2.3.4/3 2',
  '0000:0000:0000:0000:0000:0000:0000:0001/128',
  'ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128',
  'ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/1280',
];

describe('ipaddr', () => {
  it('parses like cedar-policy (Rust std::net plus Cedar prefix rules): same valid/invalid and same predicates', () => {
    const exprs = IPS.flatMap((s) => {
      const ip = `ip(${JSON.stringify(s)})`;
      return [`${ip}.isIpv4()`, `${ip}.isIpv6()`, `${ip}.isLoopback()`, `${ip}.isMulticast()`, `${ip} == ${ip}`];
    });
    expect(disagreements(exprs)).toEqual([]);
  });

  it('isInRange and equality agree with cedar-wasm on every pair', () => {
    const valid = IPS.filter((s) => parseIp(s) instanceof IpAddr).slice(0, 22);
    const exprs = valid.flatMap((a) =>
      valid.map(
        (b) =>
          `ip(${JSON.stringify(a)}).isInRange(ip(${JSON.stringify(b)})) || ip(${JSON.stringify(a)}) == ip(${JSON.stringify(b)})`,
      ),
    );
    expect(disagreements(exprs)).toEqual([]);
  });

  it('is an error when called with the wrong types or arity', () => {
    expect(nativeOutcome('ip("1.2.3.4").isInRange("1.0.0.0/8")')).toBe('error');
    expect(nativeOutcome('ip("1.2.3.4").isInRange(ip("1.0.0.0/8"), ip("1.0.0.0/8"))')).toBe('error');
    expect(nativeOutcome('"1.2.3.4".isIpv4()')).toBe('error');
    expect(nativeOutcome('ip("1.2.3.4") == "1.2.3.4"')).toBe('false');
  });
});
