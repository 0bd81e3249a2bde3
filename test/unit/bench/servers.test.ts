import { describe, expect, it } from 'vitest';

import { helpListsFlag } from '../../../bench/lib/servers.mjs';

const BEFORE = `usage: authzd serve [options]

  --config FILE        YAML configuration (docs/configuration.md); flags below override it
  --grpc-addr ADDR     ext_authz listener, HOST:PORT or unix:///path (default 0.0.0.0:9191)
  --admin-addr ADDR    metrics/health listener (default 0.0.0.0:9192)

signals: SIGTERM/SIGINT drain and exit 0; SIGHUP re-reads the policy directory.`;

describe('helpListsFlag (is --workers passed to authzd serve?)', () => {
  it('is false for a build whose help lists no --workers', () => {
    expect(helpListsFlag(BEFORE, '--workers')).toBe(false);
  });

  it('is true once the option is listed', () => {
    const after = BEFORE.replace(
      '\n\nsignals',
      '\n  --workers N          serving processes sharing the listener\n\nsignals',
    );
    expect(helpListsFlag(after, '--workers')).toBe(true);
  });

  it('does not mistake a longer option or a mention in prose for the flag', () => {
    expect(helpListsFlag('  --workers-max N   cap\n', '--workers')).toBe(false);
    expect(helpListsFlag('  --config FILE   see also --workers\n', '--workers')).toBe(false);
  });
});
