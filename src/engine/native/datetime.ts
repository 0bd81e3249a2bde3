import { add, fromBigInt, I64_MAX, I64_MIN, type Long, sub } from './i64.js';

/** Cedar's `datetime`: milliseconds since the Unix epoch (non-leap), a signed 64-bit integer. */
export class DateTime {
  constructor(readonly ms: Long) {}
  toString(): string {
    return `datetime(${this.ms}ms since epoch)`;
  }
}

/** Cedar's `duration`: a signed 64-bit number of milliseconds. */
export class Duration {
  constructor(readonly ms: Long) {}
  toString(): string {
    return `duration("${this.ms}ms")`;
  }
}

const DAY_MS = 86_400_000;
const DURATION = /^-?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$/;
const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})/;
const HMS = /^T([0-9]{2}):([0-9]{2}):([0-9]{2})/;
const MS_OFFSET = /^(\.([0-9]{3}))?(Z|((\+|-)([0-9]{2})([0-9]{2})))$/;

/**
 * `duration("…")`: quantity-unit pairs in the order d, h, m, s, ms, each at most once, with an optional
 * leading `-`. Every addend has the same sign, so computing the exact total and checking its range gives
 * the same errors as Cedar's step-by-step checked arithmetic.
 */
export function parseDuration(s: string): Duration | string {
  if (s === '' || s === '-') return 'invalid duration pattern';
  const m = DURATION.exec(s);
  if (m === null) return 'invalid duration pattern';
  const n = (i: number) => (m[i] === undefined ? 0n : BigInt(m[i]));
  let total = n(2) * 86_400_000n + n(4) * 3_600_000n + n(6) * 60_000n + n(8) * 1000n + n(10);
  if (s.startsWith('-')) total = -total;
  const v = fromBigInt(total);
  return v === undefined ? 'Duration overflows internal representation' : new Duration(v);
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * `datetime("…")`: `YYYY-MM-DD`, optionally `Thh:mm:ss` then `Z`, `.SSSZ`, `(+|-)hhmm` or `.SSS(+|-)hhmm`.
 * The syntax is checked before the calendar (chrono's from_ymd/from_hms), as in Cedar; an offset's hours
 * must be below 24 and its minutes below 60. Every accepted value fits easily in a safe integer.
 */
export function parseDatetime(s: string): DateTime | string {
  const dm = DATE.exec(s);
  if (dm === null) return 'invalid date pattern';
  const [dateStr, ys, mos, ds] = dm as unknown as [string, string, string, string];
  const y = Number(ys);
  const mo = Number(mos);
  const d = Number(ds);
  const validDate = mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 && isLeap(y) ? 29 : MONTH_DAYS[mo - 1]!);
  if (dateStr.length === s.length)
    return validDate ? new DateTime(daysFromCivil(y, mo, d) * DAY_MS) : `invalid date: ${dateStr}`;
  const rest = s.slice(dateStr.length);
  const hm = HMS.exec(rest);
  if (hm === null) return 'invalid hour/minute/second pattern';
  const [hmsStr, hs, mis, ss] = hm as unknown as [string, string, string, string];
  const tail = rest.slice(hmsStr.length);
  const om = MS_OFFSET.exec(tail);
  if (om === null) return 'invalid millisecond and/or offset pattern';
  if (!validDate) return `invalid date: ${dateStr}`;
  const h = Number(hs);
  const mi = Number(mis);
  const sec = Number(ss);
  if (h >= 24 || mi >= 60 || sec >= 60) return `invalid hour/minute/second: ${hmsStr.slice(1)}`;
  const ms = om[2] !== undefined ? Number(om[2]) : 0;
  let offsetSecs = 0;
  if (om[4] !== undefined) {
    const oh = Number(om[6]);
    const omin = Number(om[7]);
    if (oh >= 24 || omin >= 60) return `invalid offset range: ${oh}${omin}`;
    offsetSecs = (oh * 3600 + omin * 60) * (om[5] === '+' ? 1 : -1);
  }
  return new DateTime(daysFromCivil(y, mo, d) * DAY_MS + ((h * 60 + mi) * 60 + sec - offsetSecs) * 1000 + ms);
}

export const offset = (dt: DateTime, dur: Duration): DateTime | undefined => {
  const v = add(dt.ms, dur.ms);
  return v === undefined ? undefined : new DateTime(v);
};

export const durationSince = (a: DateTime, b: DateTime): Duration | undefined => {
  const v = sub(a.ms, b.ms);
  return v === undefined ? undefined : new Duration(v);
};

/** The datetime truncated to its day (Euclidean remainder, so days before 1970 round down). */
export function toDate(dt: DateTime): DateTime | undefined {
  if (typeof dt.ms === 'number') {
    const r = ((dt.ms % DAY_MS) + DAY_MS) % DAY_MS;
    return new DateTime(dt.ms - r + 0);
  }
  const d = BigInt(DAY_MS);
  const r = ((dt.ms % d) + d) % d;
  const v = dt.ms - r;
  return v < I64_MIN || v > I64_MAX ? undefined : new DateTime(fromBigInt(v)!);
}

/** The time of day as a non-negative duration. */
export function toTime(dt: DateTime): Duration {
  if (typeof dt.ms === 'number') return new Duration(((dt.ms % DAY_MS) + DAY_MS) % DAY_MS);
  const d = BigInt(DAY_MS);
  return new Duration(fromBigInt(((dt.ms % d) + d) % d)!);
}
