// A strict validator for Envoy YAML against Envoy's own protos: every key must be a field of the message
// (proto or JSON name), every enum value defined, every oneof used at most once, and `typed_config` Any
// values are resolved by their @type and validated the same way. protobufjs' fromObject would silently
// drop unknown keys, which is exactly the mistake this exists to catch.
import type protobuf from 'protobufjs';

const SCALAR_INT = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const SCALAR_LONG = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const WRAPPERS: Record<string, string> = {
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

export function validateEnvoyConfig(root: protobuf.Root, typeName: string, value: unknown): string[] {
  const problems: string[] = [];
  validateMessage(root, root.lookupType(typeName), value, typeName, problems);
  return problems;
}

function validateMessage(
  root: protobuf.Root,
  type: protobuf.Type,
  value: unknown,
  path: string,
  problems: string[],
): void {
  const name = type.fullName;
  if (name in WRAPPERS) return validateScalar(WRAPPERS[name], value, path, problems);
  switch (name) {
    case '.google.protobuf.Duration':
      if (typeof value !== 'string' || !/^-?\d+(\.\d{1,9})?s$/.test(value))
        problems.push(`${path}: expected a duration like "0.25s"`);
      return;
    case '.google.protobuf.Timestamp':
      if (typeof value !== 'string') problems.push(`${path}: expected an RFC 3339 timestamp`);
      return;
    case '.google.protobuf.Struct':
      if (!isObject(value)) problems.push(`${path}: expected a mapping`);
      return;
    case '.google.protobuf.Value':
    case '.google.protobuf.ListValue':
      return;
    case '.google.protobuf.Any': {
      if (!isObject(value) || typeof value['@type'] !== 'string') {
        problems.push(`${path}: expected a typed_config with "@type"`);
        return;
      }
      const url = value['@type'];
      const inner = url.slice(url.lastIndexOf('/') + 1);
      let innerType: protobuf.Type;
      try {
        innerType = root.lookupType(inner);
      } catch {
        problems.push(`${path}: @type ${url} is not a known Envoy message`);
        return;
      }
      const { '@type': _, ...rest } = value;
      return validateMessage(root, innerType, rest, `${path}<${inner}>`, problems);
    }
  }
  if (!isObject(value)) {
    problems.push(`${path}: expected a mapping for ${name}`);
    return;
  }
  const byJsonName = new Map<string, protobuf.Field>();
  for (const field of type.fieldsArray) byJsonName.set(field.name, field).set(camel(field.name), field);
  const oneofsUsed = new Map<string, string>();
  for (const [key, child] of Object.entries(value)) {
    const field = byJsonName.get(key);
    const at = `${path}.${key}`;
    if (field === undefined) {
      problems.push(`${at}: unknown field of ${name}`);
      continue;
    }
    if (field.partOf !== null && field.partOf !== undefined) {
      const prior = oneofsUsed.get(field.partOf.name);
      if (prior !== undefined) problems.push(`${at}: oneof ${field.partOf.name} already set by ${prior}`);
      oneofsUsed.set(field.partOf.name, key);
    }
    if (field.options?.deprecated === true) problems.push(`${at}: deprecated field`);
    field.resolve();
    if (field.map) {
      if (!isObject(child)) {
        problems.push(`${at}: expected a mapping`);
        continue;
      }
      for (const [k, v] of Object.entries(child)) validateValue(root, field, v, `${at}[${k}]`, problems);
    } else if (field.repeated) {
      if (!Array.isArray(child)) {
        problems.push(`${at}: expected a list`);
        continue;
      }
      child.forEach((v, i) => validateValue(root, field, v, `${at}[${i}]`, problems));
    } else {
      validateValue(root, field, child, at, problems);
    }
  }
}

function validateValue(
  root: protobuf.Root,
  field: protobuf.Field,
  value: unknown,
  path: string,
  problems: string[],
): void {
  const resolved = field.resolvedType;
  if (resolved === null || resolved === undefined) return validateScalar(field.type, value, path, problems);
  if ('values' in resolved && !('fields' in resolved)) {
    const values = resolved.values;
    if (typeof value === 'string' ? !(value in values) : !Object.values(values).includes(value as number)) {
      problems.push(`${path}: ${String(value)} is not a value of ${resolved.fullName}`);
    }
    return;
  }
  validateMessage(root, resolved as protobuf.Type, value, path, problems);
}

function validateScalar(type: string, value: unknown, path: string, problems: string[]): void {
  const ok =
    type === 'string' || type === 'bytes'
      ? typeof value === 'string'
      : type === 'bool'
        ? typeof value === 'boolean'
        : SCALAR_INT.has(type)
          ? Number.isInteger(value)
          : SCALAR_LONG.has(type)
            ? Number.isInteger(value) || (typeof value === 'string' && /^-?\d+$/.test(value))
            : typeof value === 'number';
  if (!ok) problems.push(`${path}: expected ${type}, got ${JSON.stringify(value)}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
