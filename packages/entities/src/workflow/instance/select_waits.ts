// The body's `ctx.select` waits, on the instance's side (engine.ts keeps one SelectWaits an
// activation; select.ts is the body's side). A select is decided inside a record change, so what
// it takes and the journal entry that says so are one write: at its start (a signal or update of a
// branch already kept: the first such branch in the order written wins), whenever a signal or an
// update is kept while it waits (`look`), when a child branch's child ended (`settle`), and when
// its sleep's deadline came (journaled as that branch's win). A decided select is never decided
// again; the activation's end forgets the waits (the next one replays and waits anew).

import type { EntitiesClock } from '../../contract/clock.js';
import { timerMs } from '../model/bounds.js';
import { withEntry, type WorkflowRecord } from '../model/record.js';
import type { RunRef } from '../model/run_host.js';
import type { SelectArm, SelectOutcome, SelectTake } from '../model/select_types.js';

/** @internal What the select waits need of their instance (engine.ts). */
export interface SelectWaitsHost {
  /** A signal or an update was kept (`look`): the run's handlers look too (body/handlers.ts). */
  kept?(): void;
  clock(): EntitiesClock;
  /** The instance's durable deadlines by operation number (its wake-up follows the earliest). */
  readonly deadlines: Map<number, number>;
  /** Queues `mutate` of the record for the next save, on behalf of `run`; resolves once saved. */
  commit(mutate: (rec: WorkflowRecord) => WorkflowRecord, run?: RunRef): Promise<void>;
  ended(): boolean;
}

interface SelectWaiter {
  readonly run: RunRef | undefined;
  readonly seq: number;
  readonly key: string;
  readonly arms: readonly SelectArm[];
  readonly until: number | undefined;
  settled: boolean;
  timer: unknown;
  /** Set once decided in a queued change: resolved once that change is saved. */
  outcome: SelectOutcome | undefined;
  resolve(v: SelectOutcome): void;
  reject(e: Error): void;
}

/** @internal The select waits of one activation of an instance (see the top of this file). */
export class SelectWaits {
  readonly #h: SelectWaitsHost;
  #waiters: SelectWaiter[] = [];

  constructor(host: SelectWaitsHost) {
    this.#h = host;
  }

  get length(): number {
    return this.#waiters.length;
  }

  /** What the waits wait for (the probe shows it). */
  waitingFor(): string[] {
    return this.#waiters.map((w) => w.key);
  }

  /** Waits for the first branch of `arms` as operation `seq` of `run` (RunHost.awaitSelect). */
  await(
    seq: number,
    key: string,
    arms: readonly SelectArm[],
    until: number | undefined,
    recordOpen: boolean,
    run: RunRef | undefined,
  ): SelectTake {
    let resolve!: (v: SelectOutcome) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<SelectOutcome>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const w: SelectWaiter = {
      run,
      seq,
      key,
      arms,
      until,
      settled: false,
      timer: undefined,
      outcome: undefined,
      resolve,
      reject,
    };
    this.#waiters.push(w);
    const clock = this.#h.clock();
    if (until !== undefined) {
      this.#h.deadlines.set(seq, until);
      w.timer = clock.setTimeout(() => this.#timeOut(w), timerMs(until - clock.now()));
    }
    const at = clock.now();
    this.#decide(w, (rec) => {
      const took = this.#take(w, rec);
      if (took !== undefined || !recordOpen) return took;
      return { rec: withEntry(rec, { s: seq, t: 'select', n: key, ...(until === undefined ? {} : { until }), at }) };
    });
    return {
      promise,
      settle: (outcome) => this.#decide(w, (rec) => this.#won(w, rec, outcome)),
      drop: () => {
        if (!w.settled) this.#forget(w);
      },
    };
  }

  /** A signal or an update was kept: each select still waiting looks whether a branch of it can take it. */
  look(): void {
    this.#h.kept?.();
    for (const w of this.#waiters) if (!w.settled) this.#decide(w, (rec) => this.#take(w, rec));
  }

  /** Times out the selects whose sleep's deadline is at or before `now` (a wake-up fired). */
  dueBy(now: number): void {
    for (const w of [...this.#waiters]) if (w.until !== undefined && w.until <= now) this.#timeOut(w);
  }

  /** Rejects the waits of `run` with `err` (it ended here: they take nothing any more). */
  rejectRun(run: RunRef, err: Error): void {
    for (const w of this.#waiters.filter((x) => x.run === run)) {
      this.#forget(w);
      w.reject(err);
    }
  }

  /** The activation ended: timers stop, the waits are forgotten (their runs ended with it). */
  clear(): void {
    const clock = this.#h.clock();
    for (const w of this.#waiters) {
      w.settled = true;
      clock.clearTimeout(w.timer);
    }
    this.#waiters = [];
  }

  /**
   * Queues a change that decides `w` by `decide` (undefined: nothing to take now); once saved, a
   * decided select resolves. A failed write rejects it (the run ended with the activation).
   */
  #decide(w: SelectWaiter, decide: (rec: WorkflowRecord) => { rec: WorkflowRecord } | undefined): void {
    if (w.settled) return;
    let decided: SelectOutcome | undefined;
    this.#h
      .commit((rec) => {
        if (w.settled) return rec;
        const next = decide(rec);
        if (next === undefined) return rec;
        decided = w.outcome;
        return next.rec;
      }, w.run)
      .then(
        () => {
          if (decided !== undefined) w.resolve(decided);
        },
        (err: Error) => {
          if (!w.settled) this.#forget(w);
          w.reject(err);
        },
      );
  }

  /** A kept signal or update of a branch of `w`, taken (the first such branch in order), or undefined. */
  #take(w: SelectWaiter, rec: WorkflowRecord): { rec: WorkflowRecord } | undefined {
    for (const arm of w.arms) {
      if ('signal' in arm) {
        const i = rec.signals.findIndex((s) => s.name === arm.signal);
        if (i < 0) continue;
        const signals = rec.signals.filter((_, j) => j !== i);
        return this.#won(w, { ...rec, signals }, { b: arm.b, v: rec.signals[i]!.payload });
      }
      if ('update' in arm) {
        const u = (rec.updates ?? []).find(
          (x) => arm.update.includes(x.name) && x.s === undefined && x.out === undefined,
        );
        if (u === undefined) continue;
        const updates = rec.updates!.map((x) => (x === u ? { ...x, s: w.seq } : x));
        return this.#won(w, { ...rec, updates }, { b: arm.b, v: { id: u.id, name: u.name, input: u.input } });
      }
    }
    return undefined;
  }

  /** `w` decided for `outcome`: journaled in `rec`, resolved once saved. */
  #won(w: SelectWaiter, rec: WorkflowRecord, outcome: SelectOutcome): { rec: WorkflowRecord } {
    w.outcome = outcome;
    this.#forget(w);
    const entry = {
      s: w.seq,
      t: 'select' as const,
      n: w.key,
      v: outcome.e === undefined ? outcome : { b: outcome.b, e: outcome.e },
      ...(w.until === undefined ? {} : { until: w.until }),
      at: this.#h.clock().now(),
      done: true,
    };
    return { rec: withEntry(rec, entry) };
  }

  /** `w`'s sleep branch is due: it wins unless another branch did. */
  #timeOut(w: SelectWaiter): void {
    if (w.settled || this.#h.ended()) return;
    const clock = this.#h.clock();
    // A Node timer may fire a millisecond early by Date.now(): a sleep never ends early.
    const left = (w.until ?? 0) - clock.now();
    if (left > 0) {
      w.timer = clock.setTimeout(() => this.#timeOut(w), timerMs(left));
      return;
    }
    const arm = w.arms.find((a) => 'sleep' in a)!;
    this.#decide(w, (rec) => this.#won(w, rec, { b: arm.b }));
  }

  /** Marks `w` settled and forgets it (its timer and deadline too). */
  #forget(w: SelectWaiter): void {
    w.settled = true;
    this.#h.clock().clearTimeout(w.timer);
    this.#h.deadlines.delete(w.seq);
    this.#waiters = this.#waiters.filter((x) => x !== w);
  }
}
