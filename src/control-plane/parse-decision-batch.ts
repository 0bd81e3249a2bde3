import { parseDecisionEvent } from '../audit/decision-event.js';
import { parseJson } from '../util/parse-json.js';

export type ParsedDecisionBatch =
  /** `text`: the accepted lines as sent, each ending in "\n". */
  | { readonly ok: true; readonly events: number; readonly text: string }
  | { readonly ok: false; readonly detail: string };

export const DECISION_BATCH_LIMITS = {
  /** Bytes of one request body. */
  maxBytes: 16 * 1024 * 1024,
  /** Events in one request. */
  maxEvents: 10_000,
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * A POST /v1/decisions body: NDJSON, one decision event (docs/audit.md) a line; blank lines are ignored,
 * a CR before the newline too. The batch is all or nothing: the first line that is not valid UTF-8 JSON
 * holding a decision event refuses the whole body, with its line number and the field at fault, so that
 * nothing of a malformed batch reaches the log. The accepted lines are kept as sent.
 */
export function parseDecisionBatch(body: Uint8Array): ParsedDecisionBatch {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { ok: false, detail: 'body: not valid UTF-8' };
  }
  const lines: string[] = [];
  let lineNumber = 0;
  for (const raw of text.split('\n')) {
    lineNumber++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    if (lines.length === DECISION_BATCH_LIMITS.maxEvents)
      return { ok: false, detail: `body: more than ${DECISION_BATCH_LIMITS.maxEvents} events; send smaller batches` };
    let value: unknown;
    try {
      value = parseJson(line);
    } catch {
      return { ok: false, detail: `line ${lineNumber}: not valid JSON` };
    }
    const parsed = parseDecisionEvent(value);
    if (!parsed.ok)
      return {
        ok: false,
        detail: `line ${lineNumber}: ${parsed.decision ? parsed.detail : `not a decision event (${parsed.detail})`}`,
      };
    lines.push(line);
  }
  if (lines.length === 0) return { ok: false, detail: 'body: no decision events (NDJSON, one event a line)' };
  return { ok: true, events: lines.length, text: `${lines.join('\n')}\n` };
}
