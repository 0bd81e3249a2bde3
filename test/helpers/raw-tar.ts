// Hand-made tar archives for the tamper corpus: every header field is set here, independently of
// src/bundle/write-tar.ts, so the reader is tested against archives its own writer would never produce.
const BLOCK = 512;

export interface RawEntry {
  name: string;
  data?: Uint8Array | string;
  /** ustar typeflag: '0' file, '1' hard link, '2' symlink, '5' directory, 'x' pax header... */
  type?: string;
  linkname?: string;
  /** POSIX ustar prefix (a directory prepended to name). */
  prefix?: string;
  /** Corrupts the header checksum. */
  badChecksum?: boolean;
}

export function rawTarHeader(entry: RawEntry, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  Buffer.from(entry.name, 'utf8').copy(block, 0, 0, 100);
  block.write('0000644\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  block.write('14715305400\0', 136, 'latin1');
  block.write('        ', 148, 'latin1');
  block.write(entry.type ?? '0', 156, 'latin1');
  if (entry.linkname !== undefined) block.write(entry.linkname, 157, 'utf8');
  block.write('ustar\u000000', 257, 'latin1');
  if (entry.prefix !== undefined) block.write(entry.prefix, 345, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  if (entry.badChecksum) sum += 1;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** A tar stream of the entries; `end: false` leaves out the end-of-archive marker. */
export function rawTar(entries: readonly RawEntry[], { end = true } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data) : Buffer.from(entry.data ?? []);
    parts.push(rawTarHeader(entry, data.length), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  if (end) parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
