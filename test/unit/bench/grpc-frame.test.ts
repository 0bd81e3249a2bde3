import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';

import { decodeCheckRequest, encodeCheckRequest, httpCheckRequest } from '../../../bench/lib/check-requests.mjs';
import { encodeVarint, grpcFrame, lengthDelimited } from '../../../bench/lib/grpc-frame.mjs';

describe('grpcFrame (h2load request body)', () => {
  it('prefixes an uncompressed flag and the big-endian length', () => {
    const frame = grpcFrame(Buffer.from([1, 2, 3]));
    expect([...frame]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
  });

  it('carries a CheckRequest that decodes back with authzd’s protos', () => {
    const bytes = encodeCheckRequest(
      httpCheckRequest({ method: 'POST', path: '/accounts/acc-1/transfers', token: 'a.b.c' }),
    );
    const frame = grpcFrame(bytes);
    expect(frame.readUInt32BE(1)).toBe(bytes.length);
    const decoded = decodeCheckRequest(frame.subarray(5));
    expect(decoded.attributes.request.http).toMatchObject({ method: 'POST', path: '/accounts/acc-1/transfers' });
    expect(decoded.attributes.request.http.headers.authorization).toBe('Bearer a.b.c');
    expect(decoded.attributes.request.http.headers[':path']).toBe('/accounts/acc-1/transfers');
  });

  it('keeps the length of a message beyond 64 KiB intact', () => {
    const frame = grpcFrame(Buffer.alloc(70_000, 7));
    expect(frame.readUInt32BE(1)).toBe(70_000);
    expect(frame.length).toBe(70_005);
  });
});

describe('lengthDelimited (ghz --binary-file with several messages)', () => {
  it('encodes varints as protobuf does', () => {
    expect([...encodeVarint(0)]).toEqual([0]);
    expect([...encodeVarint(127)]).toEqual([127]);
    expect([...encodeVarint(300)]).toEqual([0xac, 0x02]);
    expect([...encodeVarint(2 ** 32)]).toEqual([
      ...protobuf.Writer.create()
        .uint64(2 ** 32)
        .finish(),
    ]);
    expect(() => encodeVarint(-1)).toThrow(RangeError);
  });

  it('writes messages that protobuf’s own delimited reader reads back in order', () => {
    const messages = [Buffer.from('first'), Buffer.alloc(200, 1), Buffer.from('')];
    const reader = protobuf.Reader.create(lengthDelimited(messages));
    const back: Buffer[] = [];
    while (reader.pos < reader.len) back.push(Buffer.from(reader.bytes()));
    expect(back).toEqual(messages);
  });
});
