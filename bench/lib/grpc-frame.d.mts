export function grpcFrame(message: Uint8Array): Buffer;
export function encodeVarint(value: number): Buffer;
export function lengthDelimited(messages: readonly Uint8Array[]): Buffer;
