// What a workflow schedule is (Temporal's Schedules, DBOS's scheduled workflows): when it fires —
// a cron spec in an IANA time zone or a fixed interval (`everyMs`, or `@every 1h30m/15m` in the
// cron string, as Temporal writes one), with a deterministic jitter — and what it does at each
// nominal time — start one instance of a workflow kind under the id
// `<scheduleId>-<nominal time, ISO 8601>`, so that starting a time again (after a crash, a
// takeover, a backfill over it) finds the instance already there and starts nothing. This file is
// the pure part: the options, their checks (bad input: ERR_WORKFLOW_INCORRECT) and the time
// arithmetic; the schedule's entity (schedules_entity.ts) keeps the cursor and acts.

import { cronNextRun } from 'ergo-ts';

import { MAX_KEY_BYTES } from '../../contract/ids.js';
import { describeThrown } from '../../contract/thrown.js';
import { ErrWorkflowIncorrect } from '../model/errors.js';

/**
 * What a schedule does when a run is due while an earlier run of it still runs (Temporal's
 * `ScheduleOverlapPolicy`): `skip` it (the default, as Temporal's), keep one (`bufferOne`, the
 * later ones skipped) or all (`bufferAll`) to start when the running one ended, cancel the running
 * one first (`cancelOther`: its compensations run), terminate it first (`terminateOther`: as
 * `handle.terminate`, it ends at once and no compensation runs), or start it anyway (`allowAll`).
 */
export type OverlapPolicy = 'skip' | 'bufferOne' | 'bufferAll' | 'cancelOther' | 'terminateOther' | 'allowAll';

/** The overlap policies, in their documented order. */
export const OVERLAP_POLICIES: readonly OverlapPolicy[] = Object.freeze([
  'skip',
  'bufferOne',
  'bufferAll',
  'cancelOther',
  'terminateOther',
  'allowAll',
]);

/** When a schedule's runs are due: exactly one of `cron` and `everyMs`. */
export interface ScheduleSpec {
  /**
   * A cron spec (five fields or a macro, docs/cron.md), evaluated in `timeZone`; or an interval as
   * Temporal writes it, `@every <interval>[/<offset>]` (`@every 2s`, `@every 1h30m`, `@every 1d/2h`:
   * numbers with the units ms, s, m, h, d, an optional `# comment` after), kept as `everyMs` and
   * `offsetMs`.
   */
  readonly cron?: string;
  /** An interval in ms (≥ 1000): runs at every multiple of it since the epoch, plus `offsetMs`. */
  readonly everyMs?: number;
  /** With `everyMs`: the phase, 0 ≤ offsetMs < everyMs (default 0). */
  readonly offsetMs?: number;
  /** An IANA time zone for `cron` (default `'UTC'`). */
  readonly timeZone?: string;
  /** Each run starts up to this many ms after its nominal time, fixed per time (default 0). */
  readonly jitterMs?: number;
  /** No run before this time (epoch ms). */
  readonly startAt?: number;
  /** No run after this time (epoch ms). */
  readonly endAt?: number;
}

/** How a schedule behaves (Temporal's `SchedulePolicies`). */
export interface SchedulePolicies {
  /** Default `'skip'`. */
  readonly overlap?: OverlapPolicy;
  /**
   * After downtime (no member ran, or the schedule's owner was being taken over), runs whose
   * nominal time is at most this old are still started; older ones are skipped and counted as
   * `missed`. Default one year (Temporal's); at least 1000 ms.
   */
  readonly catchupWindowMs?: number;
}

/** A schedule's definition as its entity keeps it (checked). */
export interface ScheduleDef {
  /** The workflow kind's name. */
  readonly workflow: string;
  /** The input of every run. */
  readonly input: unknown;
  readonly spec: Required<Pick<ScheduleSpec, 'timeZone' | 'jitterMs'>> & ScheduleSpec;
  readonly overlap: OverlapPolicy;
  readonly catchupWindowMs: number;
  /**
   * The runs' workflow id before the time (Temporal's action `workflowId`): runs are
   * `<workflowId>-<time>`; absent, `<scheduleId>-<time>`.
   */
  readonly workflowId?: string;
}

/** Temporal's default catch-up window: one year. */
export const DEFAULT_CATCHUP_WINDOW_MS = 365 * 24 * 3_600_000;
/** The shortest interval. */
export const MIN_EVERY_MS = 1000;
/** A schedule id's longest length: room left in a workflow key for `-` and the time. */
export const MAX_SCHEDULE_ID_BYTES = MAX_KEY_BYTES - 32;

function incorrect(what: string): Error {
  return ErrWorkflowIncorrect.with(`schedule: ${what}`);
}

/** Throws ERR_WORKFLOW_INCORRECT unless `id` is a usable schedule id. */
export function checkScheduleId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id === '' || Buffer.byteLength(id, 'utf8') > MAX_SCHEDULE_ID_BYTES)
    throw incorrect(`an id is a string of 1..${MAX_SCHEDULE_ID_BYTES} UTF-8 bytes, got ${describeThrown(id)}`);
}

/**
 * Throws ERR_WORKFLOW_INCORRECT unless `id` is usable as the runs' workflow id before the time
 * (the same bound as a schedule id: room left in a key for `-` and the time).
 */
export function checkRunWorkflowId(id: unknown): string {
  if (typeof id !== 'string' || id === '' || Buffer.byteLength(id, 'utf8') > MAX_SCHEDULE_ID_BYTES)
    throw incorrect(
      `workflowId (the runs' id before "-<time>") is a string of 1..${MAX_SCHEDULE_ID_BYTES} UTF-8 bytes, got ${describeThrown(id)}`,
    );
  return id;
}

function checkTime(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw incorrect(`${what} is an epoch-ms integer ≥ 0, got ${describeThrown(v)}`);
  return v;
}

/** Throws ERR_WORKFLOW_INCORRECT unless `zone` is an IANA time zone this process knows. */
export function checkTimeZone(zone: unknown): string {
  if (typeof zone !== 'string' || zone === '')
    throw incorrect(`timeZone is an IANA zone name, got ${describeThrown(zone)}`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw incorrect(`unknown time zone ${JSON.stringify(zone)}`);
  }
  return zone;
}

/** The milliseconds of one unit of an `@every` interval. */
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** The ms of a duration as Temporal writes one (`2s`, `1h30m`, `1.5h`, `1d`); throws when it is none. */
function durationMs(text: string, what: string, cron: string): number {
  if (!DURATION.test(text))
    throw incorrect(
      `spec.cron ${JSON.stringify(cron)}: the ${what} ${JSON.stringify(text)} is not a duration (numbers with the units ms, s, m, h, d: "90s", "1h30m")`,
    );
  let sum = 0;
  for (const [, n, unit] of text.matchAll(PART)) sum += Number(n) * UNIT_MS[unit!]!;
  const ms = Math.round(sum); // 1.1s is 1100.0000000000002 in floating point
  if (Math.abs(sum - ms) > 1e-6 || !Number.isSafeInteger(ms))
    throw incorrect(
      `spec.cron ${JSON.stringify(cron)}: the ${what} ${JSON.stringify(text)} is not a whole number of ms`,
    );
  return ms;
}

/**
 * The interval of a cron string written as Temporal's `@every <interval>[/<offset>]` (an optional
 * `# comment` after), or undefined for any other cron string; throws ERR_WORKFLOW_INCORRECT for a
 * malformed one.
 */
export function everyOf(cron: string): { everyMs: number; offsetMs: number } | undefined {
  const hash = cron.indexOf('#');
  const fields = (hash < 0 ? cron : cron.slice(0, hash)).trim().split(/\s+/);
  if (fields[0]?.toLowerCase() !== '@every') return undefined;
  if (fields.length !== 2)
    throw incorrect(
      `spec.cron ${JSON.stringify(cron)}: write an interval as "@every <interval>[/<offset>]" ("@every 2s", "@every 1h30m/15m")`,
    );
  const [every, offset, more] = fields[1]!.split('/');
  if (more !== undefined) throw incorrect(`spec.cron ${JSON.stringify(cron)}: one "/" at most, before the offset`);
  const everyMs = durationMs(every!, 'interval', cron);
  if (everyMs < MIN_EVERY_MS)
    throw incorrect(`spec.cron ${JSON.stringify(cron)}: the interval is at least ${MIN_EVERY_MS} ms, got ${everyMs}`);
  const offsetMs = offset === undefined ? 0 : durationMs(offset, 'offset', cron);
  if (offsetMs >= everyMs)
    throw incorrect(`spec.cron ${JSON.stringify(cron)}: the offset is shorter than the interval, got ${offsetMs} ms`);
  return { everyMs, offsetMs };
}

/** The spec checked, with its defaults; throws ERR_WORKFLOW_INCORRECT naming the field at fault. */
export function checkSpec(s: unknown): ScheduleDef['spec'] {
  if (typeof s !== 'object' || s === null) throw incorrect('spec is an object with cron or everyMs');
  const spec = s as ScheduleSpec;
  const hasCron = spec.cron !== undefined;
  const hasEvery = spec.everyMs !== undefined;
  if (hasCron === hasEvery) throw incorrect('spec has exactly one of cron and everyMs');
  const timeZone = checkTimeZone(spec.timeZone ?? 'UTC');
  const interval = typeof spec.cron === 'string' ? everyOf(spec.cron) : undefined;
  if (interval !== undefined) {
    if (spec.offsetMs !== undefined)
      throw incorrect(`spec.offsetMs goes with everyMs only (write the offset as "@every <interval>/<offset>")`);
    return checkSpec({ ...spec, cron: undefined, ...interval });
  }
  if (hasCron) {
    if (typeof spec.cron !== 'string') throw incorrect(`spec.cron is a string, got ${describeThrown(spec.cron)}`);
    if (spec.offsetMs !== undefined) throw incorrect('spec.offsetMs goes with everyMs only');
    let next: Date | null;
    try {
      next = cronNextRun(spec.cron, 0, timeZone);
    } catch (err) {
      throw incorrect(`spec.cron ${JSON.stringify(spec.cron)}: ${(err as Error).message}`);
    }
    if (next === null) throw incorrect(`spec.cron ${JSON.stringify(spec.cron)} never runs`);
  } else {
    const every = spec.everyMs;
    if (typeof every !== 'number' || !Number.isSafeInteger(every) || every < MIN_EVERY_MS)
      throw incorrect(`spec.everyMs is an integer ≥ ${MIN_EVERY_MS}, got ${describeThrown(every)}`);
    const offset = spec.offsetMs ?? 0;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || offset >= every)
      throw incorrect(`spec.offsetMs is an integer in 0..everyMs-1, got ${describeThrown(offset)}`);
  }
  const jitterMs = spec.jitterMs ?? 0;
  if (typeof jitterMs !== 'number' || !Number.isSafeInteger(jitterMs) || jitterMs < 0)
    throw incorrect(`spec.jitterMs is an integer ≥ 0, got ${describeThrown(jitterMs)}`);
  const startAt = checkTime(spec.startAt, 'spec.startAt');
  const endAt = checkTime(spec.endAt, 'spec.endAt');
  if (startAt !== undefined && endAt !== undefined && endAt < startAt) throw incorrect('spec.endAt is before startAt');
  return {
    ...(hasCron ? { cron: spec.cron! } : { everyMs: spec.everyMs!, offsetMs: spec.offsetMs ?? 0 }),
    timeZone,
    jitterMs,
    ...(startAt === undefined ? {} : { startAt }),
    ...(endAt === undefined ? {} : { endAt }),
  };
}

/** Throws ERR_WORKFLOW_INCORRECT unless `p` is an overlap policy. */
export function checkOverlap(p: unknown, what = 'overlap'): OverlapPolicy {
  if (!OVERLAP_POLICIES.includes(p as OverlapPolicy))
    throw incorrect(`${what} is one of ${OVERLAP_POLICIES.join(', ')}, got ${describeThrown(p)}`);
  return p as OverlapPolicy;
}

/** The policies checked, with their defaults. */
export function checkPolicies(p: unknown): Pick<ScheduleDef, 'overlap' | 'catchupWindowMs'> {
  if (p === undefined) p = {};
  if (typeof p !== 'object' || p === null) throw incorrect('policies is an object');
  const { overlap = 'skip', catchupWindowMs = DEFAULT_CATCHUP_WINDOW_MS } = p as SchedulePolicies;
  if (typeof catchupWindowMs !== 'number' || !Number.isSafeInteger(catchupWindowMs) || catchupWindowMs < 1000)
    throw incorrect(`policies.catchupWindowMs is an integer ≥ 1000, got ${describeThrown(catchupWindowMs)}`);
  return { overlap: checkOverlap(overlap, 'policies.overlap'), catchupWindowMs };
}

/**
 * The first nominal time strictly after `after` (epoch ms) within the spec's start and end, or
 * undefined when there is none.
 */
export function nextNominal(spec: ScheduleDef['spec'], after: number): number | undefined {
  let from = after;
  if (spec.startAt !== undefined && from < spec.startAt) from = spec.startAt - 1;
  let t: number | undefined;
  if (spec.everyMs !== undefined) {
    const every = spec.everyMs;
    const offset = spec.offsetMs ?? 0;
    t = Math.floor((from - offset) / every) * every + offset + every;
  } else {
    const next = cronNextRun(spec.cron!, Math.max(0, from), spec.timeZone);
    t = next === null ? undefined : next.getTime();
  }
  if (t === undefined || (spec.endAt !== undefined && t > spec.endAt)) return undefined;
  return t;
}

/** How many nominal times lie in (`after`, `until`]: for counting the ones skipped as missed. */
export function countNominal(spec: ScheduleDef['spec'], after: number, until: number, cap = 100_000): number {
  if (until <= after) return 0;
  if (spec.everyMs !== undefined && spec.startAt === undefined && spec.endAt === undefined) {
    const offset = spec.offsetMs ?? 0;
    return Math.floor((until - offset) / spec.everyMs) - Math.floor((after - offset) / spec.everyMs);
  }
  let n = 0;
  for (let t = nextNominal(spec, after); t !== undefined && t <= until && n < cap; t = nextNominal(spec, t)) n++;
  return n;
}

/** The next `n` nominal times after `after`. */
export function upcoming(spec: ScheduleDef['spec'], after: number, n: number): number[] {
  const out: number[] = [];
  for (let t = nextNominal(spec, after); t !== undefined && out.length < n; t = nextNominal(spec, t)) out.push(t);
  return out;
}

/**
 * The jitter of nominal time `t` of schedule `id`: a hash of both, so every member (and every
 * retry after a crash) waits the same before starting it.
 */
export function jitterOf(id: string, t: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  let h = 0x811c9dc5;
  const s = `${id}@${t}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % (jitterMs + 1);
}

/**
 * The workflow id of a run at nominal time `t`: `<id>-<ISO 8601 time>` (milliseconds only when not
 * zero), as Temporal's `<workflowId>-<timestamp>`; `id` is the schedule's `workflowId`, else the
 * schedule id.
 */
export function runIdOf(id: string, t: number): string {
  const iso = new Date(t).toISOString();
  return `${id}-${t % 1000 === 0 ? iso.replace('.000Z', 'Z') : iso}`;
}
