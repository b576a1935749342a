// Which minutes a job runs at. One rule serves the live scheduler (is the job due at this
// minute?) and the previews (every run minute in a window), so a preview shows exactly what the
// scheduler will do. Times are instants at UTC minute boundaries; the spec is matched against the
// wall clock of the job's zone at that instant.
//
// Daylight saving time, by example in Europe/Berlin:
// - spring forward (02:00 → 03:00): the wall minutes 02:00–02:59 never occur, so a job at
//   `30 2 * * *` does not run that day (it is not moved to 03:00);
// - fall back (03:00 → 02:00): the wall minutes 02:00–02:59 occur twice. A job at fixed times
//   (`30 2 * * *`) runs once, at the first occurrence. A job whose minute or hour field starts
//   with `*` (`*/15 * * * *`, `@hourly`) keeps its cadence in real time and runs in both passes,
//   like Vixie cron's "wildcard" jobs — otherwise an every-15-minutes job would pause for an hour.

import { DAY_MS, HOUR_MS, MINUTE_MS, floorToMinute, wallClockFromLocalMs, type ZoneCalendar } from './calendar.js';
import type { CronSpec } from './spec.js';

/**
 * How far back a fall-back is looked for. A repeated wall minute lies within one shift (at most
 * a few hours in any real zone) after the change.
 */
export const REPEAT_LOOKBACK_MS = 6 * HOUR_MS;

/** Longest preview window (ten years); longer ones are refused with ErrTooLarge. */
export const PREVIEW_MAX_MS = 3653 * DAY_MS;

/** How far ahead a job's next run is searched for (covers Feb 29 across a skipped leap year). */
export const NEXT_RUN_HORIZON_MS = (8 * 366 + 2) * DAY_MS;

/**
 * True when the wall-clock minute shown at instant `t` was already shown earlier — the second
 * pass through the hour a fall-back repeats.
 */
export function isRepeatedWallMinute(cal: ZoneCalendar, t: number): boolean {
  const offset = cal.offsetAt(t);
  const earlier = cal.offsetAt(t - REPEAT_LOOKBACK_MS);
  if (earlier <= offset) return false;
  // the clocks went back by `shift`: the same reading was on the wall `shift` ago if the change
  // happened after that instant
  const shift = earlier - offset;
  return cal.offsetAt(t - shift) === earlier;
}

/** True when a job with `spec` in `cal`'s zone runs at the minute instant `t`. */
export function isDueAt(spec: CronSpec, cal: ZoneCalendar, t: number): boolean {
  if (!spec.matches(cal.wallClock(t))) return false;
  return spec.followsRealTime || !isRepeatedWallMinute(cal, t);
}

/**
 * The minute instants in `[from, to)` at which a job with `spec` runs, ascending, at most
 * `limit` of them. `from` is rounded up to a minute boundary. Cost is proportional to the number
 * of days and matching hours in the window, not to its minutes.
 */
export function runTimes(
  spec: CronSpec,
  cal: ZoneCalendar,
  from: number,
  to: number,
  limit = Number.POSITIVE_INFINITY,
): number[] {
  const out: number[] = [];
  let t = floorToMinute(from);
  if (t < from) t += MINUTE_MS;
  while (t < to && out.length < limit) {
    const offset = cal.offsetAt(t);
    const w = wallClockFromLocalMs(t + offset);
    const minuteOfDay = w.hour * 60 + w.minute;
    const target = spec.matchesDate(w) ? spec.nextTimeOfDay(minuteOfDay) : 1440;
    if (target === minuteOfDay) {
      if (spec.followsRealTime || !isRepeatedWallMinute(cal, t)) out.push(t);
      t += MINUTE_MS;
      continue;
    }
    // Jump straight to the next candidate wall minute when the offset is the same at both ends
    // (wall time then advanced exactly as real time did); across an offset change, walk.
    const jump = (target - minuteOfDay) * MINUTE_MS;
    t += jump > MINUTE_MS && cal.offsetAt(t + jump) === offset ? jump : MINUTE_MS;
  }
  return out;
}

/**
 * The first minute instant at or after `from` at which a job with `spec` runs, or `null` when
 * there is none within {@link NEXT_RUN_HORIZON_MS}.
 */
export function nextRunTime(spec: CronSpec, cal: ZoneCalendar, from: number): number | null {
  const [next] = runTimes(spec, cal, from, from + NEXT_RUN_HORIZON_MS, 1);
  return next ?? null;
}
