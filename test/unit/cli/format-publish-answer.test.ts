import { describe, expect, it } from 'vitest';

import { formatPublishAnswer } from '../../../src/cli/format-publish-answer.js';

describe('formatPublishAnswer', () => {
  it('reports a publication and an unchanged set as success', () => {
    expect(
      formatPublishAnswer(200, { result: 'published', name: 'default', revision: 8, etag: '"8-ab"', digest: 'cd' }),
    ).toEqual({ ok: true, text: 'published revision 8 of bundle default (etag "8-ab", sha256:cd)\n' });
    expect(
      formatPublishAnswer(200, { result: 'unchanged', name: 'default', revision: 7, etag: '"7-ab"', digest: 'cd' })
        .text,
    ).toMatch(/^unchanged: revision 7 already holds these files/);
  });

  it('lists every problem of a refusal and the revision still served', () => {
    const report = formatPublishAnswer(422, {
      error: 'policy_rejected',
      reason: 'policy_tests_failed',
      detail: '2 of 5 policy test cases fail; nothing was published',
      problems: [
        "tests/a.yaml: case 'x': expected allow, got deny",
        "tests/b.yaml: case 'y': expected allow, got deny",
      ],
      current: 7,
    });
    expect(report).toEqual({
      ok: false,
      text: "refused by the publication gate (policy_tests_failed): 2 of 5 policy test cases fail; nothing was published\n  - tests/a.yaml: case 'x': expected allow, got deny\n  - tests/b.yaml: case 'y': expected allow, got deny\nsidecars keep revision 7\n",
    });
    expect(
      formatPublishAnswer(422, {
        error: 'policy_rejected',
        reason: 'policy_invalid',
        detail: 'd',
        problems: [],
        current: null,
      }).text,
    ).toMatch(/no revision is published yet\n$/);
  });

  it('passes other errors on, and never prints control characters from the network', () => {
    expect(formatPublishAnswer(401, { error: 'unauthorized', detail: 'the admin token is required' })).toEqual({
      ok: false,
      text: 'the control plane answered 401: unauthorized: the admin token is required\n',
    });
    expect(formatPublishAnswer(502, undefined).text).toBe(
      "the control plane answered 502: an answer that is not the control plane's\n",
    );
    const hostile = formatPublishAnswer(422, {
      error: 'policy_rejected',
      reason: 'x\u001b[2J',
      detail: 'd\u202e',
      problems: ['p\r\nforged line'],
      current: 1,
    }).text;
    expect(hostile).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\uffff]/);
    expect(hostile).toContain('\\u001b[2J');
    expect(hostile.split('\n').length).toBe(4);
  });
});
