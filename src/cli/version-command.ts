import { readFileSync } from 'node:fs';

import { cedar } from '../cedar/cedar.js';
import { EXIT } from './exit-codes.js';
import { parseFlags } from './parse-flags.js';

/** `authzd version` and `authzd --version`. */
export async function run(args: string[] = []): Promise<number> {
  const { values } = parseFlags(args, { help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(
      'usage: authzd version (or authzd --version): prints the version of authzd, Cedar and Node.js\n',
    );
    return EXIT.ok;
  }
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`authzd ${pkg.version} (cedar ${cedar.getCedarVersion()}, node ${process.versions.node})\n`);
  return EXIT.ok;
}
