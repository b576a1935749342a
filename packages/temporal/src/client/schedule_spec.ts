// Temporal's schedule spec read into ergo-ts's (`entities.workflows.schedules`): one interval
// (`{ every, offset? }`, durations as Temporal writes them: '2s', '1 minute', ms) or one cron
// expression. A cron expression is read as Temporal's server reads one — `CRON_TZ=`/`TZ=` zone,
// `@every <interval>[/<offset>]`, Temporal's macros (`@daily` is midnight, not Ergo's 03:10),
// 5 fields, 6 with a year, 7 with seconds and a year, month and weekday names, 0 for Sunday, a
// `# comment` — and rewritten into Ergo's cron (docs/cron.md) where both mean the same times.
// What has no exact equal here (calendars, several specs, seconds other than 0, a year, both day
// fields restricted — Temporal matches both, Ergo's cron either) is refused with
// ERR_TEMPORAL_UNSUPPORTED naming what is supported, never run at other times.

import type { ScheduleSpec } from '@ergo-ts/entities';
import { cronNextRun } from 'ergo-ts';

import { msOptionalToNumber, msToNumber, type Duration } from '../common/duration.js';
import { ErrTemporalIncorrect, ErrTemporalUnsupported } from '../common/errors.js';

/** Temporal's schedule spec (one interval or one cron expression here). */
export interface ScheduleSpecDescription {
  intervals?: { every: Duration; offset?: Duration }[];
  cronExpressions?: string[];
  calendars?: unknown[];
  timezone?: string;
  jitter?: Duration;
  startAt?: Date;
  endAt?: Date;
}

/** What this package reads of a Temporal schedule spec: named in every refusal. */
export const SUPPORTED_SPEC =
  'one interval ({ every, offset? }) or one cron expression: 5 fields, 6 with a year of *, 7 with seconds of 0 and a year of *, @every <interval>[/<offset>], @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, CRON_TZ=<zone> or TZ=<zone>, a # comment; day of month or day of week restricted, not both';

function unsupported(cron: string, why: string): Error {
  return ErrTemporalUnsupported.with(
    `schedule cron expression ${JSON.stringify(cron)}: ${why} (supported: ${SUPPORTED_SPEC})`,
  );
}

/** Temporal's macros, as its server reads them (midnight, minute 0), in Ergo's five fields. */
const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 7',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** The month field with names as numbers (`JAN` → 1). */
function months(field: string): string {
  return field.replace(/[a-z]{3}/gi, (n) => {
    const i = MONTHS.indexOf(n.toLowerCase());
    return i < 0 ? n : String(i + 1);
  });
}

/**
 * The day-of-week field in Ergo's numbering (Monday 1 … Sunday 7): names as numbers, Temporal's 0
 * for Sunday as 7 (a range from Sunday, `0-5`, as `7,1-5`).
 */
function weekdays(field: string, cron: string): string {
  const named = field.replace(/[a-z]{3}/gi, (n) => {
    const i = DAYS.indexOf(n.toLowerCase());
    return i < 0 ? n : String(i);
  });
  return named
    .split(',')
    .map((item) => {
      const m = /^(\d+)(?:-(\d+))?(\/\d+)?$/.exec(item);
      if (m === null) return item; // *, */s, nL, n#k: Ergo's cron reads or refuses them
      const [, a, b, step] = m;
      if (a !== '0') return item;
      if (step !== undefined) throw unsupported(cron, `a stepped range from Sunday (${item})`);
      if (b === undefined || b === '0') return '7';
      return b === '1' ? '7,1' : `7,1-${b}`;
    })
    .join(',');
}

/** The zone of a `CRON_TZ=`/`TZ=` prefix, and the rest. */
function zoneOf(text: string): { zone?: string; rest: string } {
  const m = /^\s*(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(text);
  return m === null ? { rest: text } : { zone: m[1]!, rest: m[2]! };
}

/**
 * A Temporal cron expression as Ergo's cron (or an `@every` interval, which the engine reads) and
 * its zone; throws ERR_TEMPORAL_UNSUPPORTED when the times would differ.
 */
export function cronOf(cron: string, timezone: string | undefined): { cron: string; timeZone?: string } {
  if (typeof cron !== 'string')
    throw ErrTemporalIncorrect.with(`schedule cron expression: a string, got ${typeof cron}`);
  const hash = cron.indexOf('#');
  const { zone, rest } = zoneOf(hash < 0 ? cron : cron.slice(0, hash));
  if (zone !== undefined && timezone !== undefined)
    throw ErrTemporalIncorrect.with(
      `schedule cron expression ${JSON.stringify(cron)}: a CRON_TZ= zone and spec.timezone both given (give one)`,
    );
  const timeZone = zone ?? timezone;
  const withZone = (c: string) => ({ cron: c, ...(timeZone === undefined ? {} : { timeZone }) });
  const fields = rest.trim().split(/\s+/);
  const head = fields[0]!.toLowerCase();
  if (head === '@every') return withZone(rest.trim());
  if (head.startsWith('@')) {
    const m = MACROS[head];
    if (m === undefined || fields.length !== 1) throw unsupported(cron, `unknown shorthand ${fields[0]}`);
    return withZone(m);
  }
  let f = fields;
  if (f.length === 7) {
    if (f[0] !== '0') throw unsupported(cron, `a seconds field other than 0 (${f[0]})`);
    f = f.slice(1);
  }
  if (f.length === 6) {
    if (f[5] !== '*') throw unsupported(cron, `a year field other than * (${f[5]})`);
    f = f.slice(0, 5);
  }
  if (f.length !== 5) throw unsupported(cron, `${fields.length} fields`);
  const [minute, hour, dom, month, dow] = f as [string, string, string, string, string];
  // Temporal matches a day when both fields match; Ergo's cron (as Vixie's) when either does.
  if (dom !== '*' && dow !== '*') throw unsupported(cron, 'day of month and day of week both restricted');
  return withZone([minute, hour, dom, months(month), weekdays(dow, cron)].join(' '));
}

/**
 * Temporal's spec as ergo-ts's. Throws ERR_TEMPORAL_UNSUPPORTED for what has no exact equal,
 * ERR_TEMPORAL_INCORRECT for a duration it cannot read; the engine then checks the rest (an
 * interval under 1 s, an unknown zone: ERR_WORKFLOW_INCORRECT).
 */
export function specOf(s: ScheduleSpecDescription): ScheduleSpec {
  if (typeof s !== 'object' || s === null) throw ErrTemporalIncorrect.with('schedule spec: an object');
  if ((s.calendars?.length ?? 0) > 0 || (s.intervals?.length ?? 0) + (s.cronExpressions?.length ?? 0) !== 1)
    throw ErrTemporalUnsupported.with(`schedule spec: ${SUPPORTED_SPEC} per schedule (no calendars)`);
  const i = s.intervals?.[0];
  const jitterMs = msOptionalToNumber(s.jitter, 'jitter');
  const when: ScheduleSpec =
    i === undefined
      ? cronOf(s.cronExpressions![0]!, s.timezone)
      : {
          everyMs: msToNumber(i.every, 'interval every'),
          ...(i.offset === undefined ? {} : { offsetMs: msToNumber(i.offset, 'interval offset') }),
          ...(s.timezone === undefined ? {} : { timeZone: s.timezone }),
        };
  return {
    ...when,
    ...(jitterMs === undefined ? {} : { jitterMs }),
    ...(s.startAt === undefined ? {} : { startAt: s.startAt.getTime() }),
    ...(s.endAt === undefined ? {} : { endAt: s.endAt.getTime() }),
  };
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An `@every` duration as Temporal writes it (`2s`, `1h30m`, `1.5h`), in ms; undefined when it is not one. */
function everyMs(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}

/**
 * The first time strictly after `after` that a cron workflow's `cronSchedule` names (Temporal's
 * forms, as {@link cronOf} reads them): an `@every <interval>[/<offset>]` at the multiples of the
 * interval counted from the epoch, shifted by the offset (as Temporal's server counts them), any
 * other expression by Ergo's cron in its zone. Throws ERR_TEMPORAL_UNSUPPORTED / _INCORRECT as
 * `cronOf` does, or for an interval under 1 s.
 */
export function nextCronTime(cronSchedule: string, after: number): number {
  const { cron, timeZone } = cronOf(cronSchedule, undefined);
  const every = /^@every\s+(\S+?)(?:\/(\S+))?$/i.exec(cron);
  if (every !== null) {
    const ms = everyMs(every[1]!);
    const offset = every[2] === undefined ? 0 : everyMs(every[2]);
    if (ms === undefined || ms < 1_000 || offset === undefined)
      throw ErrTemporalIncorrect.with(
        `cronSchedule ${JSON.stringify(cronSchedule)}: @every <interval>[/<offset>] with an interval of 1s or more ("@every 2s", "@every 1h30m/15m")`,
      );
    return (Math.floor((after - offset) / ms) + 1) * ms + offset;
  }
  const next = cronNextRun(cron, after, timeZone);
  if (next === null)
    throw ErrTemporalIncorrect.with(`cronSchedule ${JSON.stringify(cronSchedule)}: no time in eight years`);
  return next.getTime();
}
