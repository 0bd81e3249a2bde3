/**
 * A string from an unverified bundle, quoted for a message: non-printable and non-ASCII characters escaped
 * (terminal escapes, bidi overrides) and the length bounded, so a hostile name cannot forge or flood output.
 */
export function quoteUntrusted(value: unknown, max = 120): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const escaped = text
    .slice(0, max)
    .replace(/[^\x20-\x7e]|["\\]/g, (c) =>
      c === '"' || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  return `"${escaped}"${text.length > max ? '...' : ''}`;
}

/** JSON of an unverified value for a terminal: every non-printable or non-ASCII character \u-escaped. */
export function printableJson(value: unknown): string {
  return (JSON.stringify(value, null, 2) ?? 'undefined').replace(
    /[^\x20-\x7e\n]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
