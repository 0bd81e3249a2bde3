import type { CedarValueJson } from '../cedar/cedar.js';

/**
 * A JWT claim as a Cedar value, or undefined when Cedar cannot represent it faithfully: Cedar has no
 * floats, and cedar-wasm corrupts integers beyond 2^53, so those are left out rather than altered.
 */
export function claimToCedar(value: unknown): CedarValueJson | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isSafeInteger(value) ? value : undefined;
    case 'object':
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      return undefined;
    default:
      return undefined;
  }
}

/** A claim holding a list of strings, as an array or a space-separated string (RFC 8693 `scope`). */
export function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((s) => s.length > 0);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

export const ipValue = (ip: string): CedarValueJson => ({ __extn: { fn: 'ip', arg: ip } });
