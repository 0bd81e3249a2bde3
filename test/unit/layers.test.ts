// The folder tree is the dependency order (README, "Layers"): this test reads the layer table from the
// README and the import graph of src/, and fails on an import that goes up or sideways, on a folder the
// table does not place, on a file outside every folder, and on a transport outside the server layer.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = path.join(ROOT, 'src');

/** Folder -> layer, from the README's table (`| 4 | \`token\`, \`policy\` | ... |`). */
export function readLayers(readme: string): Map<string, number> {
  const section = readme.slice(readme.indexOf('### Layers'));
  const layers = new Map<string, number>();
  for (const line of section.split('\n')) {
    const m = /^\| (\d+) \| ([^|]+) \|/.exec(line);
    if (m === null) continue;
    for (const folder of m[2].matchAll(/`([a-z-]+)`/g)) layers.set(folder[1], Number(m[1]));
  }
  return layers;
}

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
}

const SPECIFIER =
  /(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]|new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url/g;

/** Every import in src/ as (file, resolved target) pairs; package imports keep their package name. */
export function importEdges(dir = SRC): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) {
        const text = readFileSync(full, 'utf8');
        for (const m of text.matchAll(SPECIFIER)) {
          const spec = m[1] ?? m[2];
          const from = path.relative(dir, full);
          edges.push({
            from,
            to: spec.startsWith('.')
              ? path.relative(dir, path.resolve(path.dirname(full), spec)).replace(/\.js$/, '.ts')
              : spec,
          });
        }
      }
    }
  };
  walk(dir);
  return edges;
}

const folderOf = (file: string) => (file.includes(path.sep) ? file.split(path.sep)[0] : undefined);

/** What the layer table forbids in a set of edges: one message per offending import. */
export function layerViolations(edges: readonly ImportEdge[], layers: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const { from, to } of edges) {
    const a = folderOf(from);
    if (a === undefined) {
      out.push(`${from}: a file outside every folder`);
      continue;
    }
    if (!layers.has(a)) {
      out.push(`${from}: folder ${a} is not in the README's layer table`);
      continue;
    }
    if (/^@grpc\//.test(to) && a !== 'server' && a !== 'cli')
      out.push(`${from} imports ${to}: a transport belongs to server/`);
    if (to.startsWith('node:') || !to.endsWith('.ts')) continue;
    const b = folderOf(to);
    if (b === undefined || b === a) continue;
    const la = layers.get(a)!;
    const lb = layers.get(b);
    if (lb === undefined) out.push(`${from} imports ${to}: folder ${b} is not in the README's layer table`);
    else if (lb >= la)
      out.push(`${from} (layer ${la}, ${a}) imports ${to} (layer ${lb}, ${b}): ${lb === la ? 'sideways' : 'upwards'}`);
  }
  return out;
}

describe('the folder tree is the dependency order', () => {
  const layers = readLayers(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  const edges = importEdges();

  it('places every folder of src/ in the README layer table, and only those', () => {
    const folders = readdirSync(SRC).filter((n) => statSync(path.join(SRC, n)).isDirectory());
    expect([...layers.keys()].sort()).toEqual(folders.sort());
  });

  it('has no import from a folder to one in its own or a higher layer, and gRPC only in server/ and cli/', () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(layerViolations(edges, layers)).toEqual([]);
  });

  it('can fail: an upward, a sideways and a top-level import are each named', () => {
    const table = new Map([
      ['util', 0],
      ['check', 7],
      ['bundle', 5],
      ['engine', 5],
      ['server', 9],
    ]);
    const bad: ImportEdge[] = [
      { from: path.join('util', 'x.ts'), to: path.join('check', 'y.ts') },
      { from: path.join('bundle', 'x.ts'), to: path.join('engine', 'y.ts') },
      { from: 'loose.ts', to: path.join('util', 'y.ts') },
      { from: path.join('check', 'x.ts'), to: '@grpc/grpc-js' },
      { from: path.join('server', 'x.ts'), to: path.join('check', 'y.ts') },
    ];
    const found = layerViolations(bad, table);
    expect(found).toHaveLength(4);
    expect(found[0]).toMatch(/upwards/);
    expect(found[1]).toMatch(/sideways/);
    expect(found[2]).toMatch(/outside every folder/);
    expect(found[3]).toMatch(/transport/);
  });
});
