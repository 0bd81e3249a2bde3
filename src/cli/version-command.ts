import { readFileSync } from 'node:fs';
import { cedar } from '../policy/cedar.js';

export async function run(): Promise<number> {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`authzd ${pkg.version} (cedar ${cedar.getCedarVersion()}, node ${process.versions.node})\n`);
  return 0;
}
