import { z } from 'zod';

/** Dotted key paths of a zod object schema; arrays of objects appear as `name[]`. */
export function schemaKeys(schema: z.ZodType): string[] {
  const walk = (node: any, prefix: string): string[] => {
    if (node.type === 'object' && node.properties) {
      return Object.entries<any>(node.properties).flatMap(([key, child]) => {
        const path = prefix ? `${prefix}.${key}` : key;
        const nested = walk(child, path);
        return nested.length > 0 ? nested : [path];
      });
    }
    if (node.type === 'array' && node.items?.type === 'object') return walk(node.items, `${prefix}[]`);
    return [];
  };
  return walk(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), '');
}

/** The first column of every markdown table row whose cell is a single backticked name. */
export function documentedKeys(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
}
