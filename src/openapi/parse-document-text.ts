import { parse as parseYaml, YAMLParseError } from 'yaml';

import { OpenApiImportError } from './openapi-import-error.js';

/**
 * A JSON or YAML file's value. JSON goes through JSON.parse (a 13 MB description parses in a fraction of
 * the time YAML parsing takes); anything else is YAML, which also accepts JSON.
 */
export function parseDocumentText(file: string, text: string): unknown {
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Not JSON after all (YAML flow style): the YAML parser below says what is wrong.
    }
  }
  try {
    // The parser library reads the files again itself; this parse only has to agree on the values.
    return parseYaml(text, { maxAliasCount: 10_000, uniqueKeys: false });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const at = err.linePos?.[0];
      const where = at !== undefined ? `:${at.line}:${at.col}` : '';
      throw new OpenApiImportError(
        'document_syntax',
        `${file}${where}: not valid YAML or JSON: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      );
    }
    throw new OpenApiImportError(
      'document_syntax',
      `${file}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`,
    );
  }
}
