// Wire framing for the two load generators. h2load posts raw HTTP/2 bodies, so the body must already be a
// gRPC length-prefixed message; ghz reads several messages from one file when each carries a protobuf varint
// length ("count-delimited", as protobuf's writeDelimited produces).

/** One gRPC message frame (gRPC over HTTP/2, "Length-Prefixed-Message"): flag 0 (uncompressed), u32 BE length, bytes. */
export function grpcFrame(message) {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message.buffer, message.byteOffset, message.length).copy(frame, 5);
  return frame;
}

/** Protobuf base-128 varint of a non-negative safe integer. */
export function encodeVarint(value) {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`varint needs a non-negative safe integer, got ${value}`);
  const bytes = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** Messages each preceded by its varint length: ghz's --binary-file format for several messages. */
export function lengthDelimited(messages) {
  const parts = [];
  for (const m of messages) parts.push(encodeVarint(m.length), Buffer.from(m.buffer, m.byteOffset, m.length));
  return Buffer.concat(parts);
}
