export const PROTO_DIR: string;
export const EXT_AUTHZ_PROTO: string;
export const PROTO_LOADER_OPTIONS: import('@grpc/proto-loader').Options;
export const CHECK_METHOD: string;
export const CHECK_CALL: string;
export function checkMethod(): {
  requestSerialize(value: object): Buffer;
  requestDeserialize(bytes: Buffer): any;
  responseSerialize(value: object): Buffer;
  responseDeserialize(bytes: Buffer): any;
};
export function encodeCheckRequest(request: object): Buffer;
export function decodeCheckRequest(bytes: Buffer): any;
export function decodeDecision(responseBytes: Buffer): { decision: 'allow' | 'deny'; reason: string };
export function httpCheckRequest(opts: {
  method?: string;
  path: string;
  token?: string;
  host?: string;
  sourceIp?: string;
  requestId?: string;
  nowSeconds?: number;
}): Record<string, unknown>;
