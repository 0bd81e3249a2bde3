import { PolicyParseError } from './ast.js';

/**
 * Tokens of Cedar's policy grammar (cedar-policy-core's grammar.lalrpop): identifiers (keywords are
 * identifiers the parser recognises by text), slots, unsigned integers, string literals (raw, still
 * escaped) and punctuation, longest match first.
 */
export interface Token {
  readonly kind: 'ident' | 'slot' | 'number' | 'string' | 'punct' | 'eof';
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const PUNCT = [
  '::',
  '==',
  '!=',
  '<=',
  '>=',
  '||',
  '&&',
  '@',
  '.',
  ',',
  ';',
  ':',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '!',
  '=',
];

/** Unicode White_Space, which the grammar's `\s` skips (JS's `\s` differs: it has U+FEFF, lacks U+0085). */
export function isCedarWhitespace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x20 ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

const isIdentStart = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const isIdentPart = (c: number) => isIdentStart(c) || (c >= 0x30 && c <= 0x39);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const U64_MAX = 2n ** 64n - 1n;

export function tokenize(src: string): Token[] {
  // Cedar's text is UTF-8: a lone surrogate (possible in a JS string, not in a file) is not Cedar.
  if (!(src as string & { isWellFormed(): boolean }).isWellFormed())
    throw new PolicyParseError('the policy text is not well-formed Unicode (lone surrogate)');
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (isCedarWhitespace(c)) {
      i++;
      continue;
    }
    if (c === 0x2f && src.charCodeAt(i + 1) === 0x2f) {
      while (i < n && src[i] !== '\n' && src[i] !== '\r') i++;
      continue;
    }
    const start = i;
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(src.charCodeAt(i))) i++;
      out.push({ kind: 'ident', text: src.slice(start, i), start, end: i });
      continue;
    }
    if (c === 0x3f && i + 1 < n && isIdentStart(src.charCodeAt(i + 1))) {
      i++;
      while (i < n && isIdentPart(src.charCodeAt(i))) i++;
      out.push({ kind: 'slot', text: src.slice(start, i), start, end: i });
      continue;
    }
    if (isDigit(c)) {
      while (i < n && isDigit(src.charCodeAt(i))) i++;
      const text = src.slice(start, i);
      if (BigInt(text) > U64_MAX) throw new PolicyParseError(`integer parse error: ${text} is too large (at ${start})`);
      out.push({ kind: 'number', text, start, end: i });
      continue;
    }
    if (c === 0x22) {
      // "(\\.|[^"\\])*" where `.` is any character but a newline.
      i++;
      for (;;) {
        if (i >= n) throw new PolicyParseError(`unterminated string literal (at ${start})`);
        const d = src.charCodeAt(i);
        if (d === 0x22) break;
        if (d === 0x5c) {
          if (i + 1 >= n || src.charCodeAt(i + 1) === 0x0a) throw new PolicyParseError(`invalid token (at ${i})`);
          // A surrogate pair after the backslash is one character.
          const e = src.charCodeAt(i + 1);
          i += e >= 0xd800 && e <= 0xdbff ? 3 : 2;
          continue;
        }
        i++;
      }
      i++;
      out.push({ kind: 'string', text: src.slice(start + 1, i - 1), start, end: i });
      continue;
    }
    const p = PUNCT.find((q) => src.startsWith(q, i));
    if (p === undefined) throw new PolicyParseError(`invalid token ${JSON.stringify(src[i])} (at ${i})`);
    i += p.length;
    out.push({ kind: 'punct', text: p, start, end: i });
  }
  out.push({ kind: 'eof', text: '', start: n, end: n });
  return out;
}

/**
 * A string literal's escapes, as Rust's string literals (rustc_literal_escaper) define them: \n \r \t \\ \0
 * \' \" , \xHH up to 0x7F, \u{…} (1–6 hex digits, underscores after the first, a Unicode scalar value). A
 * bare carriage return is an error. In a `like` pattern, `\*` is a literal star and any other star (even
 * one written \u{2a}) is the wildcard.
 */
export function unescapeCedar(raw: string, pattern: false): string;
export function unescapeCedar(raw: string, pattern: true): (string | null)[];
export function unescapeCedar(raw: string, pattern: boolean): string | (string | null)[] {
  const chars: (string | null)[] = [];
  let cur = '';
  const push = (ch: string) => {
    if (pattern && ch === '*') {
      if (cur !== '') chars.push(cur);
      cur = '';
      chars.push(null);
    } else cur += ch;
  };
  const bad = (what: string): never => {
    throw new PolicyParseError(`the input \`${what}\` is not a valid escape`);
  };
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === '\r') throw new PolicyParseError('bare carriage return in a string literal');
    if (c !== '\\') {
      push(c);
      i++;
      continue;
    }
    const e = raw[i + 1];
    switch (e) {
      case 'n':
        push('\n');
        i += 2;
        break;
      case 'r':
        push('\r');
        i += 2;
        break;
      case 't':
        push('\t');
        i += 2;
        break;
      case '\\':
        push('\\');
        i += 2;
        break;
      case '0':
        push('\0');
        i += 2;
        break;
      case "'":
        push("'");
        i += 2;
        break;
      case '"':
        push('"');
        i += 2;
        break;
      case '*':
        if (!pattern) bad('\\*');
        cur += '*';
        i += 2;
        break;
      case 'x': {
        const h = raw.slice(i + 2, i + 4);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) bad(raw.slice(i, i + 4));
        const v = parseInt(h, 16);
        if (v > 0x7f) bad(raw.slice(i, i + 4));
        push(String.fromCharCode(v));
        i += 4;
        break;
      }
      case 'u': {
        if (raw[i + 2] !== '{') bad(raw.slice(i, i + 3));
        let j = i + 3;
        let digits = '';
        let first = true;
        for (;;) {
          const d = raw[j];
          if (d === undefined) bad(raw.slice(i));
          if (d === '}') break;
          if (d === '_') {
            if (first) bad(raw.slice(i, j + 1));
          } else if (/^[0-9a-fA-F]$/.test(d!)) {
            digits += d;
            if (digits.length > 6) bad(raw.slice(i, j + 1));
          } else bad(raw.slice(i, j + 1));
          first = false;
          j++;
        }
        if (digits === '') bad(raw.slice(i, j + 1));
        const v = parseInt(digits, 16);
        if ((v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff) bad(raw.slice(i, j + 1));
        push(String.fromCodePoint(v));
        i = j + 1;
        break;
      }
      default:
        bad(raw.slice(i, i + 2));
    }
  }
  if (!pattern) return cur;
  if (cur !== '') chars.push(cur);
  return chars;
}
