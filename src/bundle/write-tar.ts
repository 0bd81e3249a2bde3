// The tar half of a deterministic bundle: POSIX ustar headers with fixed mode, owner and mtime, so the same
// files always give the same bytes, and nothing in the archive depends on who built it or when.
const BLOCK = 512;

/** Regular files, in the order given, followed by the end-of-archive marker (two zero blocks). */
export function writeTar(entries: readonly (readonly [name: string, data: Uint8Array])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, data] of entries) {
    parts.push(header(name, data.length), Buffer.from(data));
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function header(name: string, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new RangeError(`tar entry name longer than 100 bytes: ${name}`);
  nameBytes.copy(block, 0);
  block.write('0000644\u0000', 100, 'latin1'); // mode
  block.write('0000000\u0000', 108, 'latin1'); // uid
  block.write('0000000\u0000', 116, 'latin1'); // gid
  block.write(`${size.toString(8).padStart(11, '0')}\u0000`, 124, 'latin1');
  block.write('00000000000\u0000', 136, 'latin1'); // mtime: the epoch
  block.write('        ', 148, 'latin1'); // checksum placeholder: counted as spaces
  block.write('0', 156, 'latin1'); // typeflag: regular file
  block.write('ustar\u000000', 257, 'latin1');
  block.write('0000000\u0000', 329, 'latin1'); // devmajor
  block.write('0000000\u0000', 337, 'latin1'); // devminor
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return block;
}
