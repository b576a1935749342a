// A member's whole stop under one deadline: SIGTERM → the entities runtime's stop → the node's stop
// → the store's close → process exit. Each part has a bound of its own (the runtime's
// `stopTimeoutMs`, the node's kill grace and `shutdownTimeout`, the store's close), and one after
// the other they add up; on a starved host every timer fires late, so the sum grew past 10 s. Here
// the deadline is taken once, on the wall clock, when the stop is asked (the signal), and each
// phase gets what is left of it, up to its share:
// - the runtime, until {@link MEMBER_STOP_SHARES}.entities of the deadline (its own phases —
//   hand-off, stop, abandon — are shares of that: stop_budget.ts), never longer than its
//   `stopTimeoutMs`;
// - the node, until the node share: then `stopForce()` ends every process still there (a killed
//   activation's handler that never returns is not waited for over the kill grace);
// - the store, until the deadline: then its connections still open are cut.
// What did not hand off is left to its lease, as after a kill -9: the next owner takes it over
// then, and the store's fencing token refuses anything this member writes late.

import { rejected, type Node } from 'ergo-ts';

import { ErrEntityIncorrect } from '../contract/errors.js';
import { describeThrown, quoted } from '../contract/thrown.js';
import type { EntityStore } from '../contract/store.js';
import type { StoreCloseOptions } from '../contract/store_close.js';
import { holdLoopLag, loopLagMs } from './loop_lag.js';
import type { EntitiesStopOptions } from './options.js';

/** The defaults of {@link stopMember}. */
export const MEMBER_STOP_DEFAULTS = Object.freeze({
  /**
   * From the stop's request to its end, in ms: 7 s, leaving 3 s of a 10 s promise to timers that
   * fire late on a starved host (and 23 s of Kubernetes' default 30 s grace period).
   */
  deadlineMs: 7000,
});

/** The share of the deadline by which each phase ends (the store's ends with the deadline). */
export const MEMBER_STOP_SHARES = Object.freeze({ entities: 0.6, node: 0.85 });

/** What {@link stopMember} stops: the node, and the runtime and store on it when given. */
export interface MemberStopParts {
  /** The node, through its root handle (what `startNode` returned). */
  readonly node: Node;
  /** The entities runtime on it (`startEntities`); its stop comes first. */
  readonly entities?: { stop(options?: EntitiesStopOptions): Promise<void> };
  /** The runtime's store; closed last. */
  readonly store?: Pick<EntityStore, 'close'>;
}

/** Options of {@link stopMember}. */
export interface MemberStopOptions {
  /**
   * From `since` to the end of the whole stop, in ms (an integer in 1..2^31-1). Default 7000.
   * Under a Kubernetes `terminationGracePeriodSeconds` of G, take a few seconds less than G × 1000
   * (timers fire late on a busy host), and raise the runtime's `stopTimeoutMs` with it if its
   * hand-offs should get more than 4 s.
   */
  readonly deadlineMs?: number;
  /**
   * When the stop was asked, as `performance.now()` (a signal handler takes it first thing).
   * Default: now. Not after now.
   */
  readonly since?: number;
}

/** How one phase of {@link stopMember} ended. */
export interface MemberStopPhase {
  /** Which part stopped. */
  readonly phase: 'entities' | 'node' | 'store';
  /**
   * 'done': it stopped within its share; 'cut': its share ran out (the node: its processes left
   * were ended by `stopForce()`; the store: its connections left were cut; the runtime: what did
   * not hand off is left to its lease); 'failed': it rejected (`error` says why).
   */
  readonly outcome: 'done' | 'cut' | 'failed';
  /** When it ended, in ms after `since`. */
  readonly at: number;
  /** Its rejection's message, when it failed. */
  readonly error?: string;
}

/** What {@link stopMember} did. */
export interface MemberStopReport {
  /** The phases' deadline, in ms after `since` (shortened by three turns of {@link lagMs} when given). */
  readonly deadlineMs: number;
  /** The phases in the order they ran (the parts not given are left out). */
  readonly phases: readonly MemberStopPhase[];
  /** When the stop ended, in ms after `since`. */
  readonly ms: number;
  /**
   * The longest turn of the event loop seen in the seconds before the stop was asked (the signal,
   * or the call of {@link stopMember}), in ms; the phases' deadline was shortened by three of them
   * (`deadlineMs` is what was left), so that the turns a starved loop takes to fire the phases'
   * timers still end in time. Absent when nothing measured it: no entities runtime ran in this
   * process and no {@link stopMemberOnSignals} was set up (they keep the loop's sampler).
   */
  readonly lagMs?: number;
}

/**
 * Stops a member within one deadline: the entities runtime (its hand-offs), then the node, then
 * the store, each given what is left of `deadlineMs` counted from `since` (see the file's
 * comment); what is still open at a phase's end is cut, so the stop resolves by the deadline —
 * give or take how late the host runs timers. Never rejects for a part that fails or hangs (the
 * report says so); rejects with ERR_ENTITY_INCORRECT for bad options. It does not end the process:
 * {@link stopMemberOnSignals} does. Like it, it ends the phases three turns of the event loop's
 * recent lag early (`lagMs` in the report), measured by the sampler every entities runtime in
 * this process keeps.
 *
 * @example
 * process.once('SIGTERM', () => {
 *   const since = performance.now();
 *   void stopMember({ node, entities, store }, { since }).then(() => process.exit(0));
 * });
 */
export function stopMember(parts: MemberStopParts, options: MemberStopOptions = {}): Promise<MemberStopReport> {
  let checked: { deadlineMs: number; since: number };
  try {
    checked = checkOptions(parts, options);
  } catch (e) {
    return rejected(e, undefined, 'stopMember');
  }
  // The loop's lag as the signal path measures it (loop_lag.ts: the runtime holds the sampler):
  // a starved loop's late turns come out of the phases' time, not past the deadline.
  const lagMs = loopLagMs();
  if (lagMs === undefined) return runStop(parts, checked.deadlineMs, checked.since, []);
  const phasesMs = Math.max(1, checked.deadlineMs - LAG_TURNS * lagMs);
  return runStop(parts, phasesMs, checked.since, []).then((r) => ({ ...r, lagMs }));
}

/** The phases of {@link stopMember}, each pushed to `phases` as it ends. Never rejects. */
async function runStop(
  parts: MemberStopParts,
  deadlineMs: number,
  since: number,
  phases: MemberStopPhase[],
): Promise<MemberStopReport> {
  const at = (): number => Math.round(performance.now() - since);
  const until = (share: number): number => since + Math.floor(deadlineMs * share);
  const ended = (phase: MemberStopPhase['phase'], r: Outcome): void => {
    phases.push({ phase, outcome: r.outcome, at: at(), ...(r.error === undefined ? {} : { error: r.error }) });
  };

  const { entities, node, store } = parts;
  if (entities !== undefined) {
    const end = until(MEMBER_STOP_SHARES.entities);
    const timeout = Math.max(1, Math.floor(end - performance.now()));
    ended('entities', await within(() => entities.stop({ timeout }), end));
  }

  // A node stopped already (by its owner) is done; its handle's stop would refuse.
  const nodeStop = node.isAlive() ? await within(() => node.stop(), until(MEMBER_STOP_SHARES.node)) : DONE;
  // Its share ran out: every process still there ends now (a handler that never returns is
  // detached), and the stop goes on with what needs no process (the network's close).
  if (nodeStop.outcome === 'cut') node.stopForce().catch(() => undefined);
  ended('node', nodeStop);

  if (store !== undefined) {
    const cut = new AbortController();
    const close: StoreCloseOptions = { signal: cut.signal };
    // Past the deadline already: the close cuts at once (no turn of the loop waited for).
    if (performance.now() >= since + deadlineMs) cut.abort();
    const r = await within(() => store.close(close), since + deadlineMs);
    // A store that cuts (PostgreSQL, store_close.ts) destroys its connections now; one that
    // cannot is not waited for any longer.
    if (r.outcome === 'cut') cut.abort();
    ended('store', r);
  }
  return { deadlineMs, phases, ms: at() };
}

/** Options of {@link stopMemberOnSignals}. */
export interface MemberStopSignalOptions {
  /** See {@link MemberStopOptions.deadlineMs}. Default 7000. */
  readonly deadlineMs?: number;
  /** The signals that stop the member. Default SIGTERM and SIGINT. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Hears the report before the process ends (at the deadline's backstop: the phases so far). */
  readonly onStopped?: (report: MemberStopReport) => void;
  /** Ends the process. Default `process.exit`. */
  readonly exit?: (code: number) => void;
}

/** How long after the deadline the backstop ends the process, should a phase's timer run later still. */
const BACKSTOP_MS = 500;
/** Turns of the loop the phases after a cut need (each a timer or an I/O callback): kept out of the deadline. */
const LAG_TURNS = 3;

/**
 * Ends the process on SIGTERM (and SIGINT) within one deadline: takes the time when the signal is
 * handled, runs {@link stopMember}, then exits with code 0 — at the latest shortly after the
 * deadline (a backstop timer), whatever still runs. It watches how long the event loop's turns
 * take meanwhile (an unref'd 100 ms timer): a starved loop fires every timer a turn late, so the
 * phases end three such turns before the deadline (what did not hand off by then is left to its
 * lease). A second signal during the stop exits at once
 * with code 1. Leave the node's `handleSignals` off (this stops the node). Returns a function
 * that removes the handlers. Throws ERR_ENTITY_INCORRECT for bad options.
 *
 * @example
 * const node = await startNode('member@host', { network: { cookie } });
 * const store = await PostgresStore.open(url);
 * const entities = await startEntities(node, { store, kinds: [Order] });
 * stopMemberOnSignals({ node, entities, store }); // SIGTERM: exits within 7 s
 */
export function stopMemberOnSignals(parts: MemberStopParts, options: MemberStopSignalOptions = {}): () => void {
  options = given(options, ['deadlineMs', 'signals', 'onStopped', 'exit']);
  const { deadlineMs } = checkOptions(parts, { deadlineMs: options.deadlineMs });
  const signals = options.signals ?? (['SIGTERM', 'SIGINT'] as const);
  if (!Array.isArray(signals) || signals.length === 0 || signals.some((s) => typeof s !== 'string'))
    throw ErrEntityIncorrect.with('signals must be a non-empty array of signal names');
  if (options.onStopped !== undefined && typeof options.onStopped !== 'function')
    throw ErrEntityIncorrect.with('onStopped must be a function');
  if (options.exit !== undefined && typeof options.exit !== 'function')
    throw ErrEntityIncorrect.with('exit must be a function');
  const exit = options.exit ?? ((code: number) => process.exit(code));
  // Held from now on: the signal's handler reads the lag of the turns before it.
  const loop = holdLoopLag();
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) return exit(1);
    stopping = true;
    const since = performance.now();
    // The turns a starved loop takes come out of the phases' time, not past the deadline.
    const lagMs = loop.lag();
    loop.release();
    const phasesMs = Math.max(1, deadlineMs - LAG_TURNS * lagMs);
    let done = false;
    const finish = (report: MemberStopReport): void => {
      if (done) return;
      done = true;
      clearTimeout(backstop);
      try {
        options.onStopped?.(report);
      } finally {
        exit(0);
      }
    };
    const phases: MemberStopPhase[] = [];
    const backstop = setTimeout(
      () => finish({ deadlineMs: phasesMs, phases, ms: Math.round(performance.now() - since), lagMs }),
      deadlineMs + BACKSTOP_MS,
    );
    void runStop(parts, phasesMs, since, phases).then((r) => finish({ ...r, lagMs }));
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    loop.release();
    for (const s of signals) process.off(s, onSignal);
  };
}

interface Outcome {
  readonly outcome: MemberStopPhase['outcome'];
  readonly error?: string;
}

const DONE: Outcome = { outcome: 'done' };
const CUT: Outcome = { outcome: 'cut' };

/**
 * `start()`'s outcome by `deadline` (a performance.now() time): done, failed, or cut. A deadline
 * already past cuts at once: on a starved loop a timer, even of 0 ms, costs a whole turn.
 */
async function within(start: () => Promise<unknown>, deadline: number): Promise<Outcome> {
  let p: Promise<unknown>;
  try {
    p = start();
  } catch (e) {
    p = Promise.reject(e as Error);
  }
  if (deadline <= performance.now()) {
    p.catch(() => undefined);
    return CUT;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<Outcome>((resolve) => {
    // Not unref'd: an awaited stop reaches its deadline even when nothing else keeps the process alive.
    timer = setTimeout(() => resolve({ outcome: 'cut' }), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([
      p.then(
        (): Outcome => ({ outcome: 'done' }),
        (e: unknown): Outcome => ({ outcome: 'failed', error: String((e as Error)?.message ?? e) }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function checkOptions(parts: MemberStopParts, options: MemberStopOptions): { deadlineMs: number; since: number } {
  if (parts === null || typeof parts !== 'object' || typeof parts.node?.stop !== 'function')
    throw ErrEntityIncorrect.with('stopMember needs { node } (the root handle startNode returned)');
  if (parts.entities !== undefined && typeof parts.entities?.stop !== 'function')
    throw ErrEntityIncorrect.with('entities must be the runtime startEntities returned');
  if (parts.store !== undefined && typeof parts.store?.close !== 'function')
    throw ErrEntityIncorrect.with('store must be an entity store');
  options = given(options, ['deadlineMs', 'since']);
  const deadlineMs = options.deadlineMs ?? MEMBER_STOP_DEFAULTS.deadlineMs;
  if (!Number.isInteger(deadlineMs) || deadlineMs < 1 || deadlineMs > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`deadlineMs must be an integer in 1..2^31-1 (ms), got ${quoted(options.deadlineMs)}`);
  const now = performance.now();
  const since = options.since ?? now;
  if (typeof since !== 'number' || !Number.isFinite(since) || since > now)
    throw ErrEntityIncorrect.with(`since must be a performance.now() time not after now, got ${quoted(options.since)}`);
  return { deadlineMs, since };
}

/**
 * The options' named fields, read once into a plain object: options that are no object, whose
 * reads throw (a Proxy), or a field given `null` are refused (ERR_ENTITY_INCORRECT), never taken
 * as not given.
 */
function given<T extends object>(options: T, keys: readonly (keyof T & string)[]): T {
  if (options === null || typeof options !== 'object')
    throw ErrEntityIncorrect.with(`stop options must be an object, got ${quoted(options)}`);
  const out: Partial<T> = {};
  for (const k of keys) {
    let v: T[keyof T & string];
    try {
      v = options[k];
    } catch (e) {
      throw ErrEntityIncorrect.with(`stop options: reading ${k} failed: ${describeThrown(e)}`);
    }
    if (v === null) throw ErrEntityIncorrect.with(`stop options: ${k} is null (leave it out for the default)`);
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}
