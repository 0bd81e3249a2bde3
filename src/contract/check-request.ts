// The decoded shape of a CheckRequest as @grpc/proto-loader delivers it with authzd's proto/ files
// (keepCase, longs as strings, bytes as Buffer, oneofs named). Every field may be absent.

export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

export interface ProtoValue {
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values?: ProtoValue[] };
  kind?: string;
}

export interface PeerMessage {
  address?: { socket_address?: { address?: string; port_value?: number }; pipe?: { path?: string } };
  service?: string;
  labels?: Record<string, string>;
  principal?: string;
  certificate?: string;
}

export interface HttpMessage {
  id?: string;
  method?: string;
  headers?: Record<string, string>;
  header_map?: { headers?: { key?: string; value?: string; raw_value?: Buffer }[] };
  path?: string;
  host?: string;
  scheme?: string;
  query?: string;
  fragment?: string;
  size?: string;
  protocol?: string;
  body?: string;
  raw_body?: Buffer;
}

export interface CheckRequestMessage {
  attributes?: {
    source?: PeerMessage;
    destination?: PeerMessage;
    request?: { time?: { seconds?: string; nanos?: number }; http?: HttpMessage };
    context_extensions?: Record<string, string>;
    metadata_context?: { filter_metadata?: Record<string, ProtoStruct> };
    route_metadata_context?: { filter_metadata?: Record<string, ProtoStruct> };
  };
}
