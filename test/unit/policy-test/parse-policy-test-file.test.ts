import { describe, expect, it } from 'vitest';

import { parsePolicyTestFile } from '../../../src/policy-test/parse-policy-test-file.js';

const parse = (text: string) => parsePolicyTestFile('tests/t.yaml', text);

const GOOD = `- name: owner reads
  claims: { sub: alice, tenant: acme, roles: [customer] }
  method: GET
  path: /accounts/acc-1001
  expect: { decision: allow }
`;

describe('parsePolicyTestFile', () => {
  it('reads a valid file into cases', () => {
    const parsed = parse(GOOD);
    expect(parsed.problems).toEqual([]);
    expect(parsed.cases).toEqual([
      {
        name: 'owner reads',
        claims: { sub: 'alice', tenant: 'acme', roles: ['customer'] },
        method: 'GET',
        path: '/accounts/acc-1001',
        expect: { decision: 'allow' },
      },
    ]);
  });

  it('rejects unknown keys with file, line, column and path, at any depth', () => {
    const parsed = parse(`- name: one
  claims: { sub: alice }
  method: GET
  path: /a
  expect:
    decision: allow
    polices: [x]
  note: hi
`);
    expect(parsed.cases).toEqual([]);
    expect(parsed.problems).toEqual([
      'tests/t.yaml:7:5: [0].expect.polices: unknown key',
      'tests/t.yaml:8:3: [0].note: unknown key',
    ]);
  });

  it('places a bad value at the value, a missing key at its parent', () => {
    const parsed = parse(`- name: one
  claims: { sub: alice }
  method: get
  path: /a
  expect: { reason: policy_denied }
`);
    expect(parsed.problems).toEqual([
      'tests/t.yaml:3:11: [0].method: expected an upper-case HTTP method',
      'tests/t.yaml:5:11: [0].expect.decision: required',
    ]);
  });

  it('reports YAML errors (syntax, duplicate keys) with their positions and runs nothing of the file', () => {
    expect(parse('- name: a\n  name: b\n').problems).toEqual(['tests/t.yaml:2:3: Map keys must be unique']);
    const broken = parse('- name: [a\n');
    expect(broken.cases).toEqual([]);
    expect(broken.problems[0]).toMatch(/^tests\/t\.yaml:\d+:\d+: /);
  });

  it('refuses a file that is not a list of cases, and an empty list', () => {
    expect(parse('name: a\n').problems).toEqual([expect.stringMatching(/^tests\/t\.yaml:1:1: \(top level\): .*array/)]);
    expect(parse('[]\n').problems).toEqual(['tests/t.yaml:1:1: (top level): a test file lists at least one case']);
  });

  it('refuses duplicate case names within a file', () => {
    expect(parse(GOOD + GOOD.replace('owner reads', 'other') + GOOD).problems).toEqual([
      'tests/t.yaml:11:9: [2].name: duplicate case name (also case [0])',
    ]);
  });

  it('refuses the claims the runner sets, and requires sub', () => {
    const parsed = parse(
      GOOD.replace('{ sub: alice, tenant: acme, roles: [customer] }', '{ tenant: acme, exp: 1, iss: x }'),
    );
    expect(parsed.problems).toEqual([
      'tests/t.yaml:2:11: [0].claims.sub: required',
      'tests/t.yaml:2:40: [0].claims.iss: "iss" is set by the runner (its own issuer, audience and a valid lifetime)',
      'tests/t.yaml:2:32: [0].claims.exp: "exp" is set by the runner (its own issuer, audience and a valid lifetime)',
    ]);
  });

  it('checks that a case has one request form and a principal that fits it', () => {
    const problems = (body: string) => parse(`- name: x\n${body}  expect: { decision: deny }\n`).problems;
    expect(problems('  claims: { sub: a }\n  method: GET\n')).toEqual([
      'tests/t.yaml:1:3: [0].path: required with method',
    ]);
    expect(
      problems('  claims: { sub: a }\n  method: GET\n  path: /a\n  action: read\n  resource: { type: A, id: "1" }\n'),
    ).toEqual(['tests/t.yaml:5:11: [0].action: a request is method + path or action + resource, not both']);
    expect(problems('  action: read\n  resource: { type: A, id: "1" }\n')).toEqual([
      'tests/t.yaml:1:3: [0].claims: required with action + resource: the principal comes from the claims',
    ]);
    expect(problems('  claims: { sub: a }\n')).toEqual([
      'tests/t.yaml:1:3: [0]: a case needs a request (method + path, or action + resource), or peer alone for a connection',
    ]);
    expect(problems('  claims: { sub: a }\n  peer: { source: "spiffe://x" }\n')).toEqual([
      'tests/t.yaml:2:11: [0].claims: a connection without HTTP attributes carries no token; add method + path for an HTTP request',
    ]);
    // An HTTP request from an mTLS peer, with or without a token, and a connection alone are all valid.
    expect(problems('  peer: { source: "spiffe://x" }\n  method: GET\n  path: /a\n')).toEqual([]);
    expect(problems('  peer: { source: "spiffe://x", destination: "spiffe://y" }\n')).toEqual([]);
  });

  it('checks context values and that a reason fits its decision', () => {
    const parsed = parse(
      GOOD.replace(
        'expect: { decision: allow }',
        'context: { sourceIp: 10.0.0.300, time: "yesterday", risk: { score: 5 } }\n  expect: { decision: allow, reason: policy_denied }',
      ),
    );
    expect(parsed.problems).toEqual([
      'tests/t.yaml:5:24: [0].context.sourceIp: expected an IPv4 or IPv6 address',
      'tests/t.yaml:5:42: [0].context.time: expected an RFC 3339 date-time with an offset (2026-01-15T09:30:00Z) or Unix seconds',
      'tests/t.yaml:6:38: [0].expect.reason: reason policy_denied never comes with decision allow',
    ]);
    expect(parse(GOOD.replace('decision: allow', 'decision: deny, reason: internal_error')).problems[0]).toMatch(
      /^tests\/t\.yaml:5:37: \[0\]\.expect\.reason: Invalid option/,
    );
  });
});
