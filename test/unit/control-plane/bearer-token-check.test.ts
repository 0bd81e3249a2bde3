import { describe, expect, it } from 'vitest';

import { bearerTokenCheck } from '../../../src/control-plane/bearer-token-check.js';

describe('bearerTokenCheck', () => {
  const check = bearerTokenCheck(['admin-token-0123456789', 'read-token-0123456789']);

  it('accepts any configured token, with the scheme in any case', () => {
    expect(check('Bearer admin-token-0123456789')).toBe(true);
    expect(check('bearer read-token-0123456789')).toBe(true);
  });

  it.each([
    [undefined],
    [''],
    ['Bearer'],
    ['Bearer '],
    ['Basic admin-token-0123456789'],
    ['Bearer admin-token-012345678'],
    ['Bearer admin-token-01234567890'],
    ['Bearer admin-token-0123456789 extra'],
    ['admin-token-0123456789'],
  ])('refuses %j', (header) => {
    expect(check(header)).toBe(false);
  });
});
