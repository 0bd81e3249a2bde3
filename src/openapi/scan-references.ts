import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { OpenApiImportError } from './openapi-import-error.js';
import { parseDocumentText } from './parse-document-text.js';

export interface ReferenceScan {
  /** `$ref`s that name a URL (any scheme, or `//host/...`): the importer refuses to fetch them. */
  readonly remote: readonly { readonly file: string; readonly ref: string }[];
  /** Every local file the document reaches through `$ref`s, the document itself first. */
  readonly files: readonly string[];
}

// A reference with a scheme (`https:`, `file:`, `urn:`...) or a network-path reference (`//host/x`) is
// not a file next to the document. The parser library would fetch http(s) ones itself (it only blocks
// private addresses), so they are found here, before it runs, and refused: an import never touches the
// network, and a document's meaning does not depend on what a server answers today.
const NOT_A_RELATIVE_FILE = /^(?:[A-Za-z][A-Za-z0-9+.-]*:|\/\/)/;

/**
 * Walks the document and every local file its `$ref`s reach (relative to the file that holds the
 * reference, as the parser resolves them), collecting references that would leave the machine.
 */
export async function scanReferences(file: string, document: unknown): Promise<ReferenceScan> {
  const remote: { file: string; ref: string }[] = [];
  const seen = new Set<string>([file]);
  const queue: { file: string; value: unknown }[] = [{ file, value: document }];
  while (queue.length > 0) {
    const { file: current, value } = queue.shift()!;
    for (const ref of collectRefs(value)) {
      const target = ref.split('#', 1)[0]!;
      if (target === '') continue;
      if (NOT_A_RELATIVE_FILE.test(target)) {
        remote.push({ file: current, ref });
        continue;
      }
      const next = path.resolve(path.dirname(current), safeDecode(target));
      if (seen.has(next)) continue;
      seen.add(next);
      let text: string;
      try {
        text = await readFile(next, 'utf8');
      } catch (err) {
        throw new OpenApiImportError(
          'document_invalid',
          `${current}: $ref ${JSON.stringify(ref)} names ${next}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
      queue.push({ file: next, value: parseDocumentText(next, text) });
    }
  }
  return { remote, files: [...seen] };
}

function collectRefs(root: unknown): string[] {
  const refs: string[] = [];
  const stack: unknown[] = [root];
  const visited = new Set<object>();
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object' || visited.has(node)) continue;
    visited.add(node);
    if (Array.isArray(node)) {
      stack.push(...node);
      continue;
    }
    for (const [key, child] of Object.entries(node)) {
      if (key === '$ref' && typeof child === 'string') refs.push(child);
      else stack.push(child);
    }
  }
  return refs;
}

function safeDecode(target: string): string {
  try {
    return decodeURIComponent(target);
  } catch {
    return target;
  }
}
