import type { DecisionEventInput } from './decision-event.js';

/** The fields of one audit event, in the order they are written (docs/audit.md); undefined ones are left out. */
export interface AuditFields {
  readonly type: 'authz.decision';
  readonly decision_id: string;
  readonly decision: 'allow' | 'deny' | 'error';
  readonly reason: string;
  readonly policies?: readonly string[] | undefined;
  readonly errors?: readonly string[] | undefined;
  readonly policy_version: string | undefined;
  readonly source?: string | undefined;
  readonly route?: string | undefined;
  readonly risk?: string | undefined;
  readonly principal?: { readonly type: string; readonly id: string } | undefined;
  readonly action?: string | undefined;
  readonly resource?: { readonly type: string; readonly id: string } | undefined;
  readonly tenant?: string | undefined;
  readonly issuer?: string | undefined;
  readonly request?:
    | {
        readonly id: string | undefined;
        readonly method: string;
        readonly host: string;
        readonly path: string | undefined;
      }
    | undefined;
  readonly latency_us: number;
  readonly remote?:
    { readonly result: string; readonly failure_mode: string | undefined; readonly ms: number } | undefined;
  readonly rate_limit?: { readonly scope: string; readonly retry_after_s: number } | undefined;
  readonly hashed?: true | undefined;
  readonly input?: DecisionEventInput | undefined;
}

// What JSON.stringify escapes in a string: '"', '\', control characters and lone surrogates. A string without
// any of these (nearly every id, route and host) is written between quotes as it is.
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

const str = (s: string) => (NEEDS_ESCAPING.test(s) ? JSON.stringify(s) : `"${s}"`);
const num = (n: number) => (Number.isFinite(n) ? String(n) : 'null');
const uid = (u: { readonly type: string; readonly id: string }) => `{"type":${str(u.type)},"id":${str(u.id)}}`;

function strings(list: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + str(list[i]!);
  return `${out}]`;
}

/**
 * One audit line (with its newline), written field by field in a fixed order instead of building an object
 * for JSON.stringify: the text is exactly what `JSON.stringify({ log: 'audit', time, ...fields })` gives
 * (test/unit/audit/audit-line.test.ts checks it on generated events), so readers of the log see no change.
 * `input`, the only open-ended field, still goes through JSON.stringify.
 */
export function auditLine(time: string, f: AuditFields): string {
  let s = `{"log":"audit","time":${str(time)},"type":"authz.decision","decision_id":${str(f.decision_id)}`;
  s += `,"decision":${str(f.decision)},"reason":${str(f.reason)}`;
  if (f.policies !== undefined) s += `,"policies":${strings(f.policies)}`;
  if (f.errors !== undefined) s += `,"errors":${strings(f.errors)}`;
  if (f.policy_version !== undefined) s += `,"policy_version":${str(f.policy_version)}`;
  if (f.source !== undefined) s += `,"source":${str(f.source)}`;
  if (f.route !== undefined) s += `,"route":${str(f.route)}`;
  if (f.risk !== undefined) s += `,"risk":${str(f.risk)}`;
  if (f.principal !== undefined) s += `,"principal":${uid(f.principal)}`;
  if (f.action !== undefined) s += `,"action":${str(f.action)}`;
  if (f.resource !== undefined) s += `,"resource":${uid(f.resource)}`;
  if (f.tenant !== undefined) s += `,"tenant":${str(f.tenant)}`;
  if (f.issuer !== undefined) s += `,"issuer":${str(f.issuer)}`;
  const r = f.request;
  if (r !== undefined) {
    s += `,"request":{${r.id !== undefined ? `"id":${str(r.id)},` : ''}"method":${str(r.method)},"host":${str(r.host)}`;
    s += r.path !== undefined ? `,"path":${str(r.path)}}` : '}';
  }
  s += `,"latency_us":${num(f.latency_us)}`;
  const remote = f.remote;
  if (remote !== undefined) {
    s += `,"remote":{"result":${str(remote.result)}`;
    if (remote.failure_mode !== undefined) s += `,"failure_mode":${str(remote.failure_mode)}`;
    s += `,"ms":${num(remote.ms)}}`;
  }
  if (f.rate_limit !== undefined)
    s += `,"rate_limit":{"scope":${str(f.rate_limit.scope)},"retry_after_s":${num(f.rate_limit.retry_after_s)}}`;
  if (f.hashed !== undefined) s += ',"hashed":true';
  if (f.input !== undefined) s += `,"input":${JSON.stringify(f.input)}`;
  return `${s}}\n`;
}
