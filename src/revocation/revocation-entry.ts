// The revocation feed's wire types, shared by the control plane (which stores and serves entries) and the
// sidecar (which validates every page it receives with parseRevocationFeed before applying it).

export type RevocationKind = 'jti' | 'sid' | 'sub';
export const REVOCATION_KINDS: readonly RevocationKind[] = ['jti', 'sid', 'sub'];

/**
 * One revocation. Times are epoch seconds.
 *
 * - `jti`: the token with this `jti` claim is revoked.
 * - `sid`: every token of this session (`sid` claim) is revoked.
 * - `sub`: every token of this subject issued before `issuedBefore` (`iat < issuedBefore`) is revoked;
 *   tokens issued later (a fresh login) are not.
 *
 * `issuer`, when set, limits the entry to tokens of that `iss`. `issuedBefore` is required for `sub` and
 * optional for the others (it then limits them the same way). After `expiresAt` the entry is dropped:
 * set it no earlier than the expiry of the last token it must stop.
 */
export interface RevocationEntry {
  readonly seq: number;
  readonly kind: RevocationKind;
  readonly value: string;
  readonly issuer?: string;
  readonly issuedBefore?: number;
  readonly expiresAt: number;
  readonly createdAt: number;
}

/** What an administrator asks to revoke (the POST body, with `ttlSeconds` resolved to `expiresAt`). */
export type RevocationRequest = Omit<RevocationEntry, 'seq' | 'createdAt'>;

/** One answer of `GET /v1/revocations`. */
export interface RevocationFeedPage {
  /**
   * The feed's identity: created with the control plane's revocation storage, so it changes exactly when
   * that storage is lost or replaced and sequence numbers start over. Absent from older control planes.
   */
  readonly feed?: string;
  /** The highest sequence number the server knows: the client's next `since`. */
  readonly seq: number;
  /** true: `entries` is the complete live set and replaces whatever the client holds. */
  readonly reset: boolean;
  /** Live entries with seq > since (or all live entries on a reset), ascending by seq. */
  readonly entries: readonly RevocationEntry[];
}

/** Why input was refused: `malformed` (shape or type), `expired` (already over), `out_of_range` (absurd values). */
export type RevocationRejection = 'malformed' | 'expired' | 'out_of_range';

export type RevocationParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: RevocationRejection; readonly detail: string };

export const REVOCATION_LIMITS = {
  /** Longest `value` and `issuer`, in characters (JWT ids, session ids and subjects are far shorter). */
  maxValueLength: 1024,
  /** Longest lifetime an entry may be given: revocations outlive the tokens they stop, which live hours. */
  maxTtlSeconds: 366 * 86_400,
  /** How far in the future `issuedBefore` may lie (clock skew between issuer and control plane). */
  issuedBeforeSkewSeconds: 300,
} as const;

/** What a feed id looks like (the control plane makes UUIDs); also what `?feed=` accepts. */
export const FEED_ID = /^[A-Za-z0-9._-]{1,128}$/;

const REQUEST_FIELDS = new Set(['kind', 'value', 'issuer', 'issuedBefore', 'expiresAt', 'ttlSeconds']);
// Control characters would let a value spoof log lines and never occur in real claims.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The body of `POST /v1/revocations`: `{kind, value, issuer?, issuedBefore?, expiresAt | ttlSeconds}`.
 * Strict: unknown fields are refused, so a typo cannot silently widen or narrow a revocation.
 */
export function parseRevocationRequest(body: unknown, nowSeconds: number): RevocationParseResult<RevocationRequest> {
  if (!isRecord(body)) return malformed('body: expected a JSON object');
  for (const key of Object.keys(body)) if (!REQUEST_FIELDS.has(key)) return malformed(`${key}: unknown field`);
  const common = parseCommon(body);
  if (!common.ok) return common;
  const { expiresAt, ttlSeconds } = body;
  if ((expiresAt === undefined) === (ttlSeconds === undefined))
    return malformed('exactly one of expiresAt and ttlSeconds is required');
  let expiry: number;
  if (ttlSeconds !== undefined) {
    if (!Number.isSafeInteger(ttlSeconds)) return malformed('ttlSeconds: expected an integer number of seconds');
    const ttl = ttlSeconds as number;
    if (ttl < 1 || ttl > REVOCATION_LIMITS.maxTtlSeconds)
      return outOfRange(`ttlSeconds: must be between 1 and ${REVOCATION_LIMITS.maxTtlSeconds}`);
    expiry = nowSeconds + ttl;
  } else {
    if (!Number.isSafeInteger(expiresAt)) return malformed('expiresAt: expected an integer epoch time in seconds');
    expiry = expiresAt as number;
    if (expiry <= nowSeconds) return { ok: false, reason: 'expired', detail: 'expiresAt: is in the past' };
    if (expiry > nowSeconds + REVOCATION_LIMITS.maxTtlSeconds) {
      return outOfRange(
        `expiresAt: more than ${REVOCATION_LIMITS.maxTtlSeconds} seconds ahead (epoch seconds, not milliseconds?)`,
      );
    }
  }
  const { issuedBefore } = common.value;
  if (issuedBefore !== undefined && issuedBefore > nowSeconds + REVOCATION_LIMITS.issuedBeforeSkewSeconds) {
    return outOfRange('issuedBefore: lies in the future (epoch seconds, not milliseconds?)');
  }
  return { ok: true, value: { ...common.value, expiresAt: expiry } };
}

/**
 * One stored or received entry. Extra fields are ignored (a newer control plane may add some); an unknown
 * kind is refused, since a client that cannot apply an entry must not pretend it did.
 */
export function parseRevocationEntry(value: unknown): RevocationParseResult<RevocationEntry> {
  if (!isRecord(value)) return malformed('expected a JSON object');
  const common = parseCommon(value);
  if (!common.ok) return common;
  const { seq, expiresAt, createdAt } = value;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) return malformed('seq: expected a positive integer');
  if (!isEpoch(expiresAt)) return malformed('expiresAt: expected an integer epoch time in seconds');
  if (!isEpoch(createdAt)) return malformed('createdAt: expected an integer epoch time in seconds');
  return {
    ok: true,
    value: { seq: seq as number, ...common.value, expiresAt: expiresAt, createdAt: createdAt },
  };
}

/** A `GET /v1/revocations` answer, entry by entry. Entries must be ascending, unique and not beyond `seq`. */
export function parseRevocationFeed(body: unknown): RevocationParseResult<RevocationFeedPage> {
  if (!isRecord(body)) return malformed('body: expected a JSON object');
  const { feed, seq, reset, entries } = body;
  if (feed !== undefined && (typeof feed !== 'string' || !FEED_ID.test(feed)))
    return malformed('feed: expected 1-128 letters, digits, ".", "_" or "-"');
  if (!Number.isSafeInteger(seq) || (seq as number) < 0) return malformed('seq: expected a non-negative integer');
  if (typeof reset !== 'boolean') return malformed('reset: expected a boolean');
  if (!Array.isArray(entries)) return malformed('entries: expected an array');
  const out: RevocationEntry[] = [];
  let previous = 0;
  for (const [index, raw] of entries.entries()) {
    const entry = parseRevocationEntry(raw);
    if (!entry.ok) return { ...entry, detail: `entries[${index}]: ${entry.detail}` };
    if (entry.value.seq <= previous) return malformed(`entries[${index}].seq: not ascending`);
    if (entry.value.seq > (seq as number)) return malformed(`entries[${index}].seq: beyond the page's seq`);
    previous = entry.value.seq;
    out.push(entry.value);
  }
  return {
    ok: true,
    value: { ...(feed !== undefined ? { feed: feed } : {}), seq: seq as number, reset, entries: out },
  };
}

/** Whether an entry still applies at `nowSeconds`. */
export const isLiveRevocation = (entry: RevocationEntry, nowSeconds: number): boolean => entry.expiresAt > nowSeconds;

function parseCommon(
  body: Record<string, unknown>,
): RevocationParseResult<Pick<RevocationEntry, 'kind' | 'value' | 'issuer' | 'issuedBefore'>> {
  const { kind, value, issuer, issuedBefore } = body;
  if (typeof kind !== 'string' || !(REVOCATION_KINDS as readonly string[]).includes(kind)) {
    return malformed(`kind: expected one of ${REVOCATION_KINDS.join(', ')}`);
  }
  const valueProblem = textProblem(value);
  if (valueProblem !== undefined) return malformed(`value: ${valueProblem}`);
  if (issuer !== undefined) {
    const issuerProblem = textProblem(issuer);
    if (issuerProblem !== undefined) return malformed(`issuer: ${issuerProblem}`);
  }
  if (issuedBefore !== undefined && !isEpoch(issuedBefore))
    return malformed('issuedBefore: expected an integer epoch time in seconds');
  if (kind === 'sub' && issuedBefore === undefined)
    return malformed('issuedBefore: required for kind sub (tokens with iat < issuedBefore are revoked)');
  return {
    ok: true,
    value: {
      kind: kind as RevocationKind,
      value: value as string,
      ...(issuer !== undefined ? { issuer: issuer as string } : {}),
      ...(issuedBefore !== undefined ? { issuedBefore: issuedBefore } : {}),
    },
  };
}

function textProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'expected a non-empty string';
  if (value.length > REVOCATION_LIMITS.maxValueLength)
    return `longer than ${REVOCATION_LIMITS.maxValueLength} characters`;
  if (CONTROL.test(value)) return 'contains control characters';
  return undefined;
}

const isEpoch = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const malformed = (detail: string) => ({ ok: false, reason: 'malformed', detail }) as const;
const outOfRange = (detail: string) => ({ ok: false, reason: 'out_of_range', detail }) as const;
