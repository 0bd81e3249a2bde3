/** What `authzd bundle publish` prints for the control plane's answer, and whether it counts as success. */
export interface PublishReport {
  readonly ok: boolean;
  /** For standard output on success, standard error otherwise. */
  readonly text: string;
}

/**
 * The control plane's answer to `POST /v1/bundles/NAME/publish`, for a person: the new revision, or why the
 * publication gate refused the set with every problem (each failing policy test case on a line of its own),
 * and which revision sidecars keep getting. The body comes from the network: every string is escaped before it
 * reaches the terminal.
 */
export function formatPublishAnswer(status: number, body: unknown): PublishReport {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const text = printable;
  if (status === 200 && (b.result === 'published' || b.result === 'unchanged')) {
    const what =
      b.result === 'published'
        ? `published revision ${text(b.revision)}`
        : `unchanged: revision ${text(b.revision)} already holds these files`;
    return { ok: true, text: `${what} of bundle ${text(b.name)} (etag ${text(b.etag)}, sha256:${text(b.digest)})\n` };
  }
  if (status === 422 && b.error === 'policy_rejected') {
    const problems = Array.isArray(b.problems) ? b.problems.map((p) => `  - ${text(p)}`) : [];
    const current =
      typeof b.current === 'number' ? `sidecars keep revision ${b.current}` : 'no revision is published yet';
    return {
      ok: false,
      text: `refused by the publication gate (${text(b.reason)}): ${text(b.detail)}\n${problems.join('\n')}${problems.length > 0 ? '\n' : ''}${current}\n`,
    };
  }
  const code = typeof b.error === 'string' ? `${text(b.error)}: ` : '';
  const detail = typeof b.detail === 'string' ? text(b.detail) : "an answer that is not the control plane's";
  return { ok: false, text: `the control plane answered ${status}: ${code}${detail}\n` };
}

/** A value from the network for a terminal: non-printable and non-ASCII characters escaped, length bounded. */
function printable(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  const escaped = s
    .slice(0, 4000)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return s.length > 4000 ? `${escaped}...` : escaped;
}
