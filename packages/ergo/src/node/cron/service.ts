// The node's cron service: a table of jobs and one shared timer. The timer is set for the next
// wall-clock minute boundary; when it fires, every enabled job due at that minute (in its own
// zone, by the rules of schedule.ts) is started, and the timer is set again. There is no queue of
// precomputed runs: adding, removing, enabling or disabling a job simply changes what the next
// evaluation sees.
//
// Clock rules. A minute is evaluated at most once and never before it has begun on the clock:
// - a timer that fires early (Node timers may, by a millisecond) just waits for the boundary;
// - a clock set back (NTP step, manual change) makes the scheduler wait until the clock passes
//   the last minute it evaluated, so no minute runs twice;
// - a clock set forward, or an event loop blocked past a boundary, skips the minutes in between:
//   the jobs of a minute that is no longer "now" do not run late.

import type { Atom } from '../../gen/atom.js';
import {
  MessageCronFallback,
  type Cron,
  type CronInfo,
  type CronJob,
  type CronJobInfo,
  type CronNode,
  type CronSchedule,
} from '../../gen/cron.js';
import { validateAtomName, validateFallback } from '../../gen/validate.js';
import { ErrIncorrect, ErrTaken, ErrTooLarge, ErrUnknown, toError } from '../../gen/errors.js';
import type { ProcessFallback } from '../../gen/options.js';
import { MINUTE_MS, ZoneCalendar, floorToMinute } from './calendar.js';
import { PREVIEW_MAX_MS, isDueAt, nextRunTime, runTimes } from './schedule.js';
import { parseCronSpec, type CronSpec } from './spec.js';

/** The time source of the scheduler; tests inject a fake one. Handles with `unref()` are unref'd. */
export interface CronClock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Date.now and Node's timers. */
export const systemClock: CronClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Options of {@link CronService}. */
export interface CronServiceOptions {
  /** Jobs added by the constructor (which throws on the first invalid one, as addJob does). */
  jobs?: CronJob[];
  /** Time source (default {@link systemClock}). */
  clock?: CronClock;
}

/** A registered job with its compiled spec and bookkeeping. */
interface JobEntry {
  readonly name: Atom;
  readonly job: Readonly<CronJob>;
  readonly spec: CronSpec;
  readonly calendar: ZoneCalendar;
  readonly fallback: Required<ProcessFallback>;
  disabled: boolean;
  /** Minute instant of the latest run. */
  lastRun: number | null;
  lastErr: string;
}

const LOG_PREFIX = '(cron) ';

/**
 * The engine behind `node.cron()`. Lifecycle: construct (jobs validated), `start()` when the node
 * is up, `stop()` when it goes down; both are idempotent and a stopped service may be started
 * again. Management and preview methods work in any state; only runs need `start()`. Runs
 * already started when `stop()` is called finish and are still recorded.
 *
 * Every call into user code (action `do`/`info`, the fallback send) is guarded: a throw or a
 * rejection is recorded and logged, never propagated, never an unhandled rejection.
 */
export class CronService implements Cron {
  readonly #node: CronNode;
  readonly #clock: CronClock;
  readonly #jobs = new Map<Atom, JobEntry>();
  #running = false;
  #timer: unknown = undefined;
  /** The minute boundary the timer is set for. */
  #armedFor = 0;
  /** The latest minute evaluated. */
  #lastTick = Number.NEGATIVE_INFINITY;
  #clockBehindLogged = false;

  /**
   * @throws as {@link CronService.addJob} for an invalid or duplicate job in `options.jobs`.
   */
  constructor(node: CronNode, options: CronServiceOptions = {}) {
    this.#node = node;
    this.#clock = options.clock ?? systemClock;
    for (const job of options.jobs ?? []) this.addJob(job);
  }

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#running;
  }

  /** Starts ticking: the first evaluation is at the next minute boundary. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const now = this.#clock.now();
    // the current minute has partly passed: it is not evaluated
    this.#lastTick = Math.max(this.#lastTick, floorToMinute(now));
    // No timer while there is no job (a browser tab's node, most nodes): addJob arms it.
    if (this.#jobs.size > 0) this.#arm(now);
  }

  /** Stops ticking (runs in progress finish). Idempotent. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Registers and enables a job; it first runs at a minute boundary after this call.
   * @throws ErrTaken, CronSpecError, ErrIncorrect (see {@link Cron.addJob}).
   */
  addJob(job: CronJob): void {
    const entry = compileJob(job);
    if (this.#jobs.has(entry.name)) throw ErrTaken.with(`cron job ${JSON.stringify(entry.name)}`);
    this.#jobs.set(entry.name, entry);
    if (this.#running && this.#timer === undefined) {
      const now = this.#clock.now();
      // Minutes that passed with no job are not evaluated.
      this.#lastTick = Math.max(this.#lastTick, floorToMinute(now));
      this.#arm(now);
    }
  }

  /** Forgets a job; a run in flight finishes. @throws ErrUnknown. */
  removeJob(name: Atom): void {
    this.#entry(name);
    this.#jobs.delete(name);
  }

  /** Lets a disabled job run again (no-op when enabled). @throws ErrUnknown. */
  enableJob(name: Atom): void {
    this.#entry(name).disabled = false;
  }

  /** Stops a job's runs but keeps it registered (no-op when disabled). @throws ErrUnknown. */
  disableJob(name: Atom): void {
    this.#entry(name).disabled = true;
  }

  /** Snapshot: the next minute evaluated, the jobs due then, and every job's info. */
  info(): CronInfo {
    const next = this.#nextTick();
    const spool: Atom[] = [];
    const jobs: CronJobInfo[] = [];
    for (const entry of this.#jobs.values()) {
      if (!entry.disabled && isDueAt(entry.spec, entry.calendar, next)) spool.push(entry.name);
      jobs.push(this.#describe(entry, next));
    }
    return { next: new Date(next), spool, jobs };
  }

  /** Snapshot of one job. @throws ErrUnknown. */
  jobInfo(name: Atom): CronJobInfo {
    return this.#describe(this.#entry(name), this.#nextTick());
  }

  /**
   * Enabled jobs' run minutes in `[since floored to the minute, + durationMs)`, grouped by minute.
   * @throws ErrIncorrect (bad date or duration), ErrTooLarge (window over ten years).
   */
  schedule(since: Date, durationMs: number): CronSchedule[] {
    const [from, to] = previewWindow(since, durationMs);
    const byMinute = new Map<number, Atom[]>();
    for (const entry of this.#jobs.values()) {
      if (entry.disabled) continue;
      for (const t of runTimes(entry.spec, entry.calendar, from, to)) {
        const names = byMinute.get(t);
        if (names === undefined) byMinute.set(t, [entry.name]);
        else names.push(entry.name);
      }
    }
    return [...byMinute.keys()].sort((a, b) => a - b).map((t) => ({ time: new Date(t), jobs: byMinute.get(t)! }));
  }

  /**
   * One job's run minutes in the window, whether it is enabled or not.
   * @throws ErrUnknown, ErrIncorrect, ErrTooLarge.
   */
  jobSchedule(job: Atom, since: Date, durationMs: number): Date[] {
    const entry = this.#entry(job);
    const [from, to] = previewWindow(since, durationMs);
    return runTimes(entry.spec, entry.calendar, from, to).map((t) => new Date(t));
  }

  #entry(name: Atom): JobEntry {
    const entry = this.#jobs.get(name);
    if (entry === undefined) throw ErrUnknown.with(`cron job ${JSON.stringify(name)}`);
    return entry;
  }

  /** The next minute that will be evaluated. */
  #nextTick(): number {
    const next =
      this.#running && this.#timer !== undefined ? this.#armedFor : floorToMinute(this.#clock.now()) + MINUTE_MS;
    return Math.max(next, this.#lastTick + MINUTE_MS);
  }

  #describe(entry: JobEntry, from: number): CronJobInfo {
    let actionInfo: string;
    try {
      actionInfo = String(entry.job.action.info());
    } catch (e) {
      actionInfo = `(info() failed: ${toError(e).message})`;
    }
    const next = entry.disabled ? null : nextRunTime(entry.spec, entry.calendar, from);
    return {
      disabled: entry.disabled,
      name: entry.name,
      spec: entry.job.spec,
      location: entry.calendar.zone,
      actionInfo,
      lastRun: entry.lastRun === null ? null : new Date(entry.lastRun),
      lastErr: entry.lastErr,
      fallback: { ...entry.fallback },
      nextRun: next === null ? null : new Date(next),
    };
  }

  #arm(now: number): void {
    const next = floorToMinute(now) + MINUTE_MS;
    this.#armedFor = next;
    const handle = this.#clock.setTimeout(this.#onTimer, next - now);
    if (typeof handle === 'object' && handle !== null && typeof (handle as { unref?: unknown }).unref === 'function') {
      (handle as { unref(): void }).unref();
    }
    this.#timer = handle;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (!this.#running) return;
    let now = this.#armedFor;
    try {
      now = this.#clock.now();
      this.#tick(now);
    } catch (e) {
      this.#log('error', `${LOG_PREFIX}tick failed: %s`, toError(e));
    } finally {
      // an action may have stopped (and restarted) the service meanwhile
      if (this.#running && this.#timer === undefined && this.#jobs.size > 0) this.#arm(now);
    }
  };

  #tick(now: number): void {
    const minute = floorToMinute(now);
    if (minute <= this.#lastTick) {
      if (minute < this.#lastTick && !this.#clockBehindLogged) {
        this.#clockBehindLogged = true;
        this.#log(
          'warning',
          `${LOG_PREFIX}the clock went back to %s; jobs resume after %s`,
          new Date(now).toISOString(),
          new Date(this.#lastTick).toISOString(),
        );
      }
      return; // early timer, or the clock is behind: wait for a minute not evaluated yet
    }
    this.#clockBehindLogged = false;
    if (minute > this.#armedFor) {
      this.#log(
        'warning',
        `${LOG_PREFIX}skipped minutes %s to %s (clock moved forward or event loop blocked)`,
        new Date(this.#armedFor).toISOString(),
        new Date(minute - MINUTE_MS).toISOString(),
      );
    }
    this.#lastTick = minute;
    // decide first, then start: the jobs of one minute start together whatever their actions do
    const due: JobEntry[] = [];
    for (const entry of this.#jobs.values()) {
      if (!entry.disabled && isDueAt(entry.spec, entry.calendar, minute)) due.push(entry);
    }
    for (const entry of due) this.#run(entry, minute);
  }

  #run(entry: JobEntry, minute: number): void {
    entry.lastRun = minute;
    entry.lastErr = '';
    let result: void | Promise<void>;
    try {
      result = entry.job.action.do(entry.name, this.#node, new Date(minute));
    } catch (e) {
      this.#failed(entry, minute, e);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      // Promise.resolve adopts any thenable, and turns a throwing `then` into a rejection
      Promise.resolve(result).then(
        () => this.#succeeded(entry, minute),
        (e: unknown) => this.#failed(entry, minute, e),
      );
      return;
    }
    this.#succeeded(entry, minute);
  }

  #succeeded(entry: JobEntry, minute: number): void {
    this.#log(
      'debug',
      `${LOG_PREFIX}job %s has completed (action time: %s)`,
      entry.name,
      new Date(minute).toISOString(),
    );
  }

  #failed(entry: JobEntry, minute: number, reason: unknown): void {
    const err = toError(reason);
    // only the latest run speaks for lastErr (an older overlapping run may finish later)
    if (entry.lastRun === minute) entry.lastErr = err.message || String(err);
    this.#log(
      'error',
      `${LOG_PREFIX}job %s has failed (action time: %s): %s`,
      entry.name,
      new Date(minute).toISOString(),
      err,
    );
    const fallback = entry.fallback;
    if (!fallback.enable) return;
    try {
      this.#node.send(fallback.name, new MessageCronFallback(entry.name, fallback.tag, new Date(minute), err));
      this.#log('debug', `${LOG_PREFIX}sent fallback message to %s (job: %s)`, fallback.name, entry.name);
    } catch (e) {
      this.#log(
        'error',
        `${LOG_PREFIX}fallback process %s for job %s is unreachable: %s`,
        fallback.name,
        entry.name,
        toError(e),
      );
    }
  }

  /** Logging must never break the scheduler, whatever the node's log does. */
  #log(level: 'debug' | 'warning' | 'error', format: string, ...args: unknown[]): void {
    try {
      this.#node.log[level](format, ...args);
    } catch {
      // nowhere left to report it
    }
  }
}

/**
 * Validates a job and compiles its spec and zone.
 * @throws ErrIncorrect / CronSpecError as described on {@link Cron.addJob}.
 */
function compileJob(job: CronJob): JobEntry {
  if (job === null || typeof job !== 'object') throw ErrIncorrect.with('cron job: expected a CronJob object');
  const name = job.name;
  if (typeof name !== 'string' || name === '') throw ErrIncorrect.with('cron job: empty name');
  validateAtomName(name, 'cron job name');
  const action = job.action as Partial<CronJob['action']> | undefined;
  if (
    action === null ||
    typeof action !== 'object' ||
    typeof action.do !== 'function' ||
    typeof action.info !== 'function'
  ) {
    throw ErrIncorrect.with(`cron job ${JSON.stringify(name)}: the action must implement do() and info()`);
  }
  const spec = parseCronSpec(job.spec);
  const calendar = ZoneCalendar.of(job.location);
  const f =
    job.fallback === undefined
      ? undefined
      : validateFallback(job.fallback, `cron job ${JSON.stringify(name)}: fallback`);
  const fallback: Required<ProcessFallback> = { enable: f?.enable === true, name: f?.name ?? '', tag: f?.tag ?? '' };
  return {
    name,
    job: Object.freeze({ ...job }),
    spec,
    calendar,
    fallback,
    disabled: false,
    lastRun: null,
    lastErr: '',
  };
}

/** `[from, to)` of a preview. */
function previewWindow(since: Date, durationMs: number): [number, number] {
  const start = since instanceof Date ? since.getTime() : Number.NaN;
  if (!Number.isFinite(start)) throw ErrIncorrect.with('cron preview: `since` must be a valid Date');
  if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0) {
    throw ErrIncorrect.with('cron preview: the duration must be a finite number of milliseconds ≥ 0');
  }
  if (durationMs > PREVIEW_MAX_MS)
    throw ErrTooLarge.with(`cron preview: the window exceeds ten years (${PREVIEW_MAX_MS} ms)`);
  const from = floorToMinute(start);
  return [from, from + durationMs];
}
