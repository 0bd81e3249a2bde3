import { type Long, parseDigits } from './i64.js';

/** A JSON number that is not an integer within i64 (a fraction, an exponent, or too large): never a Long. */
export class JsonNonLong {
  constructor(readonly text: string) {}
}

const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/** A JSON value as parsed losslessly: integers are exact Longs; "__proto__" is an ordinary own key. */
export type Json = null | boolean | Long | JsonNonLong | string | Json[] | { [key: string]: Json };

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
}

/**
 * A strict JSON parser (RFC 8259, as serde_json reads it) that keeps 64-bit integers exact — JSON.parse
 * rounds beyond 2^53 — refuses duplicate object keys, as Cedar does for entities and context, and refuses
 * lone surrogates in escapes. Numbers with a fraction or an exponent become JsonNonLong.
 */
export function parseJsonText(text: string): Json {
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`invalid JSON at offset ${i}: ${what}`);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else return;
    }
  };
  const hex4 = (): number => {
    const h = text.slice(i, i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
    i += 4;
    return parseInt(h, 16);
  };
  const str = (): string => {
    i++; // opening quote
    let out = '';
    let start = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        i += 2;
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const u = hex4();
            if (u >= 0xd800 && u <= 0xdbff) {
              if (text[i] !== '\\' || text[i + 1] !== 'u') fail('lone leading surrogate');
              i += 2;
              const lo = hex4();
              if (lo < 0xdc00 || lo > 0xdfff) fail('lone leading surrogate');
              out += String.fromCharCode(u, lo);
            } else if (u >= 0xdc00 && u <= 0xdfff) fail('lone trailing surrogate');
            else out += String.fromCharCode(u);
            break;
          }
          default:
            fail('bad escape');
        }
        start = i;
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        // Raw surrogates are fine only as a well-formed pair (a JS string from a file is UTF-16).
        const next = text.charCodeAt(i + 1);
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) fail('lone surrogate');
        i += 2;
        continue;
      }
      i++;
    }
  };
  const num = (): Long | JsonNonLong => {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null) return fail('bad number');
    i += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      // Up to 15 digits is always a safe integer; longer ones go through BigInt, exactly.
      if (m[0].length <= 15) return Number(m[0]) + 0;
      const neg = m[0].startsWith('-');
      const v = parseDigits(neg ? m[0].slice(1) : m[0], neg);
      if (v !== undefined) return v;
    }
    return new JsonNonLong(m[0]);
  };
  const value = (depth: number): Json => {
    if (depth > 512) fail('nested too deeply');
    ws();
    const c = text[i];
    switch (c) {
      case '{': {
        i++;
        const obj: { [key: string]: Json } = {};
        ws();
        if (text[i] === '}') {
          i++;
          return obj;
        }
        for (;;) {
          ws();
          if (text[i] !== '"') fail('expected a key');
          const k = str();
          if (Object.hasOwn(obj, k)) fail(`duplicate key ${JSON.stringify(k)}`);
          ws();
          if (text[i] !== ':') fail('expected :');
          i++;
          const v = value(depth + 1);
          // "__proto__" must be an own key like any other, not the object's prototype.
          if (k === '__proto__')
            Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
          else obj[k] = v;
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === '}') {
            i++;
            return obj;
          }
          fail('expected , or }');
        }
      }
      case '[': {
        i++;
        const arr: Json[] = [];
        ws();
        if (text[i] === ']') {
          i++;
          return arr;
        }
        for (;;) {
          arr.push(value(depth + 1));
          ws();
          if (text[i] === ',') {
            i++;
            continue;
          }
          if (text[i] === ']') {
            i++;
            return arr;
          }
          fail('expected , or ]');
        }
      }
      case '"':
        return str();
      case 't':
        if (text.startsWith('true', i)) {
          i += 4;
          return true;
        }
        break;
      case 'f':
        if (text.startsWith('false', i)) {
          i += 5;
          return false;
        }
        break;
      case 'n':
        if (text.startsWith('null', i)) {
          i += 4;
          return null;
        }
        break;
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return num();
    }
    return fail('unexpected character');
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}
