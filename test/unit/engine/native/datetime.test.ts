import { describe, expect, it } from 'vitest';

import { type DateTime, parseDatetime, parseDuration, toDate, toTime } from '../../../../src/engine/native/datetime.js';
import { disagreements } from '../../../helpers/expression-oracle.js';

const DATETIMES = [
  '1970-01-01',
  '2024-01-01',
  '2024-02-29',
  '2023-02-29',
  '2024-04-31',
  '2024-13-01',
  '0000-01-01',
  '9999-12-31',
  '2024-01-01T10:00:00Z',
  '2024-01-01T23:59:59.999Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01T10:60:00Z',
  '2024-01-01T10:00:60Z',
  '2024-01-01T10:00:00+0130',
  '2024-01-01T10:00:00-2359',
  '2024-01-01T10:00:00+2400',
  '2024-01-01T10:00:00+0060',
  '2024-01-01T10:00:00.123-0800',
  '2024-01-01T10:00:00.12Z',
  '2024-01-01T10:00:00',
  '2024-01-01T10:00Z',
  '2024-1-01',
  '1969-12-31T23:59:59Z',
  '0000-01-01T00:00:00+2359',
  'x',
];
const DURATIONS = [
  '0ms',
  '1ms',
  '-1ms',
  '1h',
  '1d2h3m4s5ms',
  '-1d2h',
  '90m',
  '1d1d',
  '1h1d',
  '',
  '-',
  'h',
  '1',
  '1.5h',
  '106751991167d',
  '106751991168d',
  '9223372036854775807ms',
  '-9223372036854775808ms',
  '9223372036854775808ms',
  '18446744073709551616ms',
  '1m1ms',
];

describe('datetime and duration', () => {
  it('parse exactly what cedar-wasm parses, to the same instants', () => {
    const exprs = DATETIMES.flatMap((a) => [
      `datetime(${JSON.stringify(a)}) == datetime(${JSON.stringify(a)})`,
      ...DATETIMES.slice(0, 10).map((b) => `datetime(${JSON.stringify(a)}) < datetime(${JSON.stringify(b)})`),
    ]);
    expect(disagreements(exprs)).toEqual([]);
    const durs = DURATIONS.flatMap((a) => [
      `duration(${JSON.stringify(a)}).toMilliseconds() == 0`,
      ...DURATIONS.slice(0, 8).map((b) => `duration(${JSON.stringify(a)}) <= duration(${JSON.stringify(b)})`),
    ]);
    expect(disagreements(durs)).toEqual([]);
  });

  it('offset, durationSince, toDate, toTime and the to* conversions agree, overflow included', () => {
    const exprs = [
      ...DATETIMES.slice(0, 10).flatMap((a) =>
        DURATIONS.slice(0, 8).map(
          (d) => `datetime(${JSON.stringify(a)}).offset(duration(${JSON.stringify(d)})) > datetime("1970-01-01")`,
        ),
      ),
      ...DATETIMES.slice(0, 10).map(
        (a) =>
          `datetime(${JSON.stringify(a)}).toDate() == datetime(${JSON.stringify(a)}).offset(duration("0ms")).toDate()`,
      ),
      ...DATETIMES.slice(0, 10).map((a) => `datetime(${JSON.stringify(a)}).toTime().toMilliseconds() >= 0`),
      ...DATETIMES.slice(0, 10).flatMap((a) =>
        DATETIMES.slice(0, 5).map(
          (b) => `datetime(${JSON.stringify(a)}).durationSince(datetime(${JSON.stringify(b)})).toHours() > -1000000`,
        ),
      ),
      ...DURATIONS.flatMap((d) =>
        ['toDays', 'toHours', 'toMinutes', 'toSeconds', 'toMilliseconds'].map(
          (m) => `duration(${JSON.stringify(d)}).${m}() == duration(${JSON.stringify(d)}).${m}()`,
        ),
      ),
      'datetime("1970-01-01").offset(duration("9223372036854775807ms")).offset(duration("1ms")) == datetime("1970-01-01")',
      'datetime("1970-01-01").offset(duration("-9223372036854775808ms")).toDate() == datetime("1970-01-01")',
      'datetime("1970-01-01").offset(duration("-9223372036854775808ms")).durationSince(datetime("1970-01-02")) == duration("0ms")',
      'duration("-1d1ms").toDays() == -1',
      'datetime("1969-12-31T12:00:00Z").toDate() == datetime("1969-12-31")',
      'datetime("1969-12-31T12:00:00Z").toTime() == duration("12h")',
    ];
    expect(disagreements(exprs)).toEqual([]);
  });

  it('counts days before 1970 downwards', () => {
    const d = parseDatetime('1969-12-31T12:00:00Z') as DateTime;
    expect(toDate(d)!.ms).toBe(-86_400_000);
    expect(toTime(d).ms).toBe(43_200_000);
    expect((parseDuration('-1d2h') as { ms: number }).ms).toBe(-93_600_000);
  });
});
