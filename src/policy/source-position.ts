import type { DetailedError } from '../cedar/cedar.js';

/**
 * `file:line:column` of where a Cedar error points (its first source location; lines and columns from 1,
 * columns in characters), or `file` when it points nowhere. cedar-wasm gives UTF-8 byte offsets into the
 * text it was handed; `byteBase` is where that text starts in the file (a policy cut out of a file).
 */
export function sourcePosition(file: string, text: string, error: DetailedError, byteBase = 0): string {
  const start = error.sourceLocations?.[0]?.start;
  if (start === undefined) return file;
  const before = Buffer.from(text, 'utf8')
    .subarray(0, byteBase + start)
    .toString('utf8');
  const lines = before.split('\n');
  return `${file}:${lines.length}:${lines.at(-1)!.length + 1}`;
}
