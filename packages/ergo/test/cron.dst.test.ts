// Daylight saving time in real zones, at fixed instants (2025 rules): the calendar finds each
// offset change, the spring-forward gap is skipped (not shifted), the fall-back overlap runs a
// fixed-time job once (first pass) and a wildcard job in real time. Zones: Europe/Berlin (02:00
// → 03:00, 03:00 → 02:00), America/New_York, Australia/Lord_Howe (30-minute shift) and
// America/Santiago (changes at midnight).

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { DAY_MS, HOUR_MS, MINUTE_MS, ZoneCalendar, localTimeZone, resolveTimeZone } from '../src/node/cron/calendar.js';
import { isDueAt, isRepeatedWallMinute, runTimes } from '../src/node/cron/schedule.js';
import { parseCronSpec } from '../src/node/cron/spec.js';
import { ErrIncorrect, isError } from '../src/gen/errors.js';

function iso(t: number): string {
  return new Date(t).toISOString().replace(':00.000Z', 'Z');
}

function runs(spec: string, zone: string, from: string, to: string): string[] {
  return runTimes(parseCronSpec(spec), ZoneCalendar.of(zone), Date.parse(from), Date.parse(to)).map(iso);
}

/** "HH:MM" on the zone's wall clock at `instant`. */
function wallTime(zone: string, instant: string): string {
  const w = ZoneCalendar.of(zone).wallClock(Date.parse(instant));
  return `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
}

describe('cron DST: the calendar finds every offset change', () => {
  // [zone, change instant, offset before (minutes), offset after]
  const changes: [string, string, number, number][] = [
    ['Europe/Berlin', '2025-03-30T01:00Z', 60, 120],
    ['Europe/Berlin', '2025-10-26T01:00Z', 120, 60],
    ['America/New_York', '2025-03-09T07:00Z', -300, -240],
    ['America/New_York', '2025-11-02T06:00Z', -240, -300],
    ['Australia/Lord_Howe', '2025-04-05T15:00Z', 660, 630],
    ['Australia/Lord_Howe', '2025-10-04T15:30Z', 630, 660],
    ['America/Santiago', '2025-04-06T03:00Z', -180, -240],
    ['America/Santiago', '2025-09-07T04:00Z', -240, -180],
  ];
  for (const [zone, at, before, after] of changes) {
    it(`${zone} at ${at}: ${before} → ${after} minutes`, () => {
      const cal = ZoneCalendar.of(zone);
      const t = Date.parse(at);
      assert.equal(cal.offsetAt(t - 1000), before * MINUTE_MS);
      assert.equal(cal.offsetAt(t), after * MINUTE_MS);
      assert.equal(cal.offsetAt(t - DAY_MS / 2), before * MINUTE_MS);
      assert.equal(cal.offsetAt(t + DAY_MS / 2), after * MINUTE_MS);
    });
  }

  it('shows the wall clock on both sides of a change', () => {
    assert.equal(wallTime('Europe/Berlin', '2025-03-30T00:59Z'), '01:59');
    assert.equal(wallTime('Europe/Berlin', '2025-03-30T01:00Z'), '03:00');
    assert.equal(wallTime('Europe/Berlin', '2025-10-26T00:59Z'), '02:59');
    assert.equal(wallTime('Europe/Berlin', '2025-10-26T01:00Z'), '02:00');
    assert.equal(wallTime('Australia/Lord_Howe', '2025-04-05T14:59Z'), '01:59');
    assert.equal(wallTime('Australia/Lord_Howe', '2025-04-05T15:00Z'), '01:30');
    assert.equal(wallTime('Australia/Lord_Howe', '2025-10-04T15:29Z'), '01:59');
    assert.equal(wallTime('Australia/Lord_Howe', '2025-10-04T15:30Z'), '02:30');
  });

  it('resolves zone names to Intl’s canonical spelling and rejects unknown ones', () => {
    assert.equal(resolveTimeZone('utc'), 'UTC');
    assert.equal(resolveTimeZone('europe/berlin'), 'Europe/Berlin');
    assert.equal(resolveTimeZone(undefined), localTimeZone());
    assert.equal(resolveTimeZone(''), localTimeZone());
    assert.equal(ZoneCalendar.of('utc'), ZoneCalendar.of('UTC'), 'one shared calendar per zone');
    assert.throws(
      () => resolveTimeZone('Mars/Olympus_Mons'),
      (err: unknown) =>
        isError(err, ErrIncorrect) && err instanceof Error && err.message.includes('"Mars/Olympus_Mons"'),
    );
  });
});

describe('cron DST: spring forward skips the missing wall minutes', () => {
  it('Europe/Berlin: 02:30 does not exist on 2025-03-30 and is not moved', () => {
    assert.deepEqual(runs('30 2 * * *', 'Europe/Berlin', '2025-03-29T00:00Z', '2025-04-01T00:00Z'), [
      '2025-03-29T01:30Z',
      '2025-03-31T00:30Z',
    ]);
    assert.deepEqual(runs('30 3 * * *', 'Europe/Berlin', '2025-03-30T00:00Z', '2025-03-31T00:00Z'), [
      '2025-03-30T01:30Z',
    ]);
  });

  it('America/New_York: 02:30 does not exist on 2025-03-09', () => {
    assert.deepEqual(runs('30 2 * * *', 'America/New_York', '2025-03-08T00:00Z', '2025-03-11T00:00Z'), [
      '2025-03-08T07:30Z',
      '2025-03-10T06:30Z',
    ]);
  });

  it('Australia/Lord_Howe: 02:00–02:29 does not exist on 2025-10-05, 02:30 does', () => {
    assert.deepEqual(runs('15,30 2 * * *', 'Australia/Lord_Howe', '2025-10-03T00:00Z', '2025-10-06T00:00Z'), [
      '2025-10-03T15:45Z',
      '2025-10-03T16:00Z',
      '2025-10-04T15:30Z',
      '2025-10-05T15:15Z',
      '2025-10-05T15:30Z',
    ]);
  });

  it('America/Santiago: midnight does not exist on 2025-09-07', () => {
    assert.deepEqual(runs('0 0 * * *', 'America/Santiago', '2025-09-05T00:00Z', '2025-09-09T00:00Z'), [
      '2025-09-05T04:00Z',
      '2025-09-06T04:00Z',
      '2025-09-08T03:00Z',
    ]);
  });

  it('a wildcard job runs once per real hour: 23 runs on the short day', () => {
    // the Berlin local day of 2025-03-30 lasts from 23:00Z to 22:00Z
    assert.equal(runs('@hourly', 'Europe/Berlin', '2025-03-29T23:00Z', '2025-03-30T22:00Z').length, 23);
  });
});

describe('cron DST: fall back repeats wall minutes', () => {
  it('marks exactly the second pass as repeated', () => {
    const berlin = ZoneCalendar.of('Europe/Berlin');
    const repeated: string[] = [];
    for (let t = Date.parse('2025-10-25T20:00Z'); t < Date.parse('2025-10-26T06:00Z'); t += MINUTE_MS) {
      if (isRepeatedWallMinute(berlin, t)) repeated.push(iso(t));
    }
    assert.equal(repeated.length, 60);
    assert.equal(repeated[0], '2025-10-26T01:00Z');
    assert.equal(repeated[59], '2025-10-26T01:59Z');
    const lordHowe = ZoneCalendar.of('Australia/Lord_Howe');
    assert.equal(isRepeatedWallMinute(lordHowe, Date.parse('2025-04-05T14:59Z')), false);
    assert.equal(isRepeatedWallMinute(lordHowe, Date.parse('2025-04-05T15:00Z')), true);
    assert.equal(isRepeatedWallMinute(lordHowe, Date.parse('2025-04-05T15:29Z')), true);
    assert.equal(isRepeatedWallMinute(lordHowe, Date.parse('2025-04-05T15:30Z')), false);
  });

  it('Europe/Berlin: a job at 02:30 runs once, at the first pass', () => {
    assert.deepEqual(runs('30 2 * * *', 'Europe/Berlin', '2025-10-25T00:00Z', '2025-10-28T00:00Z'), [
      '2025-10-25T00:30Z',
      '2025-10-26T00:30Z',
      '2025-10-27T01:30Z',
    ]);
    const spec = parseCronSpec('30 2 * * *');
    const cal = ZoneCalendar.of('Europe/Berlin');
    assert.equal(isDueAt(spec, cal, Date.parse('2025-10-26T00:30Z')), true);
    assert.equal(isDueAt(spec, cal, Date.parse('2025-10-26T01:30Z')), false, 'second 02:30');
  });

  it('America/New_York: a job at 01:30 runs once on 2025-11-02', () => {
    assert.deepEqual(runs('30 1 * * *', 'America/New_York', '2025-11-01T00:00Z', '2025-11-04T00:00Z'), [
      '2025-11-01T05:30Z',
      '2025-11-02T05:30Z',
      '2025-11-03T06:30Z',
    ]);
  });

  it('Australia/Lord_Howe: a job at 01:45 runs once when 01:30–01:59 repeats', () => {
    assert.deepEqual(runs('45 1 * * *', 'Australia/Lord_Howe', '2025-04-04T00:00Z', '2025-04-07T00:00Z'), [
      '2025-04-04T14:45Z',
      '2025-04-05T14:45Z',
      '2025-04-06T15:15Z',
    ]);
  });

  it('America/Santiago: 23:30 repeats on 2025-04-05 and runs once', () => {
    assert.deepEqual(runs('30 23 * * *', 'America/Santiago', '2025-04-04T00:00Z', '2025-04-08T00:00Z'), [
      '2025-04-04T02:30Z',
      '2025-04-05T02:30Z',
      '2025-04-06T02:30Z',
      '2025-04-07T03:30Z',
    ]);
  });

  it('a wildcard job keeps its real-time cadence through both passes', () => {
    assert.deepEqual(runs('*/30 * * * *', 'Europe/Berlin', '2025-10-26T00:00Z', '2025-10-26T02:01Z'), [
      '2025-10-26T00:00Z',
      '2025-10-26T00:30Z',
      '2025-10-26T01:00Z',
      '2025-10-26T01:30Z',
      '2025-10-26T02:00Z',
    ]);
    // the long day (22:00Z to 23:00Z) has 25 real hours
    assert.equal(runs('@hourly', 'Europe/Berlin', '2025-10-25T22:00Z', '2025-10-26T23:00Z').length, 25);
    // minute wildcard at a fixed hour: both passes of 02:xx
    assert.equal(runs('* 2 * * *', 'Europe/Berlin', '2025-10-25T22:00Z', '2025-10-26T23:00Z').length, 120);
    // the same minutes written as a range are fixed times: once each
    assert.equal(runs('0-59 2 * * *', 'Europe/Berlin', '2025-10-25T22:00Z', '2025-10-26T23:00Z').length, 60);
  });

  it('a daily job runs exactly once on every day of a year in each zone', () => {
    for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago']) {
      for (const spec of ['30 1 * * *', '45 23 * * *', '10 3 * * *']) {
        const list = runTimes(
          parseCronSpec(spec),
          ZoneCalendar.of(zone),
          Date.parse('2025-01-01T00:00Z'),
          Date.parse('2025-01-01T00:00Z') + 365 * DAY_MS,
        );
        const days = new Set(
          list.map((t) => {
            const w = ZoneCalendar.of(zone).wallClock(t);
            return `${w.year}-${w.month}-${w.day}`;
          }),
        );
        assert.equal(days.size, list.length, `${spec} in ${zone}: at most once a day`);
        assert.ok(list.length >= 364 && list.length <= 365, `${spec} in ${zone}: ${list.length} runs`);
        assert.ok(list.every((t, i) => i === 0 || t - list[i - 1]! >= 23 * HOUR_MS - 30 * MINUTE_MS));
      }
    }
  });
});
