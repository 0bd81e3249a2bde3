// auditLine (the precompiled serializer) against the path it replaced, JSON.stringify of the event object,
// on generated events: the text must be identical, so it parses to the same object, including strings that
// need escaping (quotes, backslashes, control characters, lone surrogates, non-ASCII) and absent fields.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { type AuditFields, auditLine } from '../../../src/audit/audit-line.js';

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', 'é', 'a') }),
  fc.constantFrom('', 'acc-1001', 'policy_allowed'),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const uid = fc.record({ type: text, id: text });
const cedar: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.boolean(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(text, tie('value'), { maxKeys: 3 }),
  ),
})).value;

const fields: fc.Arbitrary<AuditFields> = fc.record(
  {
    type: fc.constant('authz.decision' as const),
    decision_id: text,
    decision: fc.constantFrom('allow' as const, 'deny' as const, 'error' as const),
    reason: text,
    policies: maybe(fc.array(text, { maxLength: 4 })),
    errors: maybe(fc.array(text, { maxLength: 2 })),
    policy_version: maybe(text),
    source: maybe(text),
    route: maybe(text),
    risk: maybe(text),
    principal: maybe(uid),
    action: maybe(text),
    resource: maybe(uid),
    tenant: maybe(text),
    issuer: maybe(text),
    request: maybe(fc.record({ id: maybe(text), method: text, host: text, path: maybe(text) })),
    latency_us: fc.oneof(fc.nat(), fc.double()),
    remote: maybe(
      fc.record({
        result: text,
        failure_mode: maybe(fc.constantFrom('open', 'closed')),
        ms: fc.oneof(fc.nat(), fc.double()),
      }),
    ),
    rate_limit: maybe(fc.record({ scope: text, retry_after_s: fc.nat() })),
    hashed: maybe(fc.constant(true as const)),
    input: maybe(
      fc.record({
        principal: fc.record({ uid, attrs: fc.dictionary(text, cedar, { maxKeys: 3 }), parents: fc.array(uid) }),
        action: uid,
        resource: uid,
        context: fc.dictionary(text, cedar, { maxKeys: 4 }),
      }),
    ),
  },
  // Error events carry only a few of the fields: leave any optional one out entirely, too.
  { requiredKeys: ['type', 'decision_id', 'decision', 'reason', 'policy_version', 'latency_us'] },
) as fc.Arbitrary<AuditFields>;

const before = (time: string, f: AuditFields) => `${JSON.stringify({ log: 'audit', time, ...f })}\n`;

describe('auditLine', () => {
  it('writes exactly what JSON.stringify of the event object wrote, on generated events', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), fields, (date, f) => {
        const time = date.toISOString();
        const line = auditLine(time, f);
        expect(line).toBe(before(time, f));
        expect(JSON.parse(line)).toEqual(JSON.parse(before(time, f)));
      }),
      { numRuns: 3000 },
    );
  });

  it('escapes what JSON must escape and nothing else', () => {
    const line = auditLine('2026-01-01T00:00:00.000Z', {
      type: 'authz.decision',
      decision_id: 'a"b\\c\nd\ud800é',
      decision: 'deny',
      reason: 'route_not_found',
      policy_version: undefined,
      latency_us: 12,
    });
    expect(line).toContain(String.raw`"decision_id":"a\"b\\c\nd\ud800é"`);
    expect(line.endsWith('\n')).toBe(true);
    expect(line).not.toContain('policy_version');
  });
});
