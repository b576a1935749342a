// Cron run lists: which minutes a spec selects over long windows — a year of Ergo's own cases,
// leap years, L / nL / n#k, day-of-month OR day-of-week, zones without DST — and the preview's
// jumping search agreeing minute for minute with a plain walk.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { DAY_MS, MINUTE_MS, ZoneCalendar } from '../src/node/cron/calendar.js';
import { NEXT_RUN_HORIZON_MS, isDueAt, nextRunTime, runTimes } from '../src/node/cron/schedule.js';
import { parseCronSpec } from '../src/node/cron/spec.js';

const UTC = ZoneCalendar.of('UTC');

function iso(t: number): string {
  return new Date(t).toISOString().replace(':00.000Z', 'Z');
}

/** Run instants of `spec` in `zone` within [from, to), as ISO strings without seconds. */
function runs(spec: string, from: string, to: string, zone = 'UTC'): string[] {
  return runTimes(parseCronSpec(spec), ZoneCalendar.of(zone), Date.parse(from), Date.parse(to)).map(iso);
}

/** `2025-MM-DDT19:01Z` for each `MM-DD`. */
function at1901(...days: string[]): string[] {
  return days.map((d) => `2025-${d}T19:01Z`);
}

describe('cron schedule: a year of runs (2025, UTC)', () => {
  const year = (spec: string): string[] => runs(spec, '2025-01-01T00:00Z', '2026-01-01T00:00Z');

  it('1 19 * * 3#2 — the second Wednesday of every month', () => {
    assert.deepEqual(
      year('1 19 * * 3#2'),
      at1901(
        '01-08',
        '02-12',
        '03-12',
        '04-09',
        '05-14',
        '06-11',
        '07-09',
        '08-13',
        '09-10',
        '10-08',
        '11-12',
        '12-10',
      ),
    );
  });

  it('1 19 3 * 3#2 — the 3rd OR the second Wednesday', () => {
    assert.deepEqual(
      year('1 19 3 * 3#2'),
      at1901(
        '01-03',
        '01-08',
        '02-03',
        '02-12',
        '03-03',
        '03-12',
        '04-03',
        '04-09',
        '05-03',
        '05-14',
        '06-03',
        '06-11',
        '07-03',
        '07-09',
        '08-03',
        '08-13',
        '09-03',
        '09-10',
        '10-03',
        '10-08',
        '11-03',
        '11-12',
        '12-03',
        '12-10',
      ),
    );
  });

  it('1 19 3 * * — the 3rd of every month', () => {
    assert.deepEqual(
      year('1 19 3 * *'),
      at1901(
        '01-03',
        '02-03',
        '03-03',
        '04-03',
        '05-03',
        '06-03',
        '07-03',
        '08-03',
        '09-03',
        '10-03',
        '11-03',
        '12-03',
      ),
    );
  });

  it('1 19 */15,L 2,7 * — days 1, 16, 31 and the last day, in February and July', () => {
    assert.deepEqual(year('1 19 */15,L 2,7 *'), at1901('02-01', '02-16', '02-28', '07-01', '07-16', '07-31'));
  });

  it('1 19 * * 1#1,7L — the first Monday and the last Sunday', () => {
    assert.deepEqual(
      year('1 19 * * 1#1,7L'),
      at1901(
        '01-06',
        '01-26',
        '02-03',
        '02-23',
        '03-03',
        '03-30',
        '04-07',
        '04-27',
        '05-05',
        '05-25',
        '06-02',
        '06-29',
        '07-07',
        '07-27',
        '08-04',
        '08-31',
        '09-01',
        '09-28',
        '10-06',
        '10-26',
        '11-03',
        '11-30',
        '12-01',
        '12-28',
      ),
    );
  });

  it('1 19 10-13/3 * * — days 10 and 13', () => {
    const expected: string[] = [];
    for (let m = 1; m <= 12; m++) {
      const mm = String(m).padStart(2, '0');
      expected.push(...at1901(`${mm}-10`, `${mm}-13`));
    }
    assert.deepEqual(year('1 19 10-13/3 * *'), expected);
  });

  it('0 12 15 * 1 — the 15th OR every Monday (52 Mondays + the 15ths that are not Mondays)', () => {
    const list = year('0 12 15 * 1');
    const mondays = list.filter((s) => new Date(s).getUTCDay() === 1);
    const fifteenths = list.filter((s) => new Date(s).getUTCDate() === 15);
    assert.equal(mondays.length, 52);
    assert.equal(fifteenths.length, 12);
    // 2025-09-15 and 2025-12-15 are Mondays: counted once
    assert.equal(list.length, 52 + 12 - 2);
    assert.ok(list.every((s) => s.endsWith('T12:00Z')));
  });

  it('the macros', () => {
    assert.equal(year('@hourly').length, 365 * 24);
    assert.ok(year('@hourly').every((s) => s.endsWith(':01Z')));
    assert.deepEqual(year('@daily').slice(0, 2), ['2025-01-01T03:10Z', '2025-01-02T03:10Z']);
    assert.equal(year('@daily').length, 365);
    assert.deepEqual(year('@weekly').slice(0, 3), ['2025-01-06T05:30Z', '2025-01-13T05:30Z', '2025-01-20T05:30Z']);
    assert.equal(year('@weekly').length, 52);
    assert.deepEqual(year('@monthly').slice(0, 2), ['2025-01-01T04:20Z', '2025-02-01T04:20Z']);
    assert.equal(year('@monthly').length, 12);
  });

  it('every minute of a year', () => {
    const all = runTimes(
      parseCronSpec('* * * * *'),
      UTC,
      Date.parse('2025-01-01T00:00Z'),
      Date.parse('2026-01-01T00:00Z'),
    );
    assert.equal(all.length, 365 * 24 * 60);
    assert.ok(all.every((t, i) => t === Date.parse('2025-01-01T00:00Z') + i * MINUTE_MS));
  });
});

describe('cron schedule: leap years and month ends', () => {
  it('L is the 29th of February in leap years only', () => {
    assert.deepEqual(runs('0 12 L 2 *', '2023-01-01T00:00Z', '2026-01-01T00:00Z'), [
      '2023-02-28T12:00Z',
      '2024-02-29T12:00Z',
      '2025-02-28T12:00Z',
    ]);
    assert.deepEqual(runs('0 0 L * *', '2024-01-01T00:00Z', '2024-07-01T00:00Z'), [
      '2024-01-31T00:00Z',
      '2024-02-29T00:00Z',
      '2024-03-31T00:00Z',
      '2024-04-30T00:00Z',
      '2024-05-31T00:00Z',
      '2024-06-30T00:00Z',
    ]);
  });

  it('1L and 1#2 in January 2024', () => {
    assert.deepEqual(runs('0 12 * * 1L', '2024-01-01T00:00Z', '2024-02-01T00:00Z'), ['2024-01-29T12:00Z']);
    assert.deepEqual(runs('0 12 * * 1#2', '2024-01-01T00:00Z', '2024-02-01T00:00Z'), ['2024-01-08T12:00Z']);
    // the last Thursday of February in a leap year with five Thursdays
    assert.deepEqual(runs('0 0 * * 4L', '2024-02-01T00:00Z', '2024-03-01T00:00Z'), ['2024-02-29T00:00Z']);
    assert.deepEqual(runs('0 0 * * 4#5', '2024-02-01T00:00Z', '2024-03-01T00:00Z'), ['2024-02-29T00:00Z']);
  });

  it('the 29th of February: 2096, then 2104 (2100 is not a leap year)', () => {
    const spec = parseCronSpec('0 0 29 2 *');
    assert.deepEqual(runTimes(spec, UTC, Date.parse('2096-01-01T00:00Z'), Date.parse('2105-01-01T00:00Z')).map(iso), [
      '2096-02-29T00:00Z',
      '2104-02-29T00:00Z',
    ]);
    assert.equal(iso(nextRunTime(spec, UTC, Date.parse('2096-03-01T00:00Z'))!), '2104-02-29T00:00Z');
  });

  it('a spec that never matches has no next run', () => {
    assert.equal(nextRunTime(parseCronSpec('0 0 30 2 *'), UTC, Date.parse('2025-01-01T00:00Z')), null);
    assert.equal(nextRunTime(parseCronSpec('0 0 31 4,6,9,11 *'), UTC, Date.parse('2025-01-01T00:00Z')), null);
    assert.ok(NEXT_RUN_HORIZON_MS > 8 * 365 * DAY_MS);
  });
});

describe('cron schedule: zones without daylight saving', () => {
  it('reads the spec on the zone’s wall clock', () => {
    // Tokyo is UTC+9: 09:00 on weekdays is 00:00Z
    assert.deepEqual(runs('0 9 * * 1-5', '2025-01-05T15:00Z', '2025-01-12T15:00Z', 'Asia/Tokyo'), [
      '2025-01-06T00:00Z',
      '2025-01-07T00:00Z',
      '2025-01-08T00:00Z',
      '2025-01-09T00:00Z',
      '2025-01-10T00:00Z',
    ]);
    // Kolkata is UTC+5:30: midnight of the 1st is 18:30Z the day before
    assert.deepEqual(runs('0 0 1 * *', '2025-01-01T00:00Z', '2025-04-01T00:00Z', 'Asia/Kolkata'), [
      '2025-01-31T18:30Z',
      '2025-02-28T18:30Z',
      '2025-03-31T18:30Z',
    ]);
    // Chatham is UTC+13:45 in January
    assert.deepEqual(runs('0 0 * * *', '2025-01-10T00:00Z', '2025-01-12T00:00Z', 'Pacific/Chatham'), [
      '2025-01-10T10:15Z',
      '2025-01-11T10:15Z',
    ]);
  });
});

describe('cron schedule: windows and limits', () => {
  it('rounds `from` up to a minute, excludes `to`, honours `limit`', () => {
    const spec = parseCronSpec('*/10 * * * *');
    const from = Date.parse('2025-01-01T00:00:30Z');
    assert.deepEqual(runTimes(spec, UTC, from, Date.parse('2025-01-01T00:30Z')).map(iso), [
      '2025-01-01T00:10Z',
      '2025-01-01T00:20Z',
    ]);
    assert.deepEqual(runTimes(spec, UTC, from, from + DAY_MS, 3).map(iso), [
      '2025-01-01T00:10Z',
      '2025-01-01T00:20Z',
      '2025-01-01T00:30Z',
    ]);
    assert.deepEqual(runTimes(spec, UTC, Date.parse('2025-01-01T00:10Z'), Date.parse('2025-01-01T00:10Z')), []);
  });

  it('works before 1970', () => {
    assert.deepEqual(runs('0 0 1 1 *', '1968-06-01T00:00Z', '1970-06-01T00:00Z'), [
      '1969-01-01T00:00Z',
      '1970-01-01T00:00Z',
    ]);
  });

  it('jumping over non-matching minutes finds exactly what a minute-by-minute walk finds', () => {
    const specs = [
      '30 2 * * *',
      '*/7 1-3 * * *',
      '0,59 * L * 7L',
      '15 */2 * * 1#1',
      '@hourly',
      '* 2 * * 7',
      '45 0-2 * * *',
    ];
    // windows around DST changes (and one quiet week) in zones with 60- and 30-minute shifts
    const windows: [string, string][] = [
      ['Europe/Berlin', '2025-03-28T00:00Z'],
      ['Europe/Berlin', '2025-10-24T00:00Z'],
      ['America/New_York', '2025-11-01T00:00Z'],
      ['Australia/Lord_Howe', '2025-04-03T00:00Z'],
      ['Australia/Lord_Howe', '2025-10-02T00:00Z'],
      ['America/Santiago', '2025-09-05T00:00Z'],
      ['UTC', '2025-06-01T00:00Z'],
    ];
    for (const [zone, start] of windows) {
      const cal = ZoneCalendar.of(zone);
      const from = Date.parse(start);
      const to = from + 5 * DAY_MS;
      for (const text of specs) {
        const spec = parseCronSpec(text);
        const walked: number[] = [];
        for (let t = from; t < to; t += MINUTE_MS) if (isDueAt(spec, cal, t)) walked.push(t);
        assert.deepEqual(runTimes(spec, cal, from, to), walked, `${text} in ${zone} from ${start}`);
      }
    }
  });
});
