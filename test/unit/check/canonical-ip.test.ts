import { describe, expect, it } from 'vitest';

import { cedar } from '../../../src/cedar/cedar.js';
import { canonicalIp } from '../../../src/check/canonical-ip.js';

describe('canonicalIp', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['::1', '::1'],
    ['2001:db8::ffff:1', '2001:db8::ffff:1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::FFFF:10.1.2.3', '10.1.2.3'],
    ['0:0:0:0:0:ffff:10.1.2.3', '10.1.2.3'],
    ['::ffff:0a01:0203', '10.1.2.3'],
    ['::1.2.3.4', '0:0:0:0:0:0:102:304'],
    ['64:ff9b::1.2.3.4', '64:ff9b:0:0:0:0:102:304'],
    ['1::ffff:1.2.3.4', '1:0:0:0:0:ffff:102:304'],
    ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1'],
    ['unix:/var/run/x.sock', undefined],
    ['', undefined],
    ['010.1.2.3', undefined],
  ])('%s -> %s', (input, want) => {
    expect(canonicalIp(input)).toBe(want);
  });

  it("gives only addresses Cedar's ip() accepts (it refuses embedded dotted quads and zones)", () => {
    for (const input of [
      '::ffff:10.1.2.3',
      '::1.2.3.4',
      '64:ff9b::1.2.3.4',
      'fe80::1%eth0',
      '::ffff:0a01:0203',
      '2001:db8::1',
    ]) {
      const policy = `permit(principal, action, resource) when { ip("${canonicalIp(input)}").isIpv4() || true };`;
      expect(cedar.checkParsePolicySet({ staticPolicies: policy }).type, input).toBe('success');
      const result = cedar.isAuthorized({
        principal: { type: 'U', id: 'a' },
        action: { type: 'A', id: 'a' },
        resource: { type: 'R', id: 'a' },
        context: {},
        policies: { staticPolicies: policy },
        entities: [],
      });
      expect(result.type === 'success' && result.response.diagnostics.errors, input).toEqual([]);
    }
  });
});
