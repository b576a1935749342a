// Cron spec parsing: every syntax form of every field, the macros, and every error with the
// field and token it names.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { CronSpecError, type CronSpecField } from '../src/gen/cron.js';
import { ErrIncorrect, isError } from '../src/gen/errors.js';
import { wallClockFromLocalMs, type WallClock } from '../src/node/cron/calendar.js';
import { CRON_MACROS, parseCronSpec, type CronSpec } from '../src/node/cron/spec.js';

/** Wall clock of a date (weekday derived), taken as a UTC reading. */
function wall(year: number, month: number, day: number, hour = 0, minute = 0): WallClock {
  return wallClockFromLocalMs(Date.UTC(year, month - 1, day, hour, minute));
}

/** Minutes of 2025-01-06 (a Monday) 00:xx the spec selects, with other fields `*`. */
function minutesOf(field: string): number[] {
  const spec = parseCronSpec(`${field} * * * *`);
  return range(0, 59).filter((m) => spec.matches(wall(2025, 1, 6, 0, m)));
}

function hoursOf(field: string): number[] {
  const spec = parseCronSpec(`0 ${field} * * *`);
  return range(0, 23).filter((h) => spec.matches(wall(2025, 1, 6, h, 0)));
}

/** Days of `month` 2025 (or `year`) the spec's date part selects. */
function daysOf(spec: CronSpec, month: number, year = 2025): number[] {
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return range(1, last).filter((d) => spec.matchesDate(wall(year, month, d)));
}

function monthsOf(field: string): number[] {
  const spec = parseCronSpec(`0 0 1 ${field} *`);
  return range(1, 12).filter((m) => spec.matches(wall(2025, m, 1)));
}

function range(from: number, to: number, step = 1): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

describe('cron spec: minute and hour fields', () => {
  it('takes *, n, lists, a-b, */s and a-b/s', () => {
    assert.deepEqual(minutesOf('*'), range(0, 59));
    assert.deepEqual(minutesOf('7'), [7]);
    assert.deepEqual(minutesOf('0,59,3'), [0, 3, 59]);
    assert.deepEqual(minutesOf('3-33'), range(3, 33));
    assert.deepEqual(minutesOf('*/7'), [0, 7, 14, 21, 28, 35, 42, 49, 56]);
    assert.deepEqual(minutesOf('2-30/2'), range(2, 30, 2));
    assert.deepEqual(minutesOf('5-5'), [5]);
    assert.deepEqual(minutesOf('*/59'), [0, 59]);
    assert.deepEqual(minutesOf('1-3,10-20/5,59'), [1, 2, 3, 10, 15, 20, 59]);
    assert.deepEqual(minutesOf('05'), [5], 'leading zeros are numbers');
    assert.deepEqual(hoursOf('1-23/2'), range(1, 23, 2));
    assert.deepEqual(hoursOf('*/6'), [0, 6, 12, 18]);
    assert.deepEqual(hoursOf('9-17'), range(9, 17));
    assert.deepEqual(hoursOf('0,23'), [0, 23]);
  });

  it('accepts any whitespace between fields', () => {
    const a = parseCronSpec('  5\t4  *   * *  ');
    assert.equal(a.expanded, '5 4 * * *');
    assert.equal(a.source, '  5\t4  *   * *  ');
    assert.ok(a.matches(wall(2025, 5, 5, 4, 5)));
    assert.ok(!a.matches(wall(2025, 5, 5, 4, 6)));
  });
});

describe('cron spec: day-of-month and month fields', () => {
  it('takes *, n, a-b, */s, a-b/s and L (last day of the month)', () => {
    assert.deepEqual(daysOf(parseCronSpec('0 0 */15 * *'), 1), [1, 16, 31]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 10-13/3 * *'), 3), [10, 13]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 L * *'), 4), [30]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 L,3,1 * *'), 1), [1, 3, 31]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 3-6,L,3,1 * *'), 2), [1, 3, 4, 5, 6, 28]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 L * *'), 2, 2024), [29], 'leap year');
    assert.deepEqual(daysOf(parseCronSpec('0 0 31 * *'), 4), [], 'April has no 31st');
  });

  it('takes *, n, a-b and */s in the month field', () => {
    assert.deepEqual(monthsOf('*'), range(1, 12));
    assert.deepEqual(monthsOf('2,7'), [2, 7]);
    assert.deepEqual(monthsOf('3-5'), [3, 4, 5]);
    assert.deepEqual(monthsOf('*/5'), [1, 6, 11]);
    assert.deepEqual(monthsOf('12'), [12]);
  });
});

describe('cron spec: day-of-week field', () => {
  // January 2025: Mondays are 6, 13, 20, 27; Wednesdays 1, 8, 15, 22, 29; Sundays 5, 12, 19, 26
  it('numbers days 1 (Monday) to 7 (Sunday), with lists and ranges', () => {
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 1'), 1), [6, 13, 20, 27]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 7'), 1), [5, 12, 19, 26]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 6-7'), 1), [4, 5, 11, 12, 18, 19, 25, 26]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 1,3'), 1), [1, 6, 8, 13, 15, 20, 22, 27, 29]);
  });

  it('takes nL (the last n-weekday of the month)', () => {
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 3L'), 1), [29]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 1L'), 1, 2024), [29]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 3L,1,5'), 1), [3, 6, 10, 13, 17, 20, 24, 27, 29, 31]);
  });

  it('takes n#k (the k-th n-weekday of the month), k up to 5', () => {
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 5#4'), 1), [24]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 2#3,3#2'), 1), [8, 21]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 3#5'), 1), [29]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 1#5'), 1), [], 'January 2025 has four Mondays');
    assert.deepEqual(
      daysOf(parseCronSpec('0 0 * * 2-6,1#5,7L'), 3),
      [1, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 25, 26, 27, 28, 29, 30, 31],
      'March 2025: Tuesday–Saturday, the fifth Monday (31st), the last Sunday (30th)',
    );
  });

  it('ORs day-of-month and day-of-week when both are restricted', () => {
    const spec = parseCronSpec('0 12 15 * 1');
    assert.ok(spec.matches(wall(2024, 1, 15, 12)), 'the 15th, a Monday');
    assert.ok(spec.matches(wall(2024, 1, 8, 12)), 'a Monday');
    assert.ok(spec.matches(wall(2024, 2, 15, 12)), 'the 15th, a Thursday');
    assert.ok(!spec.matches(wall(2024, 1, 9, 12)), 'neither');
    assert.ok(!spec.matches(wall(2024, 1, 15, 13)), 'wrong hour');
    // a step counts as restricted: */10 OR Sunday
    assert.deepEqual(daysOf(parseCronSpec('0 0 */10 * 7'), 1), [1, 5, 11, 12, 19, 21, 26, 31]);
    // one side `*`: the other decides alone
    assert.deepEqual(daysOf(parseCronSpec('0 0 * * 7'), 1), [5, 12, 19, 26]);
    assert.deepEqual(daysOf(parseCronSpec('0 0 5 * *'), 1), [5]);
  });
});

describe('cron spec: macros', () => {
  it("expands Ergo's four macros to their off-peak times", () => {
    assert.deepEqual(CRON_MACROS, {
      '@hourly': '1 * * * *',
      '@daily': '10 3 * * *',
      '@weekly': '30 5 * * 1',
      '@monthly': '20 4 1 * *',
    });
    for (const [macro, expansion] of Object.entries(CRON_MACROS)) {
      const spec = parseCronSpec(macro);
      assert.equal(spec.expanded, expansion);
      assert.equal(spec.source, macro);
    }
    assert.ok(parseCronSpec('@weekly').matches(wall(2025, 1, 6, 5, 30)));
    assert.ok(!parseCronSpec('@weekly').matches(wall(2025, 1, 7, 5, 30)));
    assert.ok(parseCronSpec('@monthly').matches(wall(2025, 3, 1, 4, 20)));
  });

  it('marks jobs whose minute or hour field starts with * as following real time', () => {
    assert.equal(parseCronSpec('@hourly').followsRealTime, true);
    assert.equal(parseCronSpec('*/15 * * * *').followsRealTime, true);
    assert.equal(parseCronSpec('0 */2 * * *').followsRealTime, true);
    assert.equal(parseCronSpec('* 2 * * *').followsRealTime, true);
    assert.equal(parseCronSpec('@daily').followsRealTime, false);
    assert.equal(parseCronSpec('0 0-23 * * *').followsRealTime, false);
    assert.equal(parseCronSpec('30 2 * * *').followsRealTime, false);
  });
});

describe('cron spec: errors', () => {
  // [spec, field, token, a fragment of the reason]
  const cases: [string, CronSpecField | undefined, string | undefined, string][] = [
    ['', undefined, undefined, 'expected 5 fields'],
    ['* * * *', undefined, undefined, 'got 4'],
    ['* * * * * *', undefined, undefined, 'got 6'],
    ['@yearly', undefined, '@yearly', 'unknown macro @yearly'],
    ['@HOURLY', undefined, '@HOURLY', 'unknown macro'],
    ['0,a,3 * * * *', 'minute', 'a', '"a" (in "0,a,3") is not valid here'],
    ['0,59,63 * * * *', 'minute', '63', 'out of range 0-59'],
    ['33-3 * * * *', 'minute', '33-3', 'start 33 is greater than end 3'],
    ['*/70 * * * *', 'minute', '*/70', 'step 70 out of range 1-59'],
    ['*/0 * * * *', 'minute', '*/0', 'step 0 out of range'],
    ['*/7,* * * * *', 'minute', '*', 'cannot be combined'],
    ['*,5 * * * *', 'minute', '*', 'cannot be combined'],
    ['2-60/2 * * * *', 'minute', '2-60/2', 'value 60 out of range 0-59'],
    ['1-5/x * * * *', 'minute', '1-5/x', 'step that is not a number'],
    ['1,,2 * * * *', 'minute', '', 'empty list item'],
    ['5/2 * * * *', 'minute', '5/2', 'not valid here'],
    ['-1 * * * *', 'minute', '-1', 'not valid here'],
    ['7,L * * * *', 'minute', 'L', 'not valid here'],
    ['7,3L * * * *', 'minute', '3L', 'not valid here'],
    ['7,2#2 * * * *', 'minute', '2#2', 'not valid here'],
    ['0 25 * * *', 'hour', '25', 'out of range 0-23'],
    ['0 0 0,30 * *', 'day-of-month', '0', 'out of range 1-31'],
    ['0 0 1,33 * *', 'day-of-month', '33', 'out of range 1-31'],
    ['0 0 3L * *', 'day-of-month', '3L', 'not valid here'],
    ['0 0 * 1-12/2 *', 'month', '1-12/2', 'stepped ranges are not allowed in the month field'],
    ['0 0 * 13 *', 'month', '13', 'out of range 1-12'],
    ['0 0 * JAN *', 'month', 'JAN', 'not valid here'],
    ['0 0 * * 0,7', 'day-of-week', '0', '7 (Sunday)'],
    ['0 0 * * 0#4', 'day-of-week', '0#4', '7 (Sunday)'],
    ['0 0 * * */4', 'day-of-week', '*/4', 'steps are not allowed in the day-of-week field'],
    ['0 0 * * 1-5/2', 'day-of-week', '1-5/2', 'stepped ranges are not allowed'],
    ['0 0 * * 1#6', 'day-of-week', '1#6', 'occurrence 6 out of range 1-5'],
    ['0 0 * * 1#0', 'day-of-week', '1#0', 'occurrence 0 out of range 1-5'],
    ['0 0 * * #1', 'day-of-week', '#1', 'not valid here'],
    ['0 0 * * 1#', 'day-of-week', '1#', 'not valid here'],
    ['0 0 * * 1,8', 'day-of-week', '8', 'out of range 1-7'],
    ['0 0 * * 8L', 'day-of-week', '8L', 'value 8 out of range 1-7'],
    ['0 0 * * L', 'day-of-week', 'L', 'not valid here'],
    ['0 0 * * MON', 'day-of-week', 'MON', 'not valid here'],
  ];
  for (const [spec, field, token, fragment] of cases) {
    it(`rejects ${JSON.stringify(spec)}`, () => {
      assert.throws(
        () => parseCronSpec(spec),
        (err: unknown) => {
          assert.ok(err instanceof CronSpecError, `CronSpecError, got ${String(err)}`);
          assert.equal(err.code, 'ERR_INCORRECT');
          assert.ok(isError(err, ErrIncorrect));
          assert.equal(err.spec, spec);
          assert.equal(err.field, field);
          assert.equal(err.token, token);
          assert.ok(
            err.message.includes(fragment),
            `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(fragment)}`,
          );
          assert.ok(err.message.startsWith(`incorrect value or argument: cron spec ${JSON.stringify(spec)}: `));
          if (field !== undefined) assert.ok(err.message.includes(`${field} field: `));
          return true;
        },
      );
    });
  }

  it('rejects a spec that is not a string', () => {
    assert.throws(
      () => parseCronSpec(5 as unknown as string),
      (err: unknown) => err instanceof CronSpecError && /must be a string/.test(err.message),
    );
  });
});
