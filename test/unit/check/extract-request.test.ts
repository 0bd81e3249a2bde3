import { describe, expect, it } from 'vitest';

import { DEFAULT_REQUEST_LIMITS, extractRequest } from '../../../src/check/extract-request.js';
import { ConfigSchema } from '../../../src/config/config-schema.js';
import type { CheckRequestMessage, HttpMessage } from '../../../src/contract/check-request.js';

const limits = { maxHeaders: 10, maxHeaderBytes: 1024, maxPathBytes: 256 };
const message = (
  http: HttpMessage,
  extra: Partial<NonNullable<CheckRequestMessage['attributes']>> = {},
): CheckRequestMessage => ({
  attributes: { request: { http: { method: 'GET', path: '/a', ...http } }, ...extra },
});
const outcome = (m: CheckRequestMessage, l = limits) => {
  const r = extractRequest(m, 1_000_000, l);
  return r.ok ? 'ok' : `${r.reason}: ${r.detail}`;
};
const headers = (n: number, value = 'v') => Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i}`, value]));

describe('extractRequest limits', () => {
  it('has the documented defaults, the same as the configuration schema', () => {
    expect(DEFAULT_REQUEST_LIMITS).toEqual({ maxHeaders: 200, maxHeaderBytes: 65_536, maxPathBytes: 8192 });
    expect(ConfigSchema.parse({}).limits).toEqual(DEFAULT_REQUEST_LIMITS);
  });

  it('counts header entries, in the map and in header_map (repeats included)', () => {
    expect(outcome(message({ headers: headers(10) }))).toBe('ok');
    expect(outcome(message({ headers: headers(11) }))).toBe('request_too_large: too many headers');
    const list = Array.from({ length: 11 }, () => ({ key: 'x-repeat', raw_value: Buffer.from('1') }));
    expect(outcome(message({ header_map: { headers: list } }))).toBe('request_too_large: too many headers');
    expect(outcome(message({ header_map: { headers: list.slice(1) } }))).toBe('ok');
  });

  it('sums names and values in UTF-8 bytes, raw values as sent', () => {
    // 2 + 1022 = 1024 bytes: at the limit.
    expect(outcome(message({ headers: { ab: 'x'.repeat(1022) } }))).toBe('ok');
    expect(outcome(message({ headers: { ab: 'x'.repeat(1023) } }))).toBe('request_too_large: headers too large');
    // 341 three-byte characters are 1023 bytes (plus the name): over, though only 343 UTF-16 units.
    expect(outcome(message({ headers: { ab: '\u20ac'.repeat(341) } }))).toBe('request_too_large: headers too large');
    expect(outcome(message({ headers: { ab: '\u20ac'.repeat(340) } }))).toBe('ok');
    expect(outcome(message({ header_map: { headers: [{ key: 'ab', raw_value: Buffer.alloc(1023, 0xff) }] } }))).toBe(
      'request_too_large: headers too large',
    );
    expect(outcome(message({ header_map: { headers: [{ key: 'ab', raw_value: Buffer.alloc(1022, 0xff) }] } }))).toBe(
      'ok',
    );
    // Many headers each within a bound that only their sum exceeds.
    expect(outcome(message({ headers: headers(8, '\u20ac'.repeat(60)) }))).toBe('request_too_large: headers too large');
  });

  it('bounds the path (query included) in bytes', () => {
    expect(outcome(message({ path: `/${'a'.repeat(255)}` }))).toBe('ok');
    expect(outcome(message({ path: `/${'a'.repeat(256)}` }))).toBe('request_too_large: path too long');
    expect(outcome(message({ path: `/a?${'q'.repeat(300)}` }))).toBe('request_too_large: path too long');
    expect(outcome(message({ path: `/${'\u00e9'.repeat(128)}` }))).toBe('request_too_large: path too long');
    expect(outcome(message({ path: `/${'\u00e9'.repeat(127)}` }))).toBe('ok');
  });

  it('checks the method before the limits, and still refuses a missing path as request_invalid', () => {
    expect(outcome(message({ method: 'G T', headers: headers(50) }))).toBe(
      'request_invalid: missing or invalid method',
    );
    expect(outcome(message({ path: '' }))).toBe('request_invalid: missing path');
  });
});

describe('extractRequest facts', () => {
  it("takes Envoy's request time, but not one no integer can hold exactly", () => {
    const at = (seconds: string) => {
      const r = extractRequest({ attributes: { request: { time: { seconds, nanos: 5_000_000 } } } }, 42_000);
      return r.ok ? r.facts.timeMs : undefined;
    };
    expect(at('1700000000')).toBe(1_700_000_000_005);
    expect(at('0')).toBe(42_000);
    expect(at('-5')).toBe(42_000);
    expect(at('9223372036854775807')).toBe(42_000);
    expect(at(String(Math.floor(Number.MAX_SAFE_INTEGER / 1000)))).toBe(42_000);
  });

  it('reads IPv4 clients of a dual-stack listener as IPv4, and drops what is no address', () => {
    const ip = (address: string) => {
      const r = extractRequest({ attributes: { source: { address: { socket_address: { address } } } } }, 0);
      return r.ok ? r.facts.source.ip : 'failed';
    };
    expect(ip('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(ip('10.1.2.3')).toBe('10.1.2.3');
    expect(ip('2001:db8::1')).toBe('2001:db8::1');
    expect(ip('not an ip')).toBeUndefined();
  });
});
