// Wall-clock arithmetic in IANA time zones. Cron matches a spec against the wall clock of the
// job's zone, so we need "what do the clocks in zone Z show at instant t" for every minute we
// evaluate. Intl.DateTimeFormat knows every zone's rules but is slow (a few µs per call), so a
// ZoneCalendar asks Intl only for the zone's UTC offset, once per UTC day, and caches it; the
// wall clock itself is plain integer arithmetic on `t + offset`.
//
// Assumption (true of every real zone): at most one offset change per UTC day. A day whose two
// ends show different offsets is binary-searched down to the second for the change instant.

import { ErrIncorrect } from '../../gen/errors.js';

/** One minute in milliseconds. */
export const MINUTE_MS = 60_000;
/** One hour in milliseconds. */
export const HOUR_MS = 3_600_000;
/** One day (of UTC, without leap seconds) in milliseconds. */
export const DAY_MS = 86_400_000;

/**
 * The fields a clock on the wall shows: `month` 1–12, `day` 1–31, `hour` 0–23, `minute` 0–59,
 * `weekday` ISO style 1 (Monday) … 7 (Sunday), as in cron's day-of-week field.
 */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

/** True for Gregorian leap years. */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Number of days in `month` (1–12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The start of the minute containing `ms` (epoch milliseconds, floors negative values too). */
export function floorToMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/**
 * Wall clock of a "local epoch" value: milliseconds since 1970-01-01T00:00 of the wall clock
 * (i.e. `instant + offset`). Pure arithmetic (Hinnant's days→civil), no Date allocation.
 */
export function wallClockFromLocalMs(localMs: number): WallClock {
  const days = Math.floor(localMs / DAY_MS);
  const msOfDay = localMs - days * DAY_MS;
  const minuteOfDay = Math.floor(msOfDay / MINUTE_MS);
  // days → (year, month, day); era = 400-year cycle
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  // 1970-01-01 was a Thursday (ISO 4)
  const weekday = ((((days + 3) % 7) + 7) % 7) + 1;
  return { year, month, day, hour: Math.floor(minuteOfDay / 60), minute: minuteOfDay % 60, weekday };
}

/** Epoch milliseconds of a wall-clock reading taken as if it were UTC (years 0–99 included). */
export function localMsFromFields(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second = 0,
): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** The zone Node runs in (what `new Date().getHours()` uses), e.g. "Europe/Berlin" or "UTC". */
export function localTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const zoneNames = new Map<string, string>();

/**
 * Canonical IANA name of a zone as Intl spells it ("utc" → "UTC", "europe/berlin" →
 * "Europe/Berlin"); `undefined` or `""` means the local zone.
 * @throws ErrIncorrect (code `ERR_INCORRECT`) naming the zone when Intl does not know it.
 */
export function resolveTimeZone(name?: string): string {
  if (name === undefined || name === '') return localTimeZone();
  const known = zoneNames.get(name);
  if (known !== undefined) return known;
  let canonical: string;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    throw ErrIncorrect.with(
      `unknown time zone ${JSON.stringify(name)} (expected an IANA name such as "Europe/Berlin" or "UTC")`,
    );
  }
  zoneNames.set(name, canonical);
  return canonical;
}

/** Per-day cache entry: a constant offset, or the one change inside that UTC day. */
type DayOffsets = number | { readonly at: number; readonly before: number; readonly after: number };

/** Day entries kept per zone before the cache is reset (about 22 years of days). */
const DAY_CACHE_LIMIT = 8192;

const calendars = new Map<string, ZoneCalendar>();

/**
 * Wall-clock view of one IANA zone. Obtain it with {@link ZoneCalendar.of}; instances are shared
 * and cache the zone's offsets, so repeated evaluation (every minute, or a year-long preview)
 * costs about one Intl call per UTC day.
 */
export class ZoneCalendar {
  /** Canonical zone name. */
  readonly zone: string;
  readonly #format: Intl.DateTimeFormat;
  readonly #days = new Map<number, DayOffsets>();
  // the last raw lookup: neighbouring days share their boundary instant
  #rawAt = Number.NaN;
  #rawOffset = 0;

  private constructor(zone: string) {
    this.zone = zone;
    this.#format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /**
   * The shared calendar of `zone` (`undefined`/`""` = the local zone).
   * @throws ErrIncorrect when the zone is unknown.
   */
  static of(zone?: string): ZoneCalendar {
    const name = resolveTimeZone(zone);
    let cal = calendars.get(name);
    if (cal === undefined) {
      cal = new ZoneCalendar(name);
      calendars.set(name, cal);
    }
    return cal;
  }

  /** Milliseconds to add to the instant `ms` to get this zone's wall clock (e.g. +3600000 for CET). */
  offsetAt(ms: number): number {
    const day = Math.floor(ms / DAY_MS);
    let entry = this.#days.get(day);
    if (entry === undefined) {
      entry = this.#computeDay(day);
      if (this.#days.size >= DAY_CACHE_LIMIT) this.#days.clear();
      this.#days.set(day, entry);
    }
    if (typeof entry === 'number') return entry;
    return ms < entry.at ? entry.before : entry.after;
  }

  /** What the clocks of this zone show at instant `ms`. */
  wallClock(ms: number): WallClock {
    return wallClockFromLocalMs(ms + this.offsetAt(ms));
  }

  #computeDay(day: number): DayOffsets {
    let lo = day * DAY_MS;
    let hi = lo + DAY_MS;
    const before = this.#raw(lo);
    const after = this.#raw(hi);
    if (before === after) return before;
    // find the first second whose offset is `after`
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (this.#raw(mid) === before) lo = mid;
      else hi = mid;
    }
    // keep the day boundary probe memoised for the next day's computation
    this.#raw((day + 1) * DAY_MS);
    return { at: hi, before, after };
  }

  /** Offset straight from Intl: format the instant, read it back as UTC, subtract. */
  #raw(ms: number): number {
    const second = Math.floor(ms / 1000) * 1000;
    if (second === this.#rawAt) return this.#rawOffset;
    let year = 1970;
    let month = 1;
    let day = 1;
    let hour = 0;
    let minute = 0;
    let sec = 0;
    for (const part of this.#format.formatToParts(second)) {
      switch (part.type) {
        case 'year':
          year = Number(part.value);
          break;
        case 'month':
          month = Number(part.value);
          break;
        case 'day':
          day = Number(part.value);
          break;
        case 'hour':
          hour = Number(part.value) % 24; // some ICU versions print midnight as 24
          break;
        case 'minute':
          minute = Number(part.value);
          break;
        case 'second':
          sec = Number(part.value);
          break;
        // Separators and the rest: not part of the wall-clock fields.
        case 'literal':
        case 'era':
        case 'weekday':
        case 'dayPeriod':
        case 'fractionalSecond':
        case 'timeZoneName':
        case 'unknown':
        default: // a part type a newer runtime adds
          break;
      }
    }
    const offset = localMsFromFields(year, month, day, hour, minute, sec) - second;
    this.#rawAt = second;
    this.#rawOffset = offset;
    return offset;
  }
}
