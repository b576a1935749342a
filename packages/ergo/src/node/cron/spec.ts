// Crontab specs: parsing into a compiled matcher. A spec has five fields
// `minute hour day-of-month month day-of-week` (or is one of four macros); each field is a
// comma-separated list of items. Items by field (Ergo's extended syntax, Ergo's limits):
//
//   minute, hour, day-of-month   *   n   a-b   */s   a-b/s      (+ `L` in day-of-month)
//   month                        *   n   a-b   */s              (no stepped range, as in Ergo)
//   day-of-week                  *   n   a-b   nL   n#k         (1 = Monday … 7 = Sunday; no steps)
//
// `*` stands alone in its field. Day-of-month and day-of-week are combined with OR when both are
// restricted (anything but a bare `*`), otherwise the restricted one decides.

import { CronSpecError, type CronSpecField } from '../../gen/cron.js';
import { daysInMonth, type WallClock } from './calendar.js';

/** Ergo's macros: fixed, off-peak times rather than the classic "minute 0". */
export const CRON_MACROS: Readonly<Record<string, string>> = Object.freeze({
  '@hourly': '1 * * * *',
  '@daily': '10 3 * * *',
  '@weekly': '30 5 * * 1',
  '@monthly': '20 4 1 * *',
});

interface FieldRule {
  readonly name: CronSpecField;
  readonly min: number;
  readonly max: number;
  /** `*` + `/s` */
  readonly wildcardStep: boolean;
  /** `a-b/s` */
  readonly rangeStep: boolean;
  /** Forms the field accepts, for error messages. */
  readonly forms: string;
}

const MINUTE: FieldRule = {
  name: 'minute',
  min: 0,
  max: 59,
  wildcardStep: true,
  rangeStep: true,
  forms: '*, n, a-b, */s, a-b/s',
};
const HOUR: FieldRule = {
  name: 'hour',
  min: 0,
  max: 23,
  wildcardStep: true,
  rangeStep: true,
  forms: '*, n, a-b, */s, a-b/s',
};
const DAY_OF_MONTH: FieldRule = {
  name: 'day-of-month',
  min: 1,
  max: 31,
  wildcardStep: true,
  rangeStep: true,
  forms: '*, n, a-b, */s, a-b/s, L',
};
const MONTH: FieldRule = {
  name: 'month',
  min: 1,
  max: 12,
  wildcardStep: true,
  rangeStep: false,
  forms: '*, n, a-b, */s',
};
const DAY_OF_WEEK: FieldRule = {
  name: 'day-of-week',
  min: 1,
  max: 7,
  wildcardStep: false,
  rangeStep: false,
  forms: '*, n, a-b, nL, n#k',
};

const RANGE = /^(\d+)-(\d+)(?:\/(.*))?$/;
const LAST_WEEKDAY = /^(\d+)L$/;
const NTH_WEEKDAY = /^(\d+)#(\d+)$/;
const NUMBER = /^\d+$/;

/** What one field compiles to. `restricted` is false only for a bare `*`. */
interface ParsedField {
  restricted: boolean;
  /** `values[n] === 1` when value n is listed (index = the field's value). */
  values: Uint8Array;
  /** day-of-month `L` */
  lastDay: boolean;
  /** day-of-week `nL`: bit n set for weekday n */
  lastWeekdays: number;
  /** day-of-week `n#k`: `nth[n]` has bit k set */
  nth: Uint8Array;
}

/**
 * A compiled spec. Immutable; `matches` is allocation-free and is what both the live scheduler
 * and the previews evaluate.
 */
export class CronSpec {
  /** The spec as given. */
  readonly source: string;
  /** The five fields after macro expansion, single-spaced. */
  readonly expanded: string;
  /**
   * True when the minute or hour field starts with `*` (a bare star or a stepped star; `@hourly` too): such a job
   * recurs within the day and follows real time across a DST fall-back, while a job at fixed
   * times runs once per wall-clock minute (see schedule.ts).
   */
  readonly followsRealTime: boolean;
  readonly #minute: ParsedField;
  readonly #hour: ParsedField;
  readonly #dom: ParsedField;
  readonly #month: ParsedField;
  readonly #dow: ParsedField;
  /** For each minute of the day, the first matching minute of the day at or after it (1440 = none). */
  readonly #nextTimeOfDay: Int16Array;

  /** @internal use {@link parseCronSpec}. */
  constructor(source: string, expanded: string, fields: readonly ParsedField[], followsRealTime: boolean) {
    this.source = source;
    this.expanded = expanded;
    this.followsRealTime = followsRealTime;
    [this.#minute, this.#hour, this.#dom, this.#month, this.#dow] = fields as [
      ParsedField,
      ParsedField,
      ParsedField,
      ParsedField,
      ParsedField,
    ];
    const next = new Int16Array(1441);
    next[1440] = 1440;
    for (let m = 1439; m >= 0; m--) {
      next[m] = this.#hour.values[Math.floor(m / 60)] === 1 && this.#minute.values[m % 60] === 1 ? m : next[m + 1]!;
    }
    this.#nextTimeOfDay = next;
  }

  /** True when the spec selects this wall-clock minute. */
  matches(w: WallClock): boolean {
    return this.#minute.values[w.minute] === 1 && this.#hour.values[w.hour] === 1 && this.matchesDate(w);
  }

  /** True when the spec selects this calendar day (month, day-of-month, day-of-week). */
  matchesDate(w: WallClock): boolean {
    if (this.#month.values[w.month] !== 1) return false;
    const dom = this.#dom.restricted;
    const dow = this.#dow.restricted;
    if (dom && dow) return this.#domMatches(w) || this.#dowMatches(w);
    if (dom) return this.#domMatches(w);
    if (dow) return this.#dowMatches(w);
    return true;
  }

  /**
   * The first minute of the day (`hour * 60 + minute`) at or after `minuteOfDay` whose hour and
   * minute match, or 1440 when none is left today. Lets previews jump over non-matching minutes.
   */
  nextTimeOfDay(minuteOfDay: number): number {
    return this.#nextTimeOfDay[minuteOfDay]!;
  }

  toString(): string {
    return this.source;
  }

  #domMatches(w: WallClock): boolean {
    const f = this.#dom;
    return f.values[w.day] === 1 || (f.lastDay && w.day === daysInMonth(w.year, w.month));
  }

  #dowMatches(w: WallClock): boolean {
    const f = this.#dow;
    const wd = w.weekday;
    if (f.values[wd] === 1) return true;
    // the last `wd` of the month: no same weekday a week later in this month
    if ((f.lastWeekdays & (1 << wd)) !== 0 && w.day + 7 > daysInMonth(w.year, w.month)) return true;
    // the k-th `wd` of the month: days 1–7 hold the 1st, 8–14 the 2nd, ...
    return (f.nth[wd]! & (1 << (Math.floor((w.day - 1) / 7) + 1))) !== 0;
  }
}

/**
 * Compiles a spec: five whitespace-separated fields or a macro (`@hourly` = `1 * * * *`,
 * `@daily` = `10 3 * * *`, `@weekly` = `30 5 * * 1`, `@monthly` = `20 4 1 * *`).
 * @throws CronSpecError (code `ERR_INCORRECT`) naming the field and the token at fault.
 */
export function parseCronSpec(spec: string): CronSpec {
  if (typeof spec !== 'string')
    throw new CronSpecError(String(spec), undefined, undefined, 'the spec must be a string');
  const trimmed = spec.trim();
  let text = trimmed;
  if (trimmed.startsWith('@')) {
    const macro = CRON_MACROS[trimmed];
    if (macro === undefined) {
      throw new CronSpecError(
        spec,
        undefined,
        trimmed,
        `unknown macro ${trimmed} (supported: ${Object.keys(CRON_MACROS).join(', ')})`,
      );
    }
    text = macro;
  }
  const parts = text === '' ? [] : text.split(/\s+/);
  if (parts.length !== 5) {
    throw new CronSpecError(
      spec,
      undefined,
      undefined,
      `expected 5 fields (minute hour day-of-month month day-of-week) or a macro (${Object.keys(CRON_MACROS).join(', ')}), got ${parts.length}`,
    );
  }
  const rules = [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK];
  const fields = rules.map((rule, i) => parseField(spec, parts[i]!, rule));
  const followsRealTime = parts[0]!.startsWith('*') || parts[1]!.startsWith('*');
  return new CronSpec(spec, parts.join(' '), fields, followsRealTime);
}

function parseField(spec: string, text: string, rule: FieldRule): ParsedField {
  const field: ParsedField = {
    restricted: true,
    values: new Uint8Array(rule.max + 1),
    lastDay: false,
    lastWeekdays: 0,
    nth: new Uint8Array(8),
  };
  const items = text.split(',');
  const fail = (token: string, reason: string): never => {
    throw new CronSpecError(
      spec,
      rule.name,
      token,
      `${JSON.stringify(token)}${items.length > 1 ? ` (in ${JSON.stringify(text)})` : ''} ${reason}`,
    );
  };
  for (const item of items) {
    if (item === '') fail(item, 'is an empty list item');
    if (item === '*') {
      if (items.length > 1) fail(item, 'cannot be combined with other values');
      field.restricted = false;
      field.values.fill(1, rule.min);
      continue;
    }
    if (item.startsWith('*/')) {
      if (!rule.wildcardStep)
        fail(item, `is not supported: steps are not allowed in the ${rule.name} field (use ${rule.forms})`);
      const step = parseNumber(item.slice(2), 1, rule.max, 'step', item, fail);
      for (let v = rule.min; v <= rule.max; v += step) field.values[v] = 1;
      continue;
    }
    if (rule === DAY_OF_MONTH && item === 'L') {
      field.lastDay = true;
      continue;
    }
    if (rule === DAY_OF_WEEK) {
      const last = LAST_WEEKDAY.exec(item);
      if (last !== null) {
        field.lastWeekdays |= 1 << parseWeekday(last[1]!, item, fail);
        continue;
      }
      const nth = NTH_WEEKDAY.exec(item);
      if (nth !== null) {
        const weekday = parseWeekday(nth[1]!, item, fail);
        const k = parseNumber(nth[2]!, 1, 5, 'occurrence', item, fail);
        field.nth[weekday] |= 1 << k;
        continue;
      }
    }
    const range = RANGE.exec(item);
    if (range !== null) {
      const from = parseValue(range[1]!, rule, item, fail);
      const to = parseValue(range[2]!, rule, item, fail);
      let step = 1;
      if (range[3] !== undefined) {
        if (!rule.rangeStep)
          fail(item, `is not supported: stepped ranges are not allowed in the ${rule.name} field (use ${rule.forms})`);
        step = parseNumber(range[3], 1, rule.max, 'step', item, fail);
      }
      if (from > to) fail(item, `is an empty range: start ${from} is greater than end ${to}`);
      for (let v = from; v <= to; v += step) field.values[v] = 1;
      continue;
    }
    if (NUMBER.test(item)) {
      field.values[parseValue(item, rule, item, fail)] = 1;
      continue;
    }
    fail(item, `is not valid here (the ${rule.name} field takes ${rule.forms})`);
  }
  return field;
}

type Fail = (token: string, reason: string) => never;

function parseNumber(text: string, min: number, max: number, what: string, item: string, fail: Fail): number {
  if (!NUMBER.test(text)) return fail(item, `has a ${what} that is not a number: ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) return fail(item, `has ${what} ${n} out of range ${min}-${max}`);
  return n;
}

function parseValue(text: string, rule: FieldRule, item: string, fail: Fail): number {
  const n = Number(text);
  if (rule === DAY_OF_WEEK && n === 0)
    return fail(item, 'uses 0 for Sunday: days of the week are 1 (Monday) to 7 (Sunday)');
  if (n < rule.min || n > rule.max) {
    return fail(
      item,
      item === text ? `is out of range ${rule.min}-${rule.max}` : `has value ${n} out of range ${rule.min}-${rule.max}`,
    );
  }
  return n;
}

function parseWeekday(text: string, item: string, fail: Fail): number {
  return parseValue(text, DAY_OF_WEEK, item, fail);
}
