// Temporal's `Duration`: a number of milliseconds or a string the `ms` package reads ('5s',
// '1 minute', '2h', '1.5 days'). Read here, without the `ms` package.

import { ErrTemporalIncorrect } from './errors.js';

/** A duration as Temporal takes one: milliseconds, or a string such as `'5s'`, `'1 minute'`, `'2h'`. */
export type Duration = number | StringValue;

/** A duration string (`'5s'`, `'1 minute'`): Temporal's `StringValue`. */
export type StringValue = string;

const UNITS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^(ms|msecs?|milliseconds?)$/, 1],
  [/^(s|secs?|seconds?)$/, 1_000],
  [/^(m|mins?|minutes?)$/, 60_000],
  [/^(h|hrs?|hours?)$/, 3_600_000],
  [/^(d|days?)$/, 86_400_000],
  [/^(w|weeks?)$/, 604_800_000],
  [/^(y|yrs?|years?)$/, 31_557_600_000],
];

/**
 * The duration `d` in milliseconds. Throws ERR_TEMPORAL_INCORRECT (naming `what`) for a negative
 * number or a string it cannot read.
 */
export function msToNumber(d: Duration, what = 'duration'): number {
  if (typeof d === 'number') {
    if (!Number.isFinite(d) || d < 0) throw ErrTemporalIncorrect.with(`${what}: ${d} is not a duration in ms`);
    return d;
  }
  if (typeof d === 'string') {
    const m = /^\s*(\d*\.?\d+)\s*([a-zA-Z]*)\s*$/.exec(d);
    if (m !== null) {
      const n = Number(m[1]);
      const unit = m[2]!.toLowerCase();
      if (unit === '') return n;
      for (const [re, f] of UNITS) if (re.test(unit)) return Math.round(n * f);
    }
  }
  throw ErrTemporalIncorrect.with(`${what}: cannot read ${JSON.stringify(d)} as a duration ('5s', '1 minute', or ms)`);
}

/** `msToNumber` for an optional duration. */
export function msOptionalToNumber(d: Duration | undefined, what = 'duration'): number | undefined {
  return d === undefined ? undefined : msToNumber(d, what);
}
