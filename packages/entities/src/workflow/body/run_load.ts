// How many runs a member carries at once before it refuses new instances (issue 89's overload
// goal). A member offered more than it can do admitted every start: each new run's journal writes,
// steps and replies shared the event loop and the store with all the others, so every run took
// longer as more came, and in an open-loop spike at twice the capacity only 38 % of capacity
// completed within the spike (the rest minutes later, all together): processor sharing, not a
// queue. Bounding the runs in progress keeps each one's pace; the excess start is refused at once,
// before anything is written (ERR_ENTITY_OVERLOADED with a retry-after the client waits out within
// its timeout), so the member completes at its capacity while offered more.
//
// A run counts while it has work to do: from its start (or resume) to its end, but not while its
// body waits on something outside the member — a sleep, a signal, an update or a select
// (context.ts `#oneWait`) — so a cluster of long-lived instances waiting for events is not full.
// Only new instances are refused: a running one's wake, a resume or a hand-off is never held up.

import { describeThrown } from '../../contract/thrown.js';
import { ErrWorkflowIncorrect } from '../model/errors.js';
import type { RunHost } from '../model/run_host.js';
import type { WorkflowLoadStats } from '../../inspect/stats.js';
import { Pace } from './pace.js';

/** The runs a member carries at once unless `maxActiveRuns` says otherwise. */
export const DEFAULT_MAX_ACTIVE_RUNS = 64;

/** The starts a member holds waiting for room unless `maxWaitingStarts` says otherwise. */
export const DEFAULT_MAX_WAITING_STARTS = 1000;

/**
 * How long room given to a start stays kept for its run (ms): the activation reads the record,
 * the start writes it and the run begins within it, or (a repeat of a start, a start refused by
 * its own checks) no run comes and the room goes to the next.
 */
export const ROOM_KEPT_MS = 5000;

interface Waiting {
  readonly key: string;
  /** When (performance.now()) its caller stops waiting for the start: its room is kept no longer. */
  readonly until: number;
  readonly admitted: (room: boolean) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * One member's count of runs with work to do, the room kept for starts admitted whose run has not
 * begun yet, and the line of starts waiting for room, first come first served.
 */
export class RunLoad {
  readonly limit: number;
  readonly maxWaiting: number;
  #active = 0;
  /** Room given to admitted starts (by instance), until their run begins, ROOM_KEPT_MS pass or their caller's time ends. */
  readonly #kept = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #line: Waiting[] = [];
  /** The pace runs leave the count at (an end or a wait). */
  readonly #pace = new Pace();

  readonly #keptMs: number;
  /** Starts given room at once, given room after waiting in line, and refused (since the start). */
  #admitted = 0;
  #held = 0;
  #refused = 0;

  constructor(limit: number, maxWaiting: number = DEFAULT_MAX_WAITING_STARTS, keptMs: number = ROOM_KEPT_MS) {
    this.limit = limit;
    this.maxWaiting = maxWaiting;
    this.#keptMs = keptMs;
  }

  /** Runs with work to do now. */
  get active(): number {
    return this.#active;
  }

  /** Starts waiting for room now. */
  get waiting(): number {
    return this.#line.length;
  }

  #room(): boolean {
    return this.#active + this.#kept.size < this.limit;
  }

  /** A run began work (started, resumed, or back from a wait): the room kept for it is its own now. */
  enter(key?: string): void {
    this.#active++;
    if (key === undefined) return;
    const kept = this.#kept.get(key);
    if (kept === undefined) return;
    clearTimeout(kept);
    this.#kept.delete(key);
  }

  /** A run stopped working (ended, or waits on something outside the member). */
  leave(now: number = performance.now()): void {
    if (this.#active > 0) this.#active--;
    this.#pace.tick(now);
    this.#admitWaiting();
  }

  /**
   * About how long `ahead` starts before a new one take to get room at the pace runs left lately
   * (Little's law), in ms (50..30,000): a refused start's retry-after.
   */
  retryAfter(ahead: number = this.#line.length + 1, now: number = performance.now()): number {
    const perRun = 1000 / Math.max(1, this.#pace.perSecond(now));
    return Math.min(30_000, Math.max(50, Math.round(perRun * Math.max(ahead, this.#active))));
  }

  /** What an operator reads of this count now (`EntitiesStats.workflowLoad`). */
  snapshot(now: number = performance.now()): RunLoadSnapshot {
    return {
      activeRuns: this.#active,
      maxActiveRuns: this.limit,
      startsWaiting: this.#line.length,
      maxWaitingStarts: this.maxWaiting,
      roomKept: this.#kept.size,
      startsAdmitted: this.#admitted,
      startsHeld: this.#held,
      startsRefused: this.#refused,
      retryAfterMs: this.overloaded(now) ?? 0,
      endsPerSecond: this.#pace.perSecond(now),
    };
  }

  /** When the member has no room for a new run: a new start's retry-after (ms); else undefined. */
  overloaded(now: number = performance.now()): number | undefined {
    return this.#room() && this.#line.length === 0 ? undefined : this.retryAfter(this.#line.length + 1, now);
  }

  /**
   * Room for a new run of instance `key`: undefined when given at once (or kept for `key` already,
   * its start asked again); else a promise of
   * undefined once given (in the order asked) or of a retry-after (ms) when none came within
   * `waitMs`, or at once when the line is full or would not reach it within `waitMs`. `leftMs`:
   * what is left of the caller's own time, when known — the room given is kept for the run at
   * most that long (a start whose caller gave up is asked again by no one: in a failover the room
   * of starts given it as the store went away stayed kept, for no one, seconds after it came back).
   */
  admit(
    key: string,
    waitMs: number,
    now: number = performance.now(),
    leftMs: number = Infinity,
  ): Promise<number | undefined> | undefined {
    const until = now + leftMs;
    // Its room is kept already (a start asked again after its activation failed, say the store
    // unreachable in a failover): the room is its own, not a place at the back of the line behind
    // starts that cannot use it. Queued, it held the room for nothing until it lapsed.
    if ((this.#room() && this.#line.length === 0) || this.#kept.has(key)) {
      this.#keep(key, until, now);
      this.#admitted++;
      return undefined;
    }
    const ahead = this.#line.length;
    const pace = this.#pace.perSecond(now);
    if (ahead >= this.maxWaiting || waitMs <= 0 || (pace > 0 && (1000 * ahead) / pace > waitMs)) {
      this.#refused++;
      return Promise.resolve(this.retryAfter(ahead + 1, now));
    }
    return new Promise((resolve) => {
      const w: Waiting = {
        key,
        until,
        admitted: (room) => {
          if (room) this.#held++;
          else this.#refused++;
          resolve(room ? undefined : this.retryAfter(this.#line.length + 1));
        },
      };
      w.timer = setTimeout(() => {
        const i = this.#line.indexOf(w);
        if (i >= 0) this.#line.splice(i, 1);
        w.admitted(false);
      }, waitMs);
      w.timer.unref(); // the caller's own deadline keeps its process up, not this line
      this.#line.push(w);
    });
  }

  /** Keeps room for `key`'s run for {@link ROOM_KEPT_MS}, or until `until` when that is sooner. */
  #keep(key: string, until: number, now: number = performance.now()): void {
    const old = this.#kept.get(key);
    if (old !== undefined) clearTimeout(old);
    const timer = setTimeout(
      () => {
        this.#kept.delete(key);
        this.#admitWaiting();
      },
      Math.max(0, Math.min(this.#keptMs, until - now)),
    );
    timer.unref();
    this.#kept.set(key, timer);
  }

  /** Gives room to the first starts in line while there is some. */
  #admitWaiting(): void {
    while (this.#line.length > 0 && this.#room()) {
      const w = this.#line.shift()!;
      clearTimeout(w.timer);
      this.#keep(w.key, w.until);
      w.admitted(true);
    }
  }
}

/** The run bound's part of {@link WorkflowLoadStats} (see there for each field). */
export type RunLoadSnapshot = Omit<WorkflowLoadStats, 'stepsRunning' | 'stepsWaiting' | 'maxConcurrentSteps'>;

/** Each runtime's count (registered by the workflow feature: operator/feature.ts). */
const registry = new WeakMap<object, RunLoad>();

/**
 * Reads and checks option `name` of `options` (`maxActiveRuns`, `maxWaitingStarts`): an integer
 * `min`..2^31-1, or undefined (`dflt`). Anything else, or a value whose reading throws (a getter,
 * a Proxy's trap): ERR_WORKFLOW_INCORRECT.
 */
export function checkRunLoadOption(options: object, name: string, dflt: number, min: number): number {
  let v: unknown;
  try {
    v = (options as Record<string, unknown>)[name];
  } catch (err) {
    throw ErrWorkflowIncorrect.with(`${name} could not be read: ${describeThrown(err)}`);
  }
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 2 ** 31 - 1)
    throw ErrWorkflowIncorrect.with(`${name} must be an integer in ${min}..2^31-1, got ${describeThrown(v)}`);
  return v;
}

/** Gives runtime `rt` its count (`limit` runs with work to do; `maxWaiting` starts held for room). */
export function registerRunLoad(rt: object, limit: number, maxWaiting: number): void {
  registry.set(rt, new RunLoad(limit, maxWaiting));
}

/** The count of runtime `rt` (undefined: a runtime without the workflow feature). */
export function runLoadOf(rt: object): RunLoad | undefined {
  return registry.get(rt);
}

/** How an instance is named in its member's kept room: its kind and key. */
export function admissionKey(kind: string, key: string): string {
  return `${kind}\u0000${key}`;
}

/** A run dropped while counted (a path that forgot its end) would hold its place forever: given back here. */
const dropped = new FinalizationRegistry<RunShare>((share) => share.end());

/**
 * One run's place in its member's count: working from its start (or resume) until it ends, but
 * not while it is away — its body waits on a sleep, a signal, an update or a select, or a step
 * attempt of it waits for its slot, its permit or its function (steps have their own bound,
 * step_permits.ts; a run waiting on them does no work of the member's). Each path that ends a run
 * (its end, its body's end, a hand-off) may call `end()`.
 */
export class RunShare {
  readonly #load: RunLoad | undefined;
  /** The instance, until its run first works (it takes the room kept for its start). */
  #key: string | undefined;
  #working = false;
  #away = 0;
  #ended = false;

  /** The share of run `owner` of `host`'s instance, working from the start when `working`. */
  constructor(host: Pick<RunHost, 'entities' | 'spec' | 'id'>, owner: object, working: boolean) {
    this.#load = registry.get(host.entities);
    if (this.#load === undefined || !working) {
      this.#ended = true;
      return;
    }
    this.#key = admissionKey(host.spec.name, host.id);
    dropped.register(owner, this);
    this.#settle();
  }

  /** The run waits on something that is not its member's work (until {@link back}). */
  away(): void {
    this.#away++;
    this.#settle();
  }

  back(): void {
    if (this.#away > 0) this.#away--;
    this.#settle();
  }

  /** The run ended (or its body did): no longer counted. */
  end(): void {
    this.#ended = true;
    this.#settle();
  }

  #settle(): void {
    const working = !this.#ended && this.#away === 0;
    if (working === this.#working || this.#load === undefined) return;
    this.#working = working;
    if (working) {
      this.#load.enter(this.#key);
      this.#key = undefined;
    } else this.#load.leave();
  }
}
