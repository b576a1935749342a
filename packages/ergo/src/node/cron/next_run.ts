// The public seam over the cron engine for code that keeps its own schedule (durable reminders in
// @ergo-ts/entities store the spec and ask for the next run after each fire). The node's cron
// scheduler does not use it: it evaluates jobs minute by minute (service.ts); both apply the same
// rules (schedule.ts), so a spec means the same minutes here and in `node.cron()`.

import { ErrIncorrect } from '../../gen/errors.js';
import { ZoneCalendar } from './calendar.js';
import { nextRunTime } from './schedule.js';
import { parseCronSpec } from './spec.js';

/**
 * The first minute instant strictly after `after` at which a cron `spec` (five fields or a macro,
 * see docs/cron.md) runs in time zone `location` (an IANA name; `undefined` or `''`: the local
 * zone), or `null` when there is none within about eight years. Daylight-saving rules as
 * `node.cron()` applies them.
 *
 * @throws CronSpecError (code ERR_INCORRECT) for a bad spec; ErrIncorrect for an unknown zone or
 * an `after` that is not a valid time.
 *
 * @example
 * cronNextRun('*\/15 * * * *', Date.parse('2025-01-01T10:07:30Z'), 'UTC'); // 2025-01-01T10:15:00Z
 */
export function cronNextRun(spec: string, after: Date | number, location?: string): Date | null {
  const parsed = parseCronSpec(spec);
  const cal = ZoneCalendar.of(location);
  const t = typeof after === 'number' ? after : after instanceof Date ? after.getTime() : Number.NaN;
  if (!Number.isFinite(t))
    throw ErrIncorrect.with(`cronNextRun: after must be a Date or epoch ms, got ${String(after)}`);
  const next = nextRunTime(parsed, cal, Math.floor(t) + 1);
  return next === null ? null : new Date(next);
}
