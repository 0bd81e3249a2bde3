// Where things are in a Cedar schema text: namespace blocks, declarations and the region `authzd routes
// import` maintains. cedar-wasm cannot help here: it converts only whole schemas (a declaration alone fails
// on every type it references) and drops comments and positions, and the importer must rewrite one region
// while leaving every other byte of a hand-written file as it was.

export interface SchemaToken {
  readonly kind: 'ident' | 'string' | 'punct' | 'comment';
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

export type DeclarationKind = 'entity' | 'action' | 'type';

export interface SchemaDeclaration {
  readonly kind: DeclarationKind;
  /** Declared names: entity and common type names as written, action ids unquoted. */
  readonly names: readonly string[];
  /** Offsets of the declaration, from its first annotation or keyword to after its `;`. */
  readonly start: number;
  readonly end: number;
  /** Where the comment lines directly above it begin (== start without such comments). */
  readonly leadingStart: number;
  /** The tokens without comments: what the declaration means, however it is laid out. */
  readonly tokens: readonly SchemaToken[];
}

export interface SchemaRegion {
  /** Offset of the begin marker's line start and of the end after the end marker's line. */
  readonly start: number;
  readonly end: number;
  /** The indentation of the begin marker, reused for what is written into the region. */
  readonly indent: string;
}

export interface SchemaBlock {
  /** '' for declarations outside any namespace block. */
  readonly namespace: string;
  /** Offset of the closing `}` (for the top level: the end of the text). */
  readonly close: number;
  readonly declarations: readonly SchemaDeclaration[];
  readonly region: SchemaRegion | undefined;
}

export interface SchemaLayout {
  readonly blocks: readonly SchemaBlock[];
}

export class SchemaLayoutError extends Error {
  override readonly name = 'SchemaLayoutError';
}

export const REGION_BEGIN = '// authzd routes import: begin generated';
export const REGION_END = '// authzd routes import: end generated';

const PUNCT2 = '::';
const PUNCT1 = new Set([...'{}[]()<>,;:=?@']);

export function tokenizeSchema(text: string): SchemaToken[] {
  const tokens: SchemaToken[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (text.startsWith('//', i)) {
      const nl = text.indexOf('\n', i);
      const end = nl === -1 ? text.length : nl;
      tokens.push({ kind: 'comment', text: text.slice(i, end).trimEnd(), start: i, end });
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new SchemaLayoutError(`unterminated string at ${position(text, i)}`);
      tokens.push({ kind: 'string', text: text.slice(i, j + 1), start: i, end: j + 1 });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_]/.test(text[j]!)) j++;
      tokens.push({ kind: 'ident', text: text.slice(i, j), start: i, end: j });
      i = j;
    } else if (text.startsWith(PUNCT2, i)) {
      tokens.push({ kind: 'punct', text: PUNCT2, start: i, end: i + 2 });
      i += 2;
    } else if (PUNCT1.has(c)) {
      tokens.push({ kind: 'punct', text: c, start: i, end: i + 1 });
      i++;
    } else {
      throw new SchemaLayoutError(`unexpected character ${JSON.stringify(c)} at ${position(text, i)}`);
    }
  }
  return tokens;
}

/** Reads the layout of a schema that Cedar accepts; throws SchemaLayoutError on text it cannot follow. */
export function parseSchemaLayout(text: string): SchemaLayout {
  const tokens = tokenizeSchema(text);
  const blocks: SchemaBlock[] = [];
  const top = new BlockBuilder('', text, text.length);
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t.kind === 'comment') {
      top.comment(t);
      i++;
      continue;
    }
    const afterAnnotations = skipAnnotations(tokens, i, text);
    const head = tokens[afterAnnotations];
    if (head?.kind === 'ident' && head.text === 'namespace') {
      let j = afterAnnotations + 1;
      const parts: string[] = [];
      while (j < tokens.length && tokens[j]!.text !== '{') {
        const p = tokens[j]!;
        if (p.kind === 'ident') parts.push(p.text);
        else if (p.text !== '::')
          throw new SchemaLayoutError(`unexpected ${p.text} in a namespace name at ${position(text, p.start)}`);
        j++;
      }
      if (j >= tokens.length) throw new SchemaLayoutError(`namespace without a body at ${position(text, head.start)}`);
      const close = matching(tokens, j, text);
      const block = new BlockBuilder(parts.join('::'), text, tokens[close]!.start);
      let k = j + 1;
      while (k < close) {
        const inner = tokens[k]!;
        if (inner.kind === 'comment') {
          block.comment(inner);
          k++;
        } else {
          k = block.declaration(tokens, k, close);
        }
      }
      blocks.push(block.build());
      top.resetComments();
      i = close + 1;
    } else {
      i = top.declaration(tokens, i, tokens.length);
    }
  }
  blocks.unshift(top.build());
  return { blocks };
}

/** The declaration's meaning as one string: its tokens without comments, joined by single spaces. */
export function declarationText(declaration: SchemaDeclaration): string {
  return declaration.tokens.map((t) => t.text).join(' ');
}

class BlockBuilder {
  readonly #declarations: SchemaDeclaration[] = [];
  #pendingComments: SchemaToken[] = [];
  #regionStart: { offset: number; indent: string } | undefined;
  #region: SchemaRegion | undefined;

  constructor(
    readonly namespace: string,
    readonly text: string,
    readonly close: number,
  ) {}

  comment(token: SchemaToken): void {
    if (token.text.startsWith(REGION_BEGIN)) {
      if (this.#regionStart !== undefined || this.#region !== undefined) {
        throw new SchemaLayoutError(`a second "${REGION_BEGIN}" at ${position(this.text, token.start)}`);
      }
      const lineStart = this.text.lastIndexOf('\n', token.start - 1) + 1;
      this.#regionStart = { offset: lineStart, indent: this.text.slice(lineStart, token.start) };
      this.#pendingComments = [];
      return;
    }
    if (token.text.startsWith(REGION_END)) {
      if (this.#regionStart === undefined)
        throw new SchemaLayoutError(`"${REGION_END}" without a begin at ${position(this.text, token.start)}`);
      const nl = this.text.indexOf('\n', token.end);
      this.#region = {
        start: this.#regionStart.offset,
        end: nl === -1 ? this.text.length : nl + 1,
        indent: this.#regionStart.indent,
      };
      this.#regionStart = undefined;
      this.#pendingComments = [];
      return;
    }
    // A blank line separates a comment from the declaration below it.
    const last = this.#pendingComments.at(-1);
    if (last !== undefined && /\n\s*\n/.test(this.text.slice(last.end, token.start))) this.#pendingComments = [];
    this.#pendingComments.push(token);
  }

  resetComments(): void {
    this.#pendingComments = [];
  }

  declaration(tokens: readonly SchemaToken[], from: number, limit: number): number {
    const i = skipAnnotations(tokens, from, this.text);
    const keyword = tokens[i];
    if (keyword === undefined || keyword.kind !== 'ident' || !['entity', 'action', 'type'].includes(keyword.text)) {
      const at = keyword ?? tokens[from]!;
      throw new SchemaLayoutError(
        `expected entity, action or type at ${position(this.text, at.start)}, found ${JSON.stringify(at.text)}`,
      );
    }
    let depth = 0;
    let j = i + 1;
    for (; j < limit; j++) {
      const t = tokens[j]!;
      if (t.kind !== 'punct') continue;
      if (t.text === '{' || t.text === '[' || t.text === '(') depth++;
      else if (t.text === '}' || t.text === ']' || t.text === ')') depth--;
      else if (t.text === ';' && depth === 0) break;
    }
    if (j >= limit)
      throw new SchemaLayoutError(`declaration without a closing ";" at ${position(this.text, keyword.start)}`);
    const own = tokens.slice(from, j + 1).filter((t) => t.kind !== 'comment');
    const kind = keyword.text as DeclarationKind;
    const start = tokens[from]!.start;
    const comments = this.#pendingComments;
    const attached = comments.length > 0 && !/\n\s*\n/.test(this.text.slice(comments.at(-1)!.end, start));
    this.#declarations.push({
      kind,
      names: declaredNames(tokens.slice(i + 1, j).filter((t) => t.kind !== 'comment')),
      start,
      end: tokens[j]!.end,
      leadingStart: attached ? lineStartOf(this.text, comments[0]!.start) : start,
      tokens: own,
    });
    this.#pendingComments = [];
    return j + 1;
  }

  build(): SchemaBlock {
    if (this.#regionStart !== undefined) throw new SchemaLayoutError(`"${REGION_BEGIN}" without "${REGION_END}"`);
    return { namespace: this.namespace, close: this.close, declarations: this.#declarations, region: this.#region };
  }
}

// Declarations end their list of names at a keyword or punctuation: `entity A, B in [C] = {...};`,
// `action "x", y appliesTo {...};`, `type T = ...;`. A name that is a keyword must be quoted (actions).
const NAME_LIST_END = new Set(['in', 'enum', 'tags', 'appliesTo', 'attributes']);

function declaredNames(body: readonly SchemaToken[]): string[] {
  const names: string[] = [];
  for (const t of body) {
    if (t.text === ',') continue;
    if (t.kind === 'punct' || (t.kind === 'ident' && NAME_LIST_END.has(t.text))) break;
    names.push(t.kind === 'string' ? unquote(t.text) : t.text);
  }
  return names;
}

/** A Cedar string literal's value (the escapes Cedar's schema grammar allows). */
export function unquote(literal: string): string {
  return literal.slice(1, -1).replace(/\\(u\{([0-9a-fA-F]{1,6})\}|.)/g, (_, esc: string, hex: string | undefined) => {
    if (hex !== undefined) return String.fromCodePoint(parseInt(hex, 16));
    return (
      ({ n: '\n', r: '\r', t: '\t', '0': '\0', "'": "'", '"': '"', '\\': '\\' } as Record<string, string>)[esc] ?? esc
    );
  });
}

/** A Cedar string literal for `value`. */
export function quote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}

function skipAnnotations(tokens: readonly SchemaToken[], from: number, text: string): number {
  let i = from;
  while (tokens[i]?.text === '@') {
    if (tokens[i + 1]?.kind !== 'ident')
      throw new SchemaLayoutError(`annotation without a name at ${position(text, tokens[i]!.start)}`);
    i += 2;
    if (tokens[i]?.text === '(') {
      if (tokens[i + 1]?.kind !== 'string' || tokens[i + 2]?.text !== ')')
        throw new SchemaLayoutError(`malformed annotation at ${position(text, tokens[i]!.start)}`);
      i += 3;
    }
    while (tokens[i]?.kind === 'comment') i++;
  }
  return i;
}

function matching(tokens: readonly SchemaToken[], open: number, text: string): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'punct') continue;
    if (t.text === '{') depth++;
    else if (t.text === '}' && --depth === 0) return i;
  }
  throw new SchemaLayoutError(`unclosed "{" at ${position(text, tokens[open]!.start)}`);
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}
