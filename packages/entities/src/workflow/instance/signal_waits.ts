// The body's waits for a signal, on the instance's side (engine.ts keeps one SignalWaits an
// activation). A wait (ctx.signal) takes the oldest signal of its name the record keeps, in the
// write that journals it, or else the next one to come (the signal request settles it); its
// deadline, if any, is kept among the instance's durable ones (its wake-up follows the earliest)
// and armed on the runtime clock, where it journals the timeout. A cancel, the run's end or the
// activation's end rejects the waits; a wait settled once is never settled again.

import type { EntitiesClock } from '../../contract/clock.js';
import { timerMs } from '../model/bounds.js';
import { ErrWorkflowTimeout, revivedError, storedError } from '../model/errors.js';
import { withEntry, type WorkflowRecord } from '../model/record.js';
import type { RunRef, SignalWaiter } from '../model/run_host.js';

/** @internal What the waits need of their instance (engine.ts). */
export interface SignalWaitsHost {
  /** The runtime clock (read at each call: the entity's, once it is attached). */
  clock(): EntitiesClock;
  /** The instance's durable deadlines by operation number (shared with its sleeps). */
  readonly deadlines: Map<number, number>;
  /** Queues `mutate` of the record for the next save, on behalf of `run`; resolves once saved. */
  commit(mutate: (rec: WorkflowRecord) => WorkflowRecord, run?: RunRef): Promise<void>;
  /** Whether the activation ended (a timer that fires then writes nothing). */
  ended(): boolean;
}

/** @internal The signal waits of one activation of an instance, ordered by operation number. */
export class SignalWaits {
  readonly #h: SignalWaitsHost;
  #waiters: SignalWaiter[] = [];

  constructor(host: SignalWaitsHost) {
    this.#h = host;
  }

  /** The waits, oldest operation first (the probe reads them). */
  get waiters(): readonly SignalWaiter[] {
    return this.#waiters;
  }

  get length(): number {
    return this.#waiters.length;
  }

  /** The oldest wait for signal `name` not settled yet: a new signal goes to it. */
  open(name: unknown): SignalWaiter | undefined {
    return this.#waiters.find((x) => x.name === name && !x.settled);
  }

  /** Waits for signal `name` as operation `seq` of `run` (RunHost.awaitSignal). */
  await(
    seq: number,
    name: string,
    until: number | undefined,
    recordOpen: boolean,
    run: RunRef | undefined,
  ): Promise<unknown> {
    const clock = this.#h.clock();
    return new Promise<unknown>((resolve, reject) => {
      const w: SignalWaiter = { run, seq, name, until, settled: false, timer: undefined, resolve, reject };
      this.#waiters.push(w);
      this.#waiters.sort((a, b) => a.seq - b.seq);
      if (until !== undefined) {
        this.#h.deadlines.set(seq, until);
        w.timer = clock.setTimeout(() => this.timeOut(w), timerMs(until - clock.now()));
      }
      let took = false;
      let payload: unknown;
      this.#h
        .commit((rec) => {
          if (w.settled) return rec;
          const i = rec.signals.findIndex((s) => s.name === name);
          if (i >= 0) {
            took = true;
            w.settled = true;
            payload = rec.signals[i]!.payload;
            this.drop(w);
            const signals = rec.signals.filter((_, j) => j !== i);
            return withEntry(
              { ...rec, signals },
              { s: seq, t: 'signal', n: name, v: payload, at: clock.now(), done: true },
            );
          }
          if (!recordOpen) return rec;
          return withEntry(rec, {
            s: seq,
            t: 'signal',
            n: name,
            ...(until === undefined ? {} : { until }),
            at: clock.now(),
          });
        }, run)
        .then(
          () => {
            if (took) resolve(payload);
          },
          (err: Error) => {
            if (!w.settled) {
              w.settled = true;
              this.drop(w);
            }
            reject(err);
          },
        );
    });
  }

  /** Times the waits out whose deadline is at or before `now` (a wake-up fired). */
  dueBy(now: number): void {
    for (const w of [...this.#waiters]) if (w.until !== undefined && w.until <= now) this.timeOut(w);
  }

  /** `w`'s deadline came: its timeout is journaled, then thrown into the body. */
  timeOut(w: SignalWaiter): void {
    if (w.settled || this.#h.ended()) return;
    const clock = this.#h.clock();
    // A Node timer may fire a millisecond early by Date.now(): a wait never times out early.
    const left = (w.until ?? 0) - clock.now();
    if (left > 0) {
      w.timer = clock.setTimeout(() => this.timeOut(w), timerMs(left));
      return;
    }
    w.settled = true;
    this.drop(w);
    const err = ErrWorkflowTimeout.with(`signal ${w.name} did not come in time`);
    const e = storedError(err);
    this.#h
      .commit((rec) =>
        withEntry(rec, {
          s: w.seq,
          t: 'signal',
          n: w.name,
          e,
          ...(w.until === undefined ? {} : { until: w.until }),
          at: clock.now(),
          done: true,
        }),
      )
      .then(
        () => w.reject(revivedError(e)),
        (x: Error) => w.reject(x),
      );
  }

  /** Forgets `w`: its timer and deadline go. */
  drop(w: SignalWaiter): void {
    this.#h.clock().clearTimeout(w.timer);
    this.#h.deadlines.delete(w.seq);
    this.#waiters = this.#waiters.filter((x) => x !== w);
  }

  /** The body stopped waiting at operation `seq` (a scope's cancel struck it): a later signal is kept. */
  dropSeq(seq: number): void {
    const w = this.#waiters.find((x) => x.seq === seq && !x.settled);
    if (w === undefined) return;
    w.settled = true;
    this.drop(w);
  }

  /** Rejects every wait with `err` (a cancel). */
  rejectAll(err: Error): void {
    for (const w of this.#waiters.splice(0)) {
      w.settled = true;
      this.drop(w);
      w.reject(err);
    }
  }

  /** Rejects the waits of `run` with `err` (it ended here: they take no signal any more). */
  rejectRun(run: RunRef, err: Error): void {
    for (const w of this.#waiters.filter((x) => x.run === run)) {
      w.settled = true;
      this.drop(w);
      w.reject(err);
    }
  }

  /** The activation ended: timers stop, the waits are forgotten (their runs ended with it). */
  clear(): void {
    const clock = this.#h.clock();
    for (const w of this.#waiters) clock.clearTimeout(w.timer);
    this.#waiters = [];
  }
}
