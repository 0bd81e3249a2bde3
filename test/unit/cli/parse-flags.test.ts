import { describe, expect, it } from 'vitest';

import { parseFlags, UsageError } from '../../../src/cli/parse-flags.js';

const OPTIONS = {
  kid: { type: 'string' },
  output: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
} as const;

describe('parseFlags', () => {
  it('takes a value that begins with a dash, as thumbprint key ids sometimes do', () => {
    const { values, positionals } = parseFlags(['dir', '--kid', '-Fq3x_9', '-o', '-out.tgz', '--force'], OPTIONS, true);
    expect(values).toEqual({ kid: '-Fq3x_9', output: '-out.tgz', force: true });
    expect(positionals).toEqual(['dir']);
  });

  it('still reports a forgotten value when the next argument is one of the flags', () => {
    expect(() => parseFlags(['--kid', '--force'], OPTIONS)).toThrow(UsageError);
    expect(() => parseFlags(['--output', '--kid=x'], OPTIONS)).toThrow(/ambiguous/);
    expect(() => parseFlags(['--kid'], OPTIONS)).toThrow(/argument missing/);
  });

  it('leaves everything after -- alone and still refuses unknown flags', () => {
    const { positionals } = parseFlags(['--', '--kid', '-x'], OPTIONS, true);
    expect(positionals).toEqual(['--kid', '-x']);
    expect(() => parseFlags(['--nope'], OPTIONS)).toThrow(/Unknown option '--nope'/);
    expect(() => parseFlags(['--force', '-x'], OPTIONS)).toThrow(UsageError);
  });
});
