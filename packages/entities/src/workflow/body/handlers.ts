// Handlers beside the body (Temporal's `setHandler` and `condition`): `ctx.onSignal(name, fn)` and
// `ctx.onUpdate(name, fn, { validate })` register functions that take each signal or update of
// their name; the body waits with `ctx.condition(() => predicate, timeoutMs)` or
// `ctx.allHandlersFinished()`, and handlers run while it waits there — only there, and one at a
// time. That is what makes a replay reproduce the body's state exactly: every operation takes the
// next sequence number as it is asked (context.ts), so a handler running while the body runs would
// interleave its operations with the body's in an order a replay (where journaled operations come
// back at once) could not reproduce. Here the body is parked in one wait while handlers run, and it
// resumes only once the handler that runs ended.
//
// A handler may wait itself — `ctx.sleep`, `ctx.condition`, `ctx.allHandlersFinished`, steps —
// while the wait that handed it its message waits for it to end. Its own `condition` (or
// `allHandlersFinished`) runs handlers in turn: the next messages are handed there, nested, each
// run to its end before that wait looks at its predicate again. So at any time one chain of waits
// is live — the body's, the handler it runs, the handler that one's wait runs... — and only its
// innermost runs code: a replay runs the same handlers at the same points. A handler runs in the
// run's outermost cancellation scope (a cancel of the scope the body waits in does not reach it;
// the run's cancel does), in a frame of its own (an AsyncLocalStorage): a wait of the body while
// one of its handlers runs, of a handler that is not the innermost, or of one that already ended
// is refused (ERR_WORKFLOW_CONCURRENT_WAIT), before it takes an operation number.
//
// Journal: the wait is one operation (`condition`; `n` is '' for ctx.condition, 'handlers' for
// allHandlersFinished), its entry written open (its deadline, durable like a sleep's) and closed
// with its outcome (true, false on a timeout, or the error a signal handler or the predicate
// threw). Each message handed to a handler is one more operation (`handle`, `n` `signal:<name>` or
// `update:<name>`, `v` what it carried, `w` the wait that handed it), journaled in the write that
// takes it from the record, followed by the handler's own operations (steps, activities, children,
// its waits and what they handed on) and, for an update, its answer (`reply`). A replay of the wait
// runs the `handle` entries that follow it and name it, in their order, before it goes on: the
// handlers see the same messages in the same order, so the state they build is the one the body
// saw live. The predicate is checked when the wait starts and each time a handler ended; a
// predicate already true takes no operation (the state it reads is rebuilt by the replay, so a
// replay finds it true at the same point). A wait's deadline that passes while a handler it handed
// a message to still waits ends it once that handler ended.
//
// Order: a waiting message goes to its handler oldest first, signals before updates. A message
// that came before its handler was registered is kept (the record keeps signals and updates) and
// handed over at the next wait once it is. A name taken by a handler is refused by `ctx.signal`,
// `ctx.update` and `ctx.select` (ERR_WORKFLOW_INCORRECT).

import { AsyncLocalStorage } from 'node:async_hooks';

import { describeThrown, quoted } from '../../contract/thrown.js';
import { declared, MAX_WAKE_AT, timerMs } from '../model/bounds.js';
import {
  ErrWorkflowCancelled,
  ErrWorkflowIncorrect,
  ErrWorkflowUpdateRejected,
  revivedError,
  storedError,
} from '../model/errors.js';
import { withEntry, type WorkflowJournalEntry, type WorkflowRecord } from '../model/record.js';
import type { RunOps } from '../model/run_host.js';
import type { Taken } from '../model/update_state.js';
import { updateHandle } from './update_take.js';
import type { UpdateHandlerOptions } from './context_types.js';

/** @internal What the handlers need of their run beyond {@link RunOps}. */
export interface HandlerOps extends RunOps {
  readonly readOnly: boolean;
  /** The journal's entry at `seq`, unchecked (undefined: none). */
  entryAt(seq: number): WorkflowJournalEntry | undefined;
  /** The number the next operation takes. */
  seq(): number;
  /** The run's end or divergence, once it has one: what a handler meets then ends the wait with it. */
  halted(): Error | undefined;
  /** The replay diverged with `message` (the run halts); returns the error to throw. */
  diverge(message: string): Error;
  endOfJournal(): Error;
  /** The record as the instance holds it now (what waits for a handler). */
  peek(): WorkflowRecord;
  /** Runs `fn` in the run's outermost cancellation scope (scopes.ts). */
  outermost<T>(fn: () => T): T;
}

/** @internal Who may wait once at a time: the body, or one handler's run. */
export interface WaitSlot {
  /** Its wait pending now (as the wait's message names it). */
  waiting: string | undefined;
}

/** @internal One handler's run: the frame its code (and every continuation of it) runs in. */
export interface HandlerFrame extends WaitSlot {
  readonly owner: Handlers;
  /** It ended (a continuation it left behind may still run: it cannot wait). */
  ended: boolean;
  /** Runs `fn` in this frame, in the run's outermost cancellation scope. */
  enter<T>(fn: () => T): T;
}

/** The handler frame where code runs now (undefined: the body, or code outside any run). */
const frames = new AsyncLocalStorage<HandlerFrame>();

/**
 * Runs `fn` through `restore` (a snapshot of the context a callback was registered in: the
 * determinism guard binds handlers to the body's), entering again the handler frame current now.
 */
export function inCallerFrame<T>(restore: (fn: () => T) => T, fn: () => T): T {
  const f = frames.getStore();
  return restore(f === undefined ? fn : () => f.enter(fn));
}

interface UpdateHandler {
  readonly fn: (input: unknown) => unknown;
  readonly validate: ((input: unknown) => void) | undefined;
}

/** A message waiting for its handler. */
type Waiting =
  | { readonly kind: 'signal'; readonly name: string; readonly payload: unknown }
  | { readonly kind: 'update'; readonly name: string; readonly taken: Taken };

/** How a wait ended: its value, or the error a handler or its predicate threw. */
type Outcome = { readonly v: boolean } | { readonly e: Error };

/** The name of the wait `ctx.allHandlersFinished()` in the journal. */
const ALL_FINISHED = 'handlers';

/** @internal A run's handlers and the waits they run in (see the top of this file). */
export class Handlers {
  readonly #ops: () => HandlerOps;
  readonly #signals = new Map<string, (payload: unknown) => unknown>();
  readonly #updates = new Map<string, UpdateHandler>();
  /** Wake the waits that run handlers (a message was kept, a deadline came, one stops). */
  readonly #pokes = new Set<() => void>();
  /** The handlers running now, outermost first: only the last one runs code (see the top of this file). */
  readonly #stack: HandlerFrame[] = [];
  /** The condition waits live now (the body's, and those of the handlers it runs, nested). */
  #liveWaits = 0;

  /** The condition waits live now: the instance waits for an event, as for a signal (engine.ts's wake). */
  get waiting(): number {
    return this.#liveWaits;
  }

  constructor(ops: () => HandlerOps) {
    this.#ops = ops;
  }

  /** The frame of this run's handler whose code runs now (undefined: the body's code). */
  frame(): HandlerFrame | undefined {
    const f = frames.getStore();
    return f?.owner === this ? f : undefined;
  }

  /**
   * Why a wait asked now by the code of `slot` (the body's, or a handler's frame) is refused (see
   * the top of this file), as what stands in its way; undefined: it may wait.
   */
  waitRefusal(slot: WaitSlot | HandlerFrame): string | undefined {
    if (slot.waiting !== undefined) return slot.waiting;
    if (!('owner' in slot)) return this.#stack.length > 0 ? 'a handler it runs' : undefined;
    if (slot.ended) return 'nothing (its handler ended: a handler waits only until it returns)';
    if (this.#stack.at(-1) !== slot) return 'a handler it handed a message to';
    return undefined;
  }

  /** Whether a handler takes the signal (`kind` 'signal') or update `name`. */
  handles(kind: 'signal' | 'update', name: string): boolean {
    return kind === 'signal' ? this.#signals.has(name) : this.#updates.has(name);
  }

  /** Registers the handler of signal `name` (the same name again: it replaces the first). */
  onSignal(name: string, fn: unknown): void {
    const { spec } = this.#ops().host;
    if (declared(spec.signals, name) === undefined)
      throw ErrWorkflowIncorrect.with(`workflow ${spec.name} declares no signal ${quoted(name)}`);
    if (typeof fn !== 'function') throw ErrWorkflowIncorrect.with(`signal ${name}: the handler must be a function`);
    this.#signals.set(name, fn as (payload: unknown) => unknown);
  }

  /** Registers the handler of update `name`, with its validator. */
  onUpdate(name: string, fn: unknown, options: UpdateHandlerOptions<unknown> | undefined): void {
    const { spec } = this.#ops().host;
    if (declared(spec.updates, name) === undefined)
      throw ErrWorkflowIncorrect.with(`workflow ${spec.name} declares no update ${quoted(name)}`);
    if (typeof fn !== 'function') throw ErrWorkflowIncorrect.with(`update ${name}: the handler must be a function`);
    const validate = options?.validate;
    if (validate !== undefined && typeof validate !== 'function')
      throw ErrWorkflowIncorrect.with(`update ${name}: validate must be a function`);
    this.#updates.set(name, { fn: fn as (input: unknown) => unknown, validate });
  }

  /**
   * An update request for `name` came (updates.ts checks it before accepting): throws the
   * validator's refusal when the run is live (caught up) and has a handler with one.
   */
  validate(name: string, input: unknown, live: boolean): void {
    const v = this.#updates.get(name)?.validate;
    if (v === undefined || !live) return;
    let r: unknown;
    try {
      r = v(input);
    } catch (err) {
      throw ErrWorkflowUpdateRejected.with(`update ${name}: refused: ${describeThrown(err)}`);
    }
    if (r instanceof Promise) {
      r.catch(() => undefined);
      throw ErrWorkflowIncorrect.with(`update ${name}: validate must be synchronous`);
    }
  }

  /** A signal or update was kept: a wait running handlers looks again. */
  kept(): void {
    for (const p of [...this.#pokes]) p();
  }

  /**
   * The body ended: warns (Temporal's default) when kept messages still wait for a handler it
   * registered — a body that must handle them awaits `ctx.allHandlersFinished()` before it returns.
   */
  warnLeft(): void {
    const { host } = this.#ops();
    const rec = host.peek();
    const signals = rec.signals.filter((s) => this.#signals.has(s.name)).length;
    const left = signals + (rec.updates ?? []).filter((u) => this.#untaken(u) && this.#updates.has(u.name)).length;
    if (left === 0) return;
    const what = `workflow ${host.spec.name}/${host.id}`;
    host.log.warning('%s ended with %d message(s) kept for its handlers, not handled', what, left);
  }

  /** `ctx.allHandlersFinished()`: the wait below without a predicate. */
  async allFinished(): Promise<void> {
    await this.wait(undefined, undefined);
  }

  /**
   * `ctx.condition(fn, timeoutMs)` (with `fn`) or `ctx.allHandlersFinished()` (without): one
   * operation, in which handlers run (see the top of this file). Resolves true once `fn` holds
   * (every waiting message handled, for allHandlersFinished), false when `timeoutMs` passed first.
   */
  async wait(fn: (() => boolean) | undefined, timeoutMs: number | undefined): Promise<boolean> {
    const ops = this.#ops();
    const name = fn === undefined ? ALL_FINISHED : '';
    const seq = ops.next();
    const hit = ops.lookup(seq, 'condition', name);
    const failed = await this.#replay(seq);
    if (hit?.done === true) {
      if (hit.e === undefined) return hit.v === true;
      const e = revivedError(hit.e); // the cancel struck it, or a handler or the predicate threw
      if (ErrWorkflowCancelled.is(e)) ops.strike();
      throw e;
    }
    if (ops.readOnly) throw ops.endOfJournal();
    if (hit !== undefined) ops.checkCancel(); // still open when the cancel came
    const h = ops.host;
    const now = h.clock.now();
    const until = hit?.until ?? conditionDeadline(timeoutMs, now);
    ops.caughtUp();
    const open: WorkflowJournalEntry = {
      s: seq,
      t: 'condition',
      n: name,
      ...(until === undefined ? {} : { until }),
      at: now,
    };
    const close = async (out: Outcome): Promise<Outcome> => {
      const halted = ops.halted();
      if (halted !== undefined) throw halted;
      const e = 'e' in out ? storedError(out.e) : undefined;
      await ops.record({
        ...open,
        ...(e === undefined ? { v: (out as { v: boolean }).v } : { e }),
        at: h.clock.now(),
        done: true,
      });
      return out;
    };
    let out: Outcome;
    if (failed !== undefined)
      out = await close({ e: failed }); // the crash came before its close was written
    else {
      if (until !== undefined) h.deadline(seq, until);
      this.#liveWaits++;
      try {
        if (hit === undefined) await ops.record(open);
        // A cancel (its scope's, or the run's) that came while its entry was written struck no
        // wait yet: the wait is struck now, its entry closed with it, as a sleep is (context.ts).
        const late = cancelNow(ops);
        out = late === undefined ? await this.#live(fn, until, open, close, seq) : await close({ e: late });
      } finally {
        this.#liveWaits--;
        if (until !== undefined) h.deadline(seq, undefined);
      }
    }
    if ('e' in out) throw out.e;
    return out.v;
  }

  /** The wait, live: handlers run until `fn` holds or the deadline came; a cancel or the run's end stops it. */
  #live(
    fn: (() => boolean) | undefined,
    until: number | undefined,
    open: WorkflowJournalEntry,
    close: (out: Outcome) => Promise<Outcome>,
    seq: number,
  ): Promise<Outcome> {
    const ops = this.#ops();
    const clock = ops.host.clock;
    /** The handler this wait runs now (settles, never rejects, once it ended). */
    let running: Promise<unknown> = Promise.resolve();
    // Settles with the outcome (an error a handler threw too): what rejects it is a cancel or the run's end.
    const waiting = ops.waitFor<Outcome>(
      (resolve, reject) => {
        let stopped = false;
        let due = false;
        let timer: unknown;
        let wake: (() => void) | undefined;
        const poke = (): void => {
          const w = wake;
          wake = undefined;
          w?.();
        };
        this.#pokes.add(poke);
        // Armed again while the clock is short of `until`: a Node timer may fire a millisecond early.
        const arm = (): void => {
          const left = until! - clock.now();
          if (left <= 0) {
            due = true;
            poke();
          } else timer = clock.setTimeout(arm, timerMs(left));
        };
        if (until !== undefined) arm();
        const loop = async (): Promise<Outcome> => {
          for (;;) {
            if (stopped) return { v: false }; // ignored: the wait was rejected
            let holds: boolean;
            try {
              holds = fn === undefined ? this.#waiting() === undefined : fn() === true;
            } catch (err) {
              return close({ e: err as Error });
            }
            if (holds || due) return close({ v: holds });
            const m = this.#waiting();
            if (m !== undefined) {
              const handed = this.#hand(m, seq);
              running = handed.catch(() => undefined);
              const failed = await handed;
              if (failed !== undefined) return close({ e: failed });
              continue;
            }
            await new Promise<void>((r) => (wake = r));
          }
        };
        loop().then(resolve, reject);
        return () => {
          stopped = true;
          clock.clearTimeout(timer);
          this.#pokes.delete(poke);
          poke();
        };
      },
      true,
      until,
      open,
    );
    // A cancel (or the run's end) rejects the wait at once: the body resumes only once the handler
    // that runs ended (its steps are cancelled with the run), never beside it.
    return waiting.catch(async (err: unknown) => {
      await running;
      throw err;
    });
  }

  /**
   * Runs the handlers of the `handle` entries that follow the wait `w` and name it (or name none:
   * a record written before handlers could wait), in order; returns a signal handler's failure.
   */
  async #replay(w: number): Promise<Error | undefined> {
    const ops = this.#ops();
    for (;;) {
      const e = ops.entryAt(ops.seq());
      if (e?.t !== 'handle' || (e.w !== undefined && e.w !== w)) return undefined;
      const colon = e.n.indexOf(':');
      const kind = e.n.slice(0, colon);
      const name = e.n.slice(colon + 1);
      if ((kind !== 'signal' && kind !== 'update') || !this.handles(kind, name)) {
        ops.next();
        throw ops.diverge(`the journal hands ${kind} ${quoted(name)} to a handler the body did not register`);
      }
      const m: Waiting = kind === 'signal' ? { kind, name, payload: e.v } : { kind, name, taken: e.v as Taken };
      const failed = await this.#hand(m, w);
      if (failed !== undefined) return failed;
    }
  }

  /** The oldest kept message a handler takes: signals first, then updates. */
  #waiting(): Waiting | undefined {
    const rec = this.#ops().host.peek();
    if (rec === undefined) return undefined;
    const s = rec.signals.find((x) => this.#signals.has(x.name));
    if (s !== undefined) return { kind: 'signal', name: s.name, payload: s.payload };
    const u = (rec.updates ?? []).find((x) => this.#untaken(x) && this.#updates.has(x.name));
    if (u !== undefined) return { kind: 'update', name: u.name, taken: { id: u.id, name: u.name, input: u.input } };
    return undefined;
  }

  #untaken(u: { readonly s?: number; readonly out?: unknown }): boolean {
    return u.s === undefined && u.out === undefined;
  }

  /**
   * Hands `m` to its handler as one operation (journaled with the write that takes it from the
   * record; a replay finds it journaled) and runs the handler to its end. Returns a signal
   * handler's failure; throws the run's end or divergence.
   */
  async #hand(m: Waiting, w: number): Promise<Error | undefined> {
    const ops = this.#ops();
    const seq = ops.next();
    const n = `${m.kind}:${m.name}`;
    const hit = ops.lookup(seq, 'handle', n);
    if (hit === undefined) {
      const v = m.kind === 'signal' ? m.payload : m.taken;
      const entry: WorkflowJournalEntry = { s: seq, t: 'handle', n, v, w, at: ops.host.clock.now(), done: true };
      await ops.record(entry, (rec) => takenFrom(withEntry(rec, entry), m, seq));
    }
    // In a frame of its own (its continuations carry it), in the run's outermost scope.
    const frame: HandlerFrame = {
      owner: this,
      waiting: undefined,
      ended: false,
      enter: (fn) => frames.run(frame, () => ops.outermost(fn)),
    };
    this.#stack.push(frame);
    const run = (): Promise<Error | undefined> =>
      frame.enter(() => (m.kind === 'signal' ? this.#signal(m.name, m.payload) : this.#update(m.taken)));
    try {
      return await run();
    } finally {
      frame.ended = true;
      const i = this.#stack.lastIndexOf(frame);
      if (i >= 0) this.#stack.splice(i, 1);
    }
  }

  async #signal(name: string, payload: unknown): Promise<Error | undefined> {
    try {
      await this.#signals.get(name)!(payload);
      return undefined;
    } catch (err) {
      const halted = this.#ops().halted();
      if (halted !== undefined) throw halted;
      return err instanceof Error
        ? err
        : ErrWorkflowIncorrect.with(`signal ${name}'s handler threw ${describeThrown(err)}`);
    }
  }

  /** Runs update `taken`'s validator and handler, and answers it (a failure is its caller's, not the body's). */
  async #update(taken: Taken): Promise<undefined> {
    const ops = this.#ops();
    const u = this.#updates.get(taken.name)!;
    const handle = updateHandle(ops, taken);
    let out: { v: unknown } | { e: unknown };
    try {
      if (u.validate !== undefined) this.validate(taken.name, taken.input, true);
      out = { v: await u.fn(taken.input) };
    } catch (err) {
      out = { e: err };
    }
    try {
      if ('v' in out) await handle.reply(out.v);
      else await handle.fail(out.e);
    } catch (err) {
      const halted = ops.halted();
      if (halted !== undefined) throw halted;
      if (ErrWorkflowCancelled.is(err)) return undefined; // a cancel came: its caller hears the instance's end
      await handle.fail(err).catch(() => undefined); // an answer its schema refused
    }
    return undefined;
  }
}

/** The record with message `m` taken by the operation `seq` (a signal removed, an update marked taken). */
function takenFrom(rec: WorkflowRecord, m: Waiting, seq: number): WorkflowRecord {
  if (m.kind === 'signal') {
    const i = rec.signals.findIndex((s) => s.name === m.name);
    return i < 0 ? rec : { ...rec, signals: rec.signals.filter((_, j) => j !== i) };
  }
  const updates = (rec.updates ?? []).map((u) => (u.id === m.taken.id ? { ...u, s: seq } : u));
  return { ...rec, updates };
}

/** The cancel that reaches the code running now (its scope's, or the run's), or undefined. */
function cancelNow(ops: HandlerOps): Error | undefined {
  try {
    ops.checkCancel();
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** `ctx.condition`'s deadline for `timeoutMs` from `now` (undefined: none); ERR_WORKFLOW_INCORRECT for a bad one. */
export function conditionDeadline(timeoutMs: unknown, now: number): number | undefined {
  if (timeoutMs === undefined) return undefined;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || now + timeoutMs > MAX_WAKE_AT)
    throw ErrWorkflowIncorrect.with(`ctx.condition: timeoutMs must be a number ≥ 0, got ${describeThrown(timeoutMs)}`);
  return now + timeoutMs;
}
