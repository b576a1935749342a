// `ctx.select`: the body waits for the first of several things — a signal, an update, a child's
// end, a sleep — as ONE operation. Its journal entry records which branch won (and its value), so
// a replay returns that same branch whatever else has arrived since. `Promise.race` over separate
// `ctx` waits cannot do this: each wait is an operation of its own, the losers stay open and take
// what comes later, and on a replay every one of them comes back from the journal at once, so the
// race is decided by microtask order, not by what happened. That is why a wait asked while another
// is pending is refused (ERR_WORKFLOW_CONCURRENT_WAIT, context.ts) and this is the primitive to use.
//
// Live, the instance (select_waits.ts) decides: a kept signal or update of a branch is taken at
// once (the first branch in the order written wins when several are ready); else the first signal
// or update of a branch to be accepted, the first child to end, or the sleep's deadline.

import { describeThrown, quoted } from '../../contract/thrown.js';
import { declared, readChecked, sleepUntil } from '../model/bounds.js';
import type { SignalSchemas } from '../model/define.js';
import { ErrWorkflowCancelled, ErrWorkflowIncorrect, handledBy, revivedError, storedError } from '../model/errors.js';
import { stepFailed, type RunOps, type RunningAttempt } from '../model/run_host.js';
import type { Taken } from '../model/update_state.js';
import { updateHandle } from './update_take.js';
import { engineRetryMs, isEngineFailure } from '../model/engine_failure.js';
import { CHILD_OF, type ChildRef, type SelectArm, type SelectOutcome, type SelectTake } from '../model/select_types.js';

/** The most branches a select takes. */
export const MAX_SELECT_BRANCHES = 32;

/**
 * Checks the branches against the kind's declarations; ERR_WORKFLOW_INCORRECT naming the bad one.
 * Branches whose reading throws (a Proxy's trap, a getter) are refused the same way, never with
 * the trap's own error: each branch's one field is read once, so a getter cannot answer the check
 * one value and the wait another.
 */
export function selectArms(
  spec: { readonly name: string; readonly signals: object; readonly updates?: object },
  branches: unknown,
): SelectArm[] {
  return readChecked('ctx.select: branches', () => readArms(spec, branches));
}

function readArms(
  spec: { readonly name: string; readonly signals: object; readonly updates?: object },
  branches: unknown,
): SelectArm[] {
  if (typeof branches !== 'object' || branches === null || Array.isArray(branches))
    throw ErrWorkflowIncorrect.with('ctx.select: branches are an object { name: { signal | update | sleep | child } }');
  const arms: SelectArm[] = [];
  let sleeps = 0;
  for (const b of Object.keys(branches)) {
    const d = (branches as Record<string, unknown>)[b] as Record<string, unknown> | null;
    const what = `ctx.select: branch ${quoted(b)}`;
    if (typeof d !== 'object' || d === null) throw ErrWorkflowIncorrect.with(`${what} is not a branch`);
    const keys = Object.keys(d);
    if (keys.length !== 1) throw ErrWorkflowIncorrect.with(`${what} needs one of signal, update, sleep, child`);
    if (b.includes('=') || b.includes('|')) throw ErrWorkflowIncorrect.with(`${what}: a name has no '=' or '|'`);
    const field = keys[0]!;
    const v = d[field];
    if (field === 'signal') {
      if (declared(spec.signals as Record<string, unknown>, v) === undefined)
        throw ErrWorkflowIncorrect.with(`${what}: workflow ${spec.name} declares no signal ${quoted(v)}`);
      arms.push({ b, signal: v as string });
    } else if (field === 'update') {
      const names = typeof v === 'string' ? [v] : Array.isArray(v) ? [...(v as unknown[])] : [];
      if (names.length === 0) throw ErrWorkflowIncorrect.with(`${what}: update is a name or a non-empty list of names`);
      for (const n of names)
        if (declared((spec.updates ?? {}) as Record<string, unknown>, n) === undefined)
          throw ErrWorkflowIncorrect.with(`${what}: workflow ${spec.name} declares no update ${quoted(n)}`);
      arms.push({ b, update: names as string[] });
    } else if (field === 'sleep') {
      if (++sleeps > 1) throw ErrWorkflowIncorrect.with(`${what}: a select takes one sleep branch at most`);
      // A number or `{ until }`, read here into a plain value: sleepUntil reads it again later.
      const sleep = typeof v === 'object' && v !== null ? { until: (v as { until?: unknown }).until } : v;
      arms.push({ b, sleep } as SelectArm);
    } else if (field === 'child') {
      const ref = (v as { [CHILD_OF]?: ChildRef } | null)?.[CHILD_OF];
      if (ref === undefined)
        throw ErrWorkflowIncorrect.with(`${what}: child is a handle from ctx.startChild, got ${describeThrown(v)}`);
      arms.push({ b, child: ref });
    } else throw ErrWorkflowIncorrect.with(`${what} needs one of signal, update, sleep, child`);
  }
  if (arms.length === 0) throw ErrWorkflowIncorrect.with('ctx.select: at least one branch');
  if (arms.length > MAX_SELECT_BRANCHES)
    throw ErrWorkflowIncorrect.with(`ctx.select: at most ${MAX_SELECT_BRANCHES} branches, got ${arms.length}`);
  return arms;
}

/**
 * The select's name in the journal: each branch's name and what it waits for, in order (not a
 * sleep's length, computed from the clock: its deadline is journaled instead).
 */
export function selectKey(arms: readonly SelectArm[]): string {
  return arms
    .map((a) => {
      if ('signal' in a) return `${a.b}=signal:${a.signal}`;
      if ('update' in a) return `${a.b}=update:${a.update.join(',')}`;
      if ('child' in a) return `${a.b}=child:${a.child.kind.name}/${a.child.id}`;
      return `${a.b}=sleep`;
    })
    .join(' | ');
}

/** @internal What `runSelect` needs of the run beyond {@link RunOps}. */
export interface SelectOps extends RunOps {
  /** The attempts running: a child branch's wait is one (the run's end stops it). */
  readonly steps: Set<RunningAttempt>;
  /** Counts a wait for a child's outcome (the instance then only waits: parking, its wake-up). */
  childWait(delta: number): void;
  readonly readOnly: boolean;
  endOfJournal(): Error;
}

/** `ctx.select(branches)` as the run's next operation (see the top of this file). */
export async function runSelect(
  ops: SelectOps,
  sg: SignalSchemas,
  branches: unknown,
): Promise<{ branch: string; value: unknown }> {
  const h = ops.host;
  const arms = selectArms({ name: h.spec.name, signals: sg, updates: h.spec.updates }, branches);
  for (const a of arms) {
    type Take = readonly ['signal' | 'update', string];
    const takes: Take[] =
      'signal' in a ? [['signal', a.signal]] : 'update' in a ? a.update.map((u) => ['update', u]) : [];
    for (const [kind, name] of takes) if (ops.handled(kind, name)) throw handledBy(kind, name);
  }
  const key = selectKey(arms);
  const seq = ops.next();
  const hit = ops.lookup(seq, 'select', key);
  if (hit?.done === true) {
    // Closed by a cancel that struck it (its own `e`; a child that failed is the outcome's).
    if (hit.e !== undefined) {
      const e = revivedError(hit.e);
      if (ErrWorkflowCancelled.is(e)) ops.strike();
      throw e;
    }
    return outcomeOf(ops, arms, hit.v as SelectOutcome);
  }
  if (ops.readOnly) throw ops.endOfJournal();
  ops.checkCancel(); // a journaled select still open when the cancel came
  const sleep = arms.find((a): a is Extract<SelectArm, { sleep: unknown }> => 'sleep' in a);
  const until = hit?.until ?? (sleep === undefined ? undefined : sleepUntil(sleep.sleep, h.clock.now()));
  ops.caughtUp();
  const take = h.awaitSelect(seq, key, arms, until, hit === undefined && until !== undefined);
  const children = arms.filter((a): a is Extract<SelectArm, { child: ChildRef }> => 'child' in a);
  const stopChildren = children.length === 0 ? () => undefined : waitForChildren(ops, children, take);
  try {
    const out = await ops.waitFor<SelectOutcome>(
      (resolve, reject) => {
        take.promise.then(resolve, reject);
        return () => take.drop();
      },
      true,
      until,
      // A cancel that strikes it closes this entry, before anything the body's catch writes.
      { s: seq, t: 'select', n: key, ...(until === undefined ? {} : { until }), at: h.clock.now() },
    );
    return outcomeOf(ops, arms, out);
  } finally {
    stopChildren();
  }
}

/** Asks each child branch's child for its outcome; the first to end settles the select. Returns the stop. */
function waitForChildren(
  ops: SelectOps,
  children: readonly Extract<SelectArm, { child: ChildRef }>[],
  take: SelectTake,
): () => void {
  const ctl = new AbortController();
  let stopped = false;
  const attempt: RunningAttempt = { stop: () => stop(), cancel: () => undefined };
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    ctl.abort();
    ops.steps.delete(attempt);
    ops.childWait(-1);
    ops.host.busy(-1);
  };
  // Counted as a child wait, as `handle.result()` is: the instance's wake-up then looks at it
  // again now and then, so another member resumes it (and asks again) if this one dies.
  ops.host.busy(1);
  ops.childWait(1);
  ops.steps.add(attempt);
  // The engine's own call: only a child's outcome settles its branch; its owner or the store
  // unreachable for a while is waited out (model/engine_failure.ts), until the select stops.
  const ask = (c: (typeof children)[number], n: number): void => {
    ops.host.childResult(c.child.kind, c.child.id, ctl.signal).then(
      (v) => {
        if (!stopped) take.settle({ b: c.b, v });
      },
      (err: unknown) => {
        if (stopped) return;
        if (!isEngineFailure(err))
          return take.settle({ b: c.b, e: storedError(err, undefined, c.child.kind.workflow.failureConverter) });
        const t = setTimeout(() => {
          if (!stopped) ask(c, n + 1);
        }, engineRetryMs(n));
        ctl.signal.addEventListener('abort', () => clearTimeout(t), { once: true });
      },
    );
  };
  for (const c of children) ask(c, 1);
  return stop;
}

/** The branch that won, as the body gets it (the same live and on a replay). */
function outcomeOf(ops: RunOps, arms: readonly SelectArm[], out: SelectOutcome): { branch: string; value: unknown } {
  const arm = arms.find((a) => a.b === out.b);
  if (arm === undefined) throw ErrWorkflowIncorrect.with(`ctx.select: the journal names branch ${quoted(out.b)}`);
  if ('child' in arm && out.e !== undefined)
    throw stepFailed(
      `result ${arm.child.kind.name}/${arm.child.id}`,
      1,
      revivedError(out.e, arm.child.kind.workflow.failureConverter),
    );
  if ('update' in arm) return { branch: out.b, value: updateHandle(ops, out.v as Taken) };
  return { branch: out.b, value: out.v };
}
