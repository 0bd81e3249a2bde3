import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

import type { LogLine } from './replay-decisions.js';

/**
 * The lines of NDJSON log files, one at a time and in order, without holding a file in memory (decision
 * logs run to gigabytes). `-` reads standard input.
 */
export async function* readLogLines(
  files: readonly string[],
  stdin: NodeJS.ReadableStream = process.stdin,
): AsyncGenerator<LogLine> {
  for (const file of files) {
    const input = file === '-' ? stdin : createReadStream(file, { encoding: 'utf8' });
    const reader = createInterface({ input, crlfDelay: Infinity });
    let line = 0;
    try {
      for await (const text of reader) yield { file, line: ++line, text };
    } finally {
      reader.close();
      if (file !== '-') (input as ReturnType<typeof createReadStream>).destroy();
    }
  }
}
