// A deliberately small ustar reader for untrusted bundles. It accepts only what `authzd bundle build` writes
// (flat regular files in POSIX ustar or GNU headers) and refuses everything else while the bytes stream in, so
// a hostile archive is turned away at its first bad header rather than after it has been buffered. It keeps
// files in memory and never touches the file system.
import { entryNameProblem } from './bundle-format.js';
import type { BundleLimits } from './bundle-limits.js';
import { quoteUntrusted } from './quote-untrusted.js';

const BLOCK = 512;

export interface TarRejection {
  readonly reason: 'bundle_too_large' | 'bundle_corrupt' | 'bundle_entry_forbidden';
  readonly detail: string;
}

type State =
  | { kind: 'header' }
  | { kind: 'data'; name: string; remaining: number; chunks: Buffer[] }
  | { kind: 'padding'; remaining: number }
  | { kind: 'end' };

// Typeflags of POSIX 1003.1-1988 / pax / GNU: anything but a regular file could make a consumer follow a
// link, create a directory or a device, or read metadata (pax 'x'/'g', GNU 'L'/'K') that renames an entry.
const TYPE_NAMES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '5': 'a directory',
  '6': 'a FIFO',
  '7': 'a contiguous file',
  g: 'a pax global header',
  x: 'a pax extended header',
  L: 'a GNU long name',
  K: 'a GNU long link name',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class TarReader {
  /** Entry name -> content, in archive order. Complete only once end() returned undefined. */
  readonly entries = new Map<string, Buffer>();
  readonly #limits: BundleLimits;
  readonly #block = Buffer.alloc(BLOCK);
  #blockFill = 0;
  #state: State = { kind: 'header' };
  #zeroBlocks = 0;
  #failure: TarRejection | undefined;

  constructor(limits: BundleLimits) {
    this.#limits = limits;
  }

  /** Feeds the next bytes of the tar stream; returns the rejection as soon as one is certain. */
  push(chunk: Uint8Array): TarRejection | undefined {
    if (this.#failure !== undefined) return this.#failure;
    let at = 0;
    while (at < chunk.length) {
      const state = this.#state;
      if (state.kind === 'data') {
        const n = Math.min(state.remaining, chunk.length - at);
        state.chunks.push(Buffer.from(chunk.subarray(at, at + n)));
        state.remaining -= n;
        at += n;
        if (state.remaining === 0) this.#finishEntry(state);
        continue;
      }
      if (state.kind === 'padding') {
        const n = Math.min(state.remaining, chunk.length - at);
        state.remaining -= n;
        at += n;
        if (state.remaining === 0) this.#state = { kind: 'header' };
        continue;
      }
      if (state.kind === 'end') {
        // Writers pad archives with zero blocks to a record size; anything else after the end marker is data
        // no signature covers, so it is refused rather than ignored.
        for (; at < chunk.length; at++) {
          if (chunk[at] !== 0) return this.#fail('bundle_corrupt', 'data after the end-of-archive marker');
        }
        break;
      }
      const n = Math.min(BLOCK - this.#blockFill, chunk.length - at);
      this.#block.set(chunk.subarray(at, at + n), this.#blockFill);
      this.#blockFill += n;
      at += n;
      if (this.#blockFill < BLOCK) break;
      this.#blockFill = 0;
      const rejection = this.#header(this.#block);
      if (rejection !== undefined) return this.#fail(rejection.reason, rejection.detail);
    }
    return undefined;
  }

  /** The stream has ended: it must have ended with the end-of-archive marker. */
  end(): TarRejection | undefined {
    if (this.#failure !== undefined) return this.#failure;
    const state = this.#state;
    if (state.kind === 'end') return undefined;
    if (state.kind === 'data')
      return this.#fail('bundle_corrupt', `truncated archive: ${quoteUntrusted(state.name)} is cut short`);
    return this.#fail('bundle_corrupt', 'truncated archive: no end-of-archive marker');
  }

  #fail(reason: TarRejection['reason'], detail: string): TarRejection {
    this.#failure = { reason, detail };
    return this.#failure;
  }

  #finishEntry(state: Extract<State, { kind: 'data' }>): void {
    this.entries.set(state.name, Buffer.concat(state.chunks));
    const size = this.entries.get(state.name)!.length;
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    this.#state = pad === 0 ? { kind: 'header' } : { kind: 'padding', remaining: pad };
  }

  #header(block: Buffer): TarRejection | undefined {
    if (block.every((b) => b === 0)) {
      // Two zero blocks end a tar archive (POSIX ustar).
      this.#zeroBlocks += 1;
      if (this.#zeroBlocks === 2) this.#state = { kind: 'end' };
      return undefined;
    }
    if (this.#zeroBlocks !== 0) return { reason: 'bundle_corrupt', detail: 'a lone zero block inside the archive' };

    const checksum = parseOctal(block.subarray(148, 156));
    if (checksum === undefined || checksum !== headerChecksum(block)) {
      return {
        reason: 'bundle_corrupt',
        detail: `entry ${this.entries.size + 1}: header checksum mismatch (not a tar archive, or damaged)`,
      };
    }
    const magic = block.toString('latin1', 257, 265);
    const posix = magic === 'ustar\u000000';
    if (!posix && magic !== 'ustar  \u0000')
      return { reason: 'bundle_corrupt', detail: 'not a ustar archive (unknown header magic)' };

    let name: string;
    try {
      name = utf8.decode(field(block, 0, 100));
      // In POSIX headers a prefix is prepended as a directory; GNU headers keep other fields there.
      const prefix = posix ? utf8.decode(field(block, 345, 500)) : '';
      if (prefix !== '') name = `${prefix}/${name}`;
    } catch {
      return { reason: 'bundle_entry_forbidden', detail: `entry ${this.entries.size + 1}: its name is not UTF-8` };
    }

    const typeflag = String.fromCharCode(block[156]!);
    if (typeflag !== '0' && typeflag !== '\u0000') {
      const what = TYPE_NAMES[typeflag] ?? `an entry of unknown type ${quoteUntrusted(typeflag)}`;
      return {
        reason: 'bundle_entry_forbidden',
        detail: `${quoteUntrusted(name)} is ${what}; a bundle holds regular files only`,
      };
    }
    const problem = entryNameProblem(name);
    if (problem !== undefined)
      return { reason: 'bundle_entry_forbidden', detail: `${quoteUntrusted(name)} ${problem}` };
    if (this.entries.has(name)) return { reason: 'bundle_entry_forbidden', detail: `${name} appears twice` };
    if (this.entries.size + 1 > this.#limits.maxFiles) {
      return { reason: 'bundle_too_large', detail: `more than ${this.#limits.maxFiles} entries` };
    }

    // The high bit marks GNU base-256 sizes, used only for files of 8 GiB and more.
    const size = (block[124]! & 0x80) !== 0 ? Infinity : parseOctal(block.subarray(124, 136));
    if (size === undefined) return { reason: 'bundle_corrupt', detail: `${name}: malformed size field` };
    if (size > this.#limits.maxFileBytes) {
      return { reason: 'bundle_too_large', detail: `${name} is larger than ${this.#limits.maxFileBytes} bytes` };
    }
    const state = { kind: 'data' as const, name, remaining: size, chunks: [] };
    if (size === 0) this.#finishEntry(state);
    else this.#state = state;
    return undefined;
  }
}

/** A NUL-terminated header field. */
function field(block: Buffer, start: number, end: number): Buffer {
  const nul = block.indexOf(0, start);
  return block.subarray(start, nul === -1 || nul > end ? end : nul);
}

/** An octal number field: digits, optionally padded with leading spaces and trailing NUL or space. */
function parseOctal(bytes: Buffer): number | undefined {
  const text = bytes
    .toString('latin1')
    .replace(/^ +/, '')
    .replace(/[ \u0000]+$/, '');
  return /^[0-7]{1,12}$/.test(text) ? parseInt(text, 8) : undefined;
}

/** Sum of the header bytes with the checksum field read as eight spaces (POSIX ustar). */
function headerChecksum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  return sum;
}
