// The workflow fault checker's rules (wf_faults.ts runs the rounds; wf_faults_kinds.ts has the
// workflows and the sink). Pure: entities.wf_faults.test.ts feeds them planted violations. An
// idempotency key is opaque here: effects are told apart by what they stand for.
//   - every effect's key names one operation: one effect (`<instance>/<what>`) delivered under
//     two idempotency keys (the sink de-duplicates by key, so a second key is a second email), or
//     one key carrying two effects (the second would have been dropped as a repeat);
//   - no effect after its instance ended: a delivery later than the instance's `endedAt` (one
//     clock: the test hosts share the machine's);
//   - no effect from an activation that had lost its lease: a delivery by a process after another
//     process activated the instance with a newer fencing token, later than the deliverer's own
//     last activation of it;
//   - no step re-run without a kill, a pause or a move: a second delivery of one key by the same
//     process (`<node>#<incarnation>`: a kill makes a new one) unless that process was paused in
//     between, or its activation of the instance ended (or was refused), or another process
//     activated or wrote the instance in between;
//   - a refusal creates nothing: an instance whose every start was refused ERR_ENTITY_OVERLOADED
//     (then given up) is not in the store;
//   - every instance ends: an acknowledged start whose record is missing, or still running after
//     the bounded wait (unless a signal it needs was never acknowledged), or failed, or cancelled
//     without a cancel asked;
//   - compensations only for failed or cancelled instances, each once by key, newest first: a saga
//     that succeeded has none; one rolled back has one undo per reservation; one cancelled has
//     one undo per reservation made and a refund for a charge journaled done (a charge delivered
//     but journaled failed is a violation: its refund can never run); each compensation after
//     what it undoes, journaled once, in reverse order of the pushes (journal and deliveries);
//   - an order (wforder) ends shipped, expired or cancelled, never failed: shipped only with its
//     confirmation taken, then never compensated; expired only when its wait timed out, with both
//     compensations; cancelled (a cancel asked) with every compensation of a step journaled done
//     applied once, none of a step not journaled, refund before unreserve, ship journaled only
//     as returned after the cancel (marked `c`);
//   - no engine error reaches a body: a journal entry (a step's or a retry entry's failure, a
//     wait's: sleep, signal, update, continue, child) or an instance's end carrying an engine's
//     code (ERR_PROCESS_*, ERR_WORKFLOW_RUN_ENDED, ERR_ENTITY_*, ERR_TIMEOUT, ERR_NO_CONNECTION …);
//   - attempts counted match the step's own failures: a step journaled after more attempts than
//     its own function failed (the saga's flaky charge: 2; every other step: 1) had an engine
//     failure — a hand-off during its retry backoff, say — counted as an attempt;
//   - no replay diverges where the body never changed (every kind but the saga a deploy patches);
//   - `result()` agrees: asked of every ended instance through a random member at the end, it
//     answers the record's status (and output);
//   - a sleep that fires early: the step after a sleep (its journal entry, the time its function
//     returned, each of its deliveries) before the sleep's journaled `until`;
//   - a signal lost or doubled: every acknowledged signal consumed exactly once, in the order the
//     checker sent them (each after the previous one was acknowledged), and none never sent;
//   - an outcome impossible for the inputs: each workflow's output against its input, and the
//     effects each must have applied exactly once (reservations, charge, audits behind patches
//     journaled, mail, steps, the child).

import type { StoredError, WorkflowJournalEntry } from '../src/index.js';
import type { Delivery } from './wf_faults_kinds.js';

/** An instance's record as stored (the engine's WorkflowRecord, read from the store). */
export interface WfRecord {
  readonly status?: string;
  readonly input?: unknown;
  readonly output?: unknown;
  readonly error?: StoredError;
  readonly journal: readonly WorkflowJournalEntry[];
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly runs: number;
  /** Set while a replay diverged (a rolling deploy's mixed versions): halted until resumed. */
  readonly blocked?: StoredError;
  /** Its search attributes (wfupd sets `taken`). */
  readonly attributes?: Readonly<Record<string, unknown>>;
  /** The cancel asked (its reason), once one was saved. */
  readonly cancel?: string;
  /** The current run's number (continue-as-new; absent: 1) and the runs it continued from. */
  readonly run?: number;
  readonly previousRuns?: readonly { readonly run: number; readonly status: string }[];
}

/** What `result()` answered at the end: the outcome, or `none` when no member answered in time. */
export type WfResultSeen =
  | { readonly status: 'completed'; readonly output: unknown }
  | { readonly status: 'failed' | 'cancelled' }
  | { readonly status: 'none'; readonly why: string };

/** One instance as the harness drove it, and as it ended. */
export interface WfInstance {
  readonly wf: 'wfsaga' | 'wfsleep' | 'wfsignals' | 'wfparent' | 'wfchild' | 'wfcan' | 'wfupd' | 'wforder';
  readonly id: string;
  readonly input: Record<string, unknown>;
  /** Whether its start was acknowledged (a child's: its parent's). */
  readonly started: boolean;
  /** Every answer an update got (wfupd), each id asked twice: the first ask's and the repeat's. */
  readonly answers?: readonly { readonly uid: string; readonly answer: unknown }[];
  /** The signal (or update: wfupd) ids acknowledged, in the order sent (wfsignals, wfcan, wfupd). */
  readonly signalsAcked?: readonly string[];
  /** Signals never acknowledged (the harness gave up): the instance may wait for them forever. */
  readonly signalsGivenUp?: number;
  /** The given-up signals whose outcome is unknown: an attempt may have landed, so may be consumed. */
  readonly signalsUnknown?: readonly string[];
  /**
   * A cancel the harness sent: answered 'cancelled', refused as `closed` (the instance had ended),
   * or `unknown` (never answered: it may have been stored).
   */
  readonly cancel?: 'cancelled' | 'closed' | 'unknown';
  /** Why a replay of it diverged (it was seen halted) though its body never changed. */
  readonly diverged?: string;
  /**
   * Its start was refused ERR_ENTITY_OVERLOADED at every ask and then given up (the overload
   * mode's load): a refusal creates nothing, so the store must have no such instance.
   */
  readonly refusedOnly?: boolean;
  /** What `result()` answered at the end (asked of ended instances). */
  readonly result?: WfResultSeen;
  /** Its record, or null when the store has none. */
  readonly record: WfRecord | null;
}

/** A SIGSTOP of one process (`<node>#<incarnation>`), until its SIGCONT (undefined: never continued). */
export interface PauseMark {
  readonly source: string;
  readonly from: number;
  readonly to?: number;
}

/** The events of a node's log the rules need (`at`: when it was logged, epoch ms). */
export interface WfLoggedEvent {
  readonly event: string;
  readonly kind: string;
  readonly key: string;
  readonly source: string;
  readonly at?: number;
  /** The activation's fencing token (activated events). */
  readonly token?: number;
}

/** What the run did to the processes: the pauses, and every node's logged events. */
export interface WfMarks {
  readonly pauses: readonly PauseMark[];
  readonly events: readonly WfLoggedEvent[];
}

/** What {@link checkWorkflows} found. */
export interface WfCheck {
  violations: string[];
  completed: number;
  /** Ended cancelled (asked by the harness). */
  cancelled: number;
  /** Running at the end because the harness gave up on one of its signals (not a violation). */
  waitingForSignals: number;
  /** Raw deliveries to the sink, and effects applied (distinct keys). */
  deliveries: number;
  applied: number;
  /** Repeats of a key by the same process that a pause, a loss of the instance or a move explains. */
  rerunsExplained: number;
  /**
   * Effects from an activation that had lost its lease, each let out by a pause landing between
   * its lease check and the effect (the window docs/workflows.md names, "No side effect from an
   * activation that may have lost its lease"): its deliverer was stopped before the takeover and
   * the effect reached the sink within {@link PAUSE_WINDOW_MS} of its SIGCONT. Not violations;
   * the key rules still hold for them (the sink absorbs the repeat).
   */
  lateInPauseWindow: number;
  /** Sleeps checked, and how late the step after each ran (ms). */
  sleepLateness: number[];
  /** Compensations applied. */
  compensations: number;
}

/** The keys each effect was delivered under, and the deliveries of each key. */
function indexDeliveries(ds: readonly Delivery[]): {
  keysOf: Map<string, Set<string>>;
  byKey: Map<string, Delivery[]>;
} {
  const keysOf = new Map<string, Set<string>>();
  const byKey = new Map<string, Delivery[]>();
  for (const d of ds) {
    let ks = keysOf.get(d.e);
    if (ks === undefined) keysOf.set(d.e, (ks = new Set()));
    ks.add(d.k);
    let l = byKey.get(d.k);
    if (l === undefined) byKey.set(d.k, (l = []));
    l.push(d);
  }
  return { keysOf, byKey };
}

/** How long after an effect its activation's `activated` event may be logged (see deliveryRules). */
const ACTIVATED_LAG_MS = 100;

/**
 * How soon after its SIGCONT a paused activation's effect must reach the sink to count as let out
 * by the documented window (the step function was already called, or is in the same turn as the
 * check): the step's own request on a loaded host. Later than this, it is a violation.
 */
export const PAUSE_WINDOW_MS = 5_000;

/** The instance id an effect belongs to (`<instance>/<what>`). */
const instanceOf = (e: string): string => e.slice(0, e.indexOf('/'));

/** The rules on deliveries alone: keys, effects after the end, stale activations, re-runs. */
function deliveryRules(
  instances: readonly WfInstance[],
  deliveries: readonly Delivery[],
  marks: WfMarks,
  v: string[],
): { explained: number; lateInPauseWindow: number } {
  const { keysOf, byKey } = indexDeliveries(deliveries);
  for (const [e, ks] of keysOf)
    if (ks.size > 1) v.push(`effect ${e} applied ${ks.size} times (keys ${[...ks].join(', ')})`);
  for (const [k, ds] of byKey) {
    const es = new Set(ds.map((d) => d.e));
    if (es.size > 1) v.push(`idempotency key ${k} carried ${es.size} effects (${[...es].join(', ')})`);
  }
  const byId = new Map(instances.map((i) => [i.id, i]));
  const eventsOf = new Map<string, WfLoggedEvent[]>();
  for (const e of marks.events) {
    if (e.at === undefined) continue;
    const k = `${e.kind}/${e.key}`;
    let l = eventsOf.get(k);
    if (l === undefined) eventsOf.set(k, (l = []));
    l.push(e);
  }
  const srcOf = (d: Delivery): string => d.src ?? d.node;
  // No effect after its instance ended; none from an activation that had lost its lease.
  const stale = new Set<string>();
  let lateInPauseWindow = 0;
  for (const d of deliveries) {
    const inst = byId.get(instanceOf(d.e));
    if (inst === undefined) continue;
    const where = `${inst.wf}/${inst.id}`;
    const end = inst.record?.endedAt;
    // The documented window again: stopped before the end, the effect out right after its SIGCONT.
    const pausedOver = (at: number): boolean =>
      marks.pauses.some(
        (p) =>
          p.source === d.src && p.from <= at && p.to !== undefined && d.at >= p.to && d.at - p.to <= PAUSE_WINDOW_MS,
      );
    if (end !== undefined && d.at > end && d.src !== undefined && pausedOver(end)) lateInPauseWindow++;
    else if (end !== undefined && d.at > end)
      v.push(
        `${where}: effect ${d.e} delivered by ${srcOf(d)} at ${d.at}, ${d.at - end} ms after the instance ended ${inst.record?.status ?? ''}`,
      );
    if (d.src === undefined) continue;
    const evs = eventsOf.get(where) ?? [];
    let own = -Infinity;
    let ownToken: number | undefined;
    // The deliverer's activation may be logged a moment after its first effects: a key's inbox
    // (its wake-up fire among it) is replayed during the activation's start, before `activated` is
    // published, and the body may run a step then. An activation logged within ACTIVATED_LAG_MS
    // after the delivery counts as the deliverer's own.
    for (const e of evs)
      if (e.source === d.src && e.event === 'activated' && e.at! <= d.at + ACTIVATED_LAG_MS && e.at! >= own) {
        own = e.at!;
        ownToken = e.token;
      }
    if (own === -Infinity) continue;
    // Another activation supersedes this one only with a newer fencing token: one that finished
    // its start later with an older token (it took the lease before this one took it over) was
    // stale from the start, and its writes were refused.
    const newer = (e: WfLoggedEvent): boolean => e.token === undefined || ownToken === undefined || e.token > ownToken;
    const other = evs.find(
      (e) => e.source !== d.src && e.event === 'activated' && e.at! > own && e.at! < d.at && newer(e),
    );
    // The documented window: the deliverer was stopped before the takeover and the effect came
    // out right after its SIGCONT (its lease was checked before the stop).
    const inWindow = other !== undefined && pausedOver(other.at!);
    if (inWindow) lateInPauseWindow++;
    else if (other !== undefined && !stale.has(`${d.src} ${where}`)) {
      stale.add(`${d.src} ${where}`);
      v.push(
        `${where}: effect ${d.e} delivered by ${d.src} at ${d.at}, after ${other.source} activated the instance at ${other.at} (${d.src}'s own activation at ${own}): an effect from an activation that had lost its lease`,
      );
    }
  }
  // No re-run of a key by one process without a pause of it, a loss of the instance, or a move.
  let explained = 0;
  for (const [k, ds] of byKey) {
    const sorted = [...ds].sort((a, b) => a.at - b.at);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      if (a.src === undefined || a.src !== b.src) continue;
      const inst = byId.get(instanceOf(b.e));
      if (inst === undefined) continue;
      const where = `${inst.wf}/${inst.id}`;
      const paused = marks.pauses.some((p) => p.source === a.src && p.from <= b.at && (p.to ?? Infinity) >= a.at);
      const lost = (eventsOf.get(where) ?? []).some(
        (e) =>
          e.at! >= a.at &&
          e.at! <= b.at &&
          (e.source === a.src ? e.event !== 'written' : e.event === 'activated' || e.event === 'written'),
      );
      if (paused || lost) explained++;
      else
        v.push(
          `${where}: key ${k} (${b.e}) delivered again by ${a.src} ${b.at - a.at} ms later (at ${a.at} and ${b.at}), with no kill or pause of it and no loss or move of the instance in between`,
        );
    }
  }
  return { explained, lateInPauseWindow };
}

/** The newest saga body version the rules look for audits of (a run deploys far fewer). */
const MAX_VERSION = 1000;

/** The saga's rules: outcome for the input and the cancel, effects, compensations and their order. */
function sagaRules(
  inst: WfInstance,
  rec: WfRecord,
  applied: (what: string) => number,
  deliveriesOf: (what: string) => readonly Delivery[],
  v: string[],
): number {
  const where = `${inst.wf}/${inst.id}`;
  const items = inst.input.items as number;
  const fail = inst.input.fail === true;
  const status = rec.status;
  const out = rec.output;
  const flag = (what: string): void => void v.push(`${where}: ${what}`);
  const want = (what: string, n: number): void => {
    const got = applied(what);
    if (got !== n) flag(`effect ${what} applied ${got} times, expected ${n}`);
  };
  const compensated = status === 'cancelled' || (status === 'completed' && out === 'rolled-back');
  if (status === 'completed' && out !== (fail ? 'rolled-back' : 'done'))
    flag(
      `output ${JSON.stringify(out)} is impossible for its input (expected ${JSON.stringify(fail ? 'rolled-back' : 'done')})`,
    );
  const journaled = (n: string): WorkflowJournalEntry[] => rec.journal.filter((e) => e.t === 'step' && e.n === n);
  const comps = rec.journal.filter((e) => e.t === 'step' && e.n.startsWith('compensate:')).sort((a, b) => a.s - b.s);
  let count = 0;
  for (let i = 0; i < items; i++) {
    const undo = applied(`undo-${i}`);
    count += undo;
    if (!compensated && undo > 0) flag(`compensation undo-${i} ran, but the saga ${status} ${JSON.stringify(out)}`);
    if (status === 'completed') want(`reserve-${i}`, 1);
    if (compensated && applied(`reserve-${i}`) > 0 && undo === 0)
      flag(`compensation undo-${i} was not run (reservation ${i} was made; ${status})`);
  }
  const charge = journaled('charge')[0];
  const refund = applied('refund');
  count += refund;
  if (status === 'completed') {
    want('charge', out === 'done' ? 1 : 0);
    want('mail', out === 'done' ? 1 : 0);
    if (refund > 0) flag(`compensation refund ran, but the saga completed ${JSON.stringify(out)}`);
  }
  if (status === 'cancelled') {
    if (inst.cancel === undefined || inst.cancel === 'closed')
      flag(`ended cancelled, but no cancel was ${inst.cancel === 'closed' ? 'accepted' : 'asked'}`);
    if (charge?.done === true && charge.e === undefined && refund === 0)
      flag('compensation refund was not run (the charge was journaled done; cancelled)');
  }
  if (charge?.e !== undefined && applied('charge') > 0)
    flag(`the charge was delivered but journaled failed (${charge.e.message}): its refund can never run`);
  if (refund > 0 && applied('charge') === 0) flag('refunded a charge never made');
  // Audits: one behind each patch marker journaled, none without.
  for (const e of rec.journal) if (e.t === 'patch' && status === 'completed') want(`audit-${e.n}`, 1);
  for (let k = 2; k <= MAX_VERSION; k++)
    if (applied(`audit-v${k}`) > 0 && !rec.journal.some((e) => e.t === 'patch' && e.n === `v${k}`))
      flag(`effect audit-v${k} applied, but the journal has no patch v${k}`);
  // Each compensation journaled once, newest first (the reverse of the pushes: reserve-0.., charge).
  const rank = (n: string): number =>
    n === 'compensate:charge' ? Infinity : Number(n.slice('compensate:reserve-'.length));
  const names = comps.map((e) => e.n);
  for (const n of new Set(names)) {
    const c = names.filter((x) => x === n).length;
    if (c > 1) flag(`${c} ${n} steps journaled`);
  }
  if (!compensated && comps.length > 0)
    flag(`${names.join(', ')} journaled, but the saga ${status} ${JSON.stringify(out)}`);
  if (names.some((n, i) => i > 0 && rank(n) >= rank(names[i - 1]!)))
    flag(`compensations journaled in order ${names.join(', ')}: not newest first`);
  // Their deliveries in the same order, each after the last delivery of what it undoes.
  const effectOf = (n: string): [string, string] =>
    n === 'compensate:charge'
      ? ['refund', 'charge']
      : [`undo-${n.slice('compensate:reserve-'.length)}`, n.slice('compensate:'.length)];
  let prev: { n: string; at: number } | undefined;
  for (const n of names) {
    const [undo, done] = effectOf(n);
    const first = Math.min(...deliveriesOf(undo).map((d) => d.at));
    if (first === Infinity) continue;
    const last = Math.max(...deliveriesOf(done).map((d) => d.at));
    if (last > first) flag(`${undo} delivered at ${first}, before ${done}'s delivery at ${last}`);
    if (prev !== undefined && first < prev.at)
      flag(`${undo} delivered at ${first}, before ${prev.n} at ${prev.at}: not newest first`);
    prev = { n: undo, at: first };
  }
  return count;
}

/**
 * Codes only the engine throws (the checker's own list, not the engine's): one in any journal
 * entry — a step's or a retry entry's failure, a wait's, an instance's end — is an engine failure
 * that reached the body. No step function of the checker's workflows throws one itself.
 */
const ENGINE_CODE =
  /^(ERR_PROCESS_|ERR_WORKFLOW_RUN_ENDED$|ERR_ENTITY_|ERR_TIMEOUT$|TIMEOUT$|ERR_NO_CONNECTION$|ERR_NO_ROUTE$|ERR_NAME_UNKNOWN$|ERR_NODE_TERMINATED$|ERR_NETWORK_STOPPED$|ERR_RESPONSE_IGNORED$|ERR_REGISTRAR_TERMINATED$)/;

/**
 * The attempts a step's journal entry may count: one more than the step's own failures. Only the
 * saga's charge fails by itself (its first attempt when `flaky`); every other step of the
 * checker's workflows succeeds at its first attempt, so more attempts are engine failures (a
 * hand-off, a run's end) counted as the step's. An attempt cut short by a kill is not counted
 * (the replay runs the same attempt), so the figure is exact, not a bound.
 */
function expectedAttempts(inst: WfInstance, e: WorkflowJournalEntry): number | undefined {
  if (e.t !== 'step' || e.done !== true || e.c === true) return undefined;
  if (inst.wf === 'wfsaga' && e.n === 'charge') return inst.input.flaky === true ? 2 : 1;
  return e.e === undefined ? 1 : undefined;
}

/** The order's rules (wforder): outcome, confirmation, compensations (see the top of this file). */
function orderRules(
  inst: WfInstance,
  rec: WfRecord,
  applied: (what: string) => number,
  deliveriesOf: (what: string) => readonly Delivery[],
  v: string[],
): number {
  const where = `${inst.wf}/${inst.id}`;
  const flag = (what: string): void => void v.push(`${where}: ${what}`);
  const want = (what: string, n: number): void => {
    const got = applied(what);
    if (got !== n) flag(`effect ${what} applied ${got} times, expected ${n}`);
  };
  const { status, output: out } = rec;
  const confirm = rec.journal.find((e) => e.t === 'signal' && e.n === 'confirm');
  const taken = confirm?.done === true && confirm.e === undefined;
  const journaled = (n: string): boolean =>
    rec.journal.some((e) => e.t === 'step' && e.n === n && e.done === true && e.e === undefined);
  const unreserve = applied('unreserve');
  const refund = applied('refund');
  if (status === 'completed' && out === 'shipped') {
    for (const w of ['reserve', 'charge', 'ship']) want(w, 1);
    if (!taken) flag('shipped, but its journal has no confirmation taken');
    if (unreserve + refund > 0) flag(`a confirmed order was compensated (unreserve ${unreserve}, refund ${refund})`);
  } else if (status === 'completed' && out === 'expired') {
    if (confirm?.e?.code !== 'ERR_WORKFLOW_TIMEOUT') flag('expired, but its confirmation wait did not time out');
    for (const w of ['reserve', 'charge', 'unreserve', 'refund']) want(w, 1);
    want('ship', 0);
  } else if (status === 'completed') flag(`output ${JSON.stringify(out)} is impossible for an order`);
  else {
    if (inst.cancel === undefined || inst.cancel === 'closed')
      flag(`ended cancelled, but no cancel was ${inst.cancel === 'closed' ? 'accepted' : 'asked'}`);
    for (const [step, undo] of [
      ['reserve', 'unreserve'],
      ['charge', 'refund'],
    ] as const) {
      const n = applied(undo);
      if (journaled(step) && n !== 1)
        flag(`cancelled: compensation ${undo} applied ${n} times (${step} was journaled)`);
      if (!journaled(step) && n > 0) flag(`cancelled: compensation ${undo} applied, but ${step} was never journaled`);
    }
    // A ship that returned after the cancel is journaled done and marked `c`: the cancel strikes
    // there and the body compensates (docs/workflows.md, Cancel); one done before it ends shipped.
    if (rec.journal.some((e) => e.t === 'step' && e.n === 'ship' && e.done === true && e.c !== true))
      flag('cancelled after ship was journaled done before the cancel');
  }
  if (refund > 0 && applied('charge') === 0) flag('refunded a charge never made');
  // Each compensation journaled once, the refund first, each delivered after what it undoes.
  const names = rec.journal.filter((e) => e.t === 'step' && e.n.startsWith('compensate:')).map((e) => e.n);
  for (const n of new Set(names))
    if (names.filter((x) => x === n).length > 1) flag(`${names.filter((x) => x === n).length} ${n} steps journaled`);
  if (
    names.indexOf('compensate:reserve') >= 0 &&
    names.indexOf('compensate:reserve') < names.indexOf('compensate:charge')
  )
    flag(`compensations journaled in order ${names.join(', ')}: not newest first`);
  for (const [undo, done] of [
    ['unreserve', 'reserve'],
    ['refund', 'charge'],
  ] as const) {
    const first = Math.min(...deliveriesOf(undo).map((d) => d.at));
    const last = Math.max(...deliveriesOf(done).map((d) => d.at));
    if (first !== Infinity && last > first) flag(`${undo} delivered at ${first}, before ${done}'s delivery at ${last}`);
  }
  return unreserve + refund;
}

/** Checks the instances and the sink's deliveries against the rules above. */
export function checkWorkflows(
  instances: readonly WfInstance[],
  deliveries: readonly Delivery[],
  marks: WfMarks = { pauses: [], events: [] },
): WfCheck {
  const v: string[] = [];
  const { keysOf, byKey } = indexDeliveries(deliveries);
  const { explained: rerunsExplained, lateInPauseWindow } = deliveryRules(instances, deliveries, marks, v);
  /** How many times effect `what` of instance `id` was applied (distinct keys). */
  const applied = (id: string, what: string): number => keysOf.get(`${id}/${what}`)?.size ?? 0;
  const deliveriesOf = (id: string, what: string): Delivery[] =>
    [...(keysOf.get(`${id}/${what}`) ?? [])].flatMap((k) =>
      (byKey.get(k) ?? []).filter((d) => d.e === `${id}/${what}`),
    );
  const once = (id: string, what: string, n = 1): void => {
    const got = applied(id, what);
    if (got !== n) v.push(`${id}: effect ${what} applied ${got} times, expected ${n}`);
  };
  const out: WfCheck = {
    violations: v,
    completed: 0,
    cancelled: 0,
    waitingForSignals: 0,
    deliveries: deliveries.length,
    applied: byKey.size,
    rerunsExplained,
    lateInPauseWindow,
    sleepLateness: [],
    compensations: 0,
  };
  for (const inst of instances) {
    const { id, record: rec, input } = inst;
    const where = `${inst.wf}/${id}`;
    if (rec === null || rec.status === undefined) {
      if (inst.started) v.push(`${where}: its start was acknowledged, but the store has no instance`);
      continue;
    }
    if (inst.refusedOnly === true)
      v.push(`${where}: every start was refused ERR_ENTITY_OVERLOADED, yet the store has the instance (${rec.status})`);
    if (inst.diverged !== undefined)
      v.push(`${where}: a replay diverged though its body never changed: ${inst.diverged}`);
    for (const e of [...rec.journal, { e: rec.error, s: 'end', t: undefined, n: undefined }])
      if (e.e?.code !== undefined && ENGINE_CODE.test(e.e.code))
        v.push(
          `${where}: an engine error reached the body (${e.s === 'end' ? 'its end' : `operation ${e.s}${e.t === 'step' || e.t === 'retry' ? ` (${e.t} ${e.n})` : ''}`}: ${e.e.code} ${e.e.message})`,
        );
    // Attempts counted match the step's own failures (a hand-off during a backoff burns none).
    for (const e of rec.journal) {
      const want = expectedAttempts(inst, e);
      if (want !== undefined && (e.a ?? 1) !== want)
        v.push(
          `${where}: step ${e.n} journaled ${e.e === undefined ? 'done' : `failed (${e.e.code ?? e.e.message})`} after ${e.a ?? 1} attempt(s), its own failures allow ${want}`,
        );
    }
    if (rec.status === 'running') {
      if ((inst.signalsGivenUp ?? 0) > 0) out.waitingForSignals++;
      else v.push(`${where}: never completed (still running after the bounded wait; ${rec.runs} runs)`);
      continue;
    }
    // result() agrees with the record (whose effects the rules below check).
    const r = inst.result;
    if (r?.status === 'none') v.push(`${where}: result() did not answer (${r.why}), the instance ended ${rec.status}`);
    else if (r !== undefined && r.status !== rec.status)
      v.push(`${where}: result() answered ${r.status}, the instance ended ${rec.status}`);
    else if (r?.status === 'completed' && JSON.stringify(r.output) !== JSON.stringify(rec.output))
      v.push(`${where}: result() answered ${JSON.stringify(r.output)}, the record holds ${JSON.stringify(rec.output)}`);
    if (inst.wf === 'wfsaga' && (rec.status === 'completed' || rec.status === 'cancelled')) {
      if (rec.status === 'completed') out.completed++;
      else out.cancelled++;
      out.compensations += sagaRules(
        inst,
        rec,
        (what) => applied(id, what),
        (what) => deliveriesOf(id, what),
        v,
      );
      continue;
    }
    if (inst.wf === 'wforder' && (rec.status === 'completed' || rec.status === 'cancelled')) {
      if (rec.status === 'completed') out.completed++;
      else out.cancelled++;
      out.compensations += orderRules(
        inst,
        rec,
        (what) => applied(id, what),
        (what) => deliveriesOf(id, what),
        v,
      );
      continue;
    }
    if (rec.status !== 'completed') {
      v.push(`${where}: ended ${rec.status}${rec.error === undefined ? '' : ` (${rec.error.message})`}`);
      continue;
    }
    out.completed++;
    const expect = (want: unknown): void => {
      if (JSON.stringify(rec.output) !== JSON.stringify(want))
        v.push(
          `${where}: output ${JSON.stringify(rec.output)} is impossible for its input (expected ${JSON.stringify(want)})`,
        );
    };
    switch (inst.wf) {
      case 'wfsaga':
      case 'wforder': // their rules ran above
        break;
      case 'wfsleep': {
        const sleeps = input.sleeps as number[];
        expect(sleeps.length);
        sleeps.forEach((_, i) => once(id, `after-${i}`));
        const bySeq = new Map(rec.journal.map((e) => [e.s, e]));
        for (const s of rec.journal) {
          if (s.t !== 'sleep' || s.until === undefined) continue;
          const next = bySeq.get(s.s + 1);
          if (next === undefined) {
            v.push(`${where}: no operation after the sleep at ${s.s}`);
            continue;
          }
          const ran = [next.at, ...(typeof next.v === 'number' ? [next.v] : [])];
          for (const d of deliveriesOf(id, next.n)) ran.push(d.at);
          const first = Math.min(...ran);
          if (first < s.until)
            v.push(`${where}: the sleep at ${s.s} fired early: its next step ran at ${first}, before until ${s.until}`);
          out.sleepLateness.push(next.at - s.until);
        }
        break;
      }
      case 'wfcan':
      case 'wfsignals': {
        if (inst.wf === 'wfcan') {
          // One run per signal, each continued from the one before: run numbers 1..n, none twice.
          const n = Array.isArray(rec.output) ? rec.output.length : 0;
          const runs = (rec.previousRuns ?? []).map((r) => r.run);
          if ((rec.run ?? 1) !== n)
            v.push(`${where}: ended in run ${rec.run ?? 1}, expected run ${n} (one run per signal)`);
          if (runs.join(',') !== Array.from({ length: n - 1 }, (_, i) => i + 1).join(','))
            v.push(`${where}: linked previous runs ${runs.join(',')}, expected 1..${n - 1}`);
          if ((rec.previousRuns ?? []).some((r) => r.status !== 'continued'))
            v.push(`${where}: a previous run closed otherwise than 'continued'`);
        }
        const acked = inst.signalsAcked ?? [];
        const got = Array.isArray(rec.output) ? (rec.output as string[]) : [];
        const seen = new Map<string, number>();
        for (const sid of got) seen.set(sid, (seen.get(sid) ?? 0) + 1);
        for (const sid of acked) {
          const n = seen.get(sid) ?? 0;
          if (n === 0) v.push(`${where}: acknowledged signal ${sid} was lost`);
          if (n > 1) v.push(`${where}: signal ${sid} was consumed ${n} times`);
          once(id, `consume/${sid}`);
        }
        const unknown = inst.signalsUnknown ?? [];
        for (const sid of seen.keys())
          if (!acked.includes(sid) && !unknown.includes(sid))
            v.push(`${where}: consumed signal ${sid}, which was never acknowledged`);
        if (got.length === acked.length && got.some((sid, i) => sid !== acked[i]))
          v.push(`${where}: signals consumed in order ${got.join(',')}, sent in order ${acked.join(',')}`);
        break;
      }
      case 'wfupd': {
        // Every answered update taken once, in the order sent, applied once, and every answer any
        // caller got the one its position in the output gives (a repeat of the id included).
        const acked = inst.signalsAcked ?? [];
        const got = Array.isArray(rec.output) ? (rec.output as string[]) : [];
        if (JSON.stringify(got) !== JSON.stringify(acked))
          v.push(`${where}: took updates ${got.join(',')}, answered in order ${acked.join(',')}`);
        for (const uid of acked) once(id, `apply/${uid}`);
        for (const { uid, answer } of inst.answers ?? []) {
          const want = `${uid}@${got.indexOf(uid)}`;
          if (answer !== want)
            v.push(`${where}: update ${uid} answered ${JSON.stringify(answer)}, the journal gives ${want}`);
        }
        if (rec.attributes?.taken !== got.length)
          v.push(
            `${where}: search attribute taken ${JSON.stringify(rec.attributes?.taken)}, ${got.length} updates taken`,
          );
        break;
      }
      case 'wfparent': {
        const x = input.x as number;
        expect(2 * (x + 1) + 1);
        once(id, 'prep');
        once(id, 'notify');
        const notified = [...(keysOf.get(`${id}/notify`) ?? [])].flatMap((k) => byKey.get(k) ?? []);
        if (notified.some((d) => d.v !== 2 * (x + 1)))
          v.push(
            `${where}: notified child result ${notified.map((d) => String(d.v)).join(',')}, expected ${2 * (x + 1)}`,
          );
        break;
      }
      case 'wfchild': {
        expect(2 * (input.x as number));
        once(id, 'work');
        break;
      }
    }
  }
  return out;
}

/** A kill -9 of one member: when, and which incarnation (`<node>#<n>`, its log's name). */
export interface KillMark {
  readonly at: number;
  readonly source: string;
}

/**
 * Resume latency after each kill -9 of a member: for each workflow instance active on the killed
 * incarnation (its last logged event there an activation or a write) and not ended before the
 * kill, the time from the kill (or from the end of the sleep it was in, when later) to its next
 * journal entry (or its end). Instances whose next entry waits on the outside (a signal, a
 * child's result) are left out.
 */
export function resumeLatencies(
  kills: readonly KillMark[],
  events: readonly WfLoggedEvent[],
  records: ReadonlyMap<string, WfRecord>,
): number[] {
  const out: number[] = [];
  for (const kill of kills) {
    const last = new Map<string, string>();
    for (const e of events)
      if (e.source === kill.source && e.kind.startsWith('wf')) last.set(`${e.kind}/${e.key}`, e.event);
    for (const [k, ev] of last) {
      if (ev !== 'activated' && ev !== 'written') continue;
      const rec = records.get(k);
      if (rec === undefined || rec.startedAt === undefined || rec.startedAt > kill.at) continue;
      if (rec.endedAt !== undefined && rec.endedAt <= kill.at) continue;
      const after = rec.journal.filter((e) => e.at > kill.at).sort((a, b) => a.at - b.at);
      const next = after[0];
      if (next !== undefined && (next.t === 'signal' || (next.t === 'child' && next.n.startsWith('result ')))) continue;
      const at = next?.at ?? rec.endedAt;
      if (at === undefined) continue;
      let due = kill.at;
      for (const e of rec.journal)
        if (e.t === 'sleep' && e.until !== undefined && e.at <= kill.at && e.until > due) due = e.until;
      out.push(at - due);
    }
  }
  return out;
}

/** What the store's state index holds for one workflow kind: its rows by key and its counts per status. */
export interface WfIndex {
  readonly rows: Readonly<
    Record<string, { status: string; started: number; ended?: number; attributes?: Readonly<Record<string, unknown>> }>
  >;
  readonly counts: Readonly<Record<string, number>>;
}

/**
 * The state index agrees with the records (what `entities.workflows.list` searches): every stored
 * instance has the row its record derives (status, start, end, search attributes), and each
 * kind's counts per status are the tally of its records. `indexes` by workflow kind.
 */
export function indexRules(instances: readonly WfInstance[], indexes: ReadonlyMap<string, WfIndex>): string[] {
  const v: string[] = [];
  const tally = new Map<string, Record<string, number>>();
  for (const inst of instances) {
    const rec = inst.record;
    if (rec === null || rec.status === undefined) continue;
    const t = tally.get(inst.wf) ?? {};
    t[rec.status] = (t[rec.status] ?? 0) + 1;
    tally.set(inst.wf, t);
    const where = `${inst.wf}/${inst.id}`;
    const row = indexes.get(inst.wf)?.rows[inst.id];
    if (row === undefined) {
      v.push(`${where}: no state index row (the record is ${rec.status})`);
      continue;
    }
    // Attribute names sorted: PostgreSQL's jsonb keeps its own key order.
    const attrs = (a: Readonly<Record<string, unknown>> | undefined) => Object.entries(a ?? {}).sort();
    const want = {
      status: rec.status,
      started: rec.startedAt ?? 0,
      ended: rec.endedAt,
      attributes: attrs(rec.attributes),
    };
    const got = { status: row.status, started: row.started, ended: row.ended, attributes: attrs(row.attributes) };
    if (JSON.stringify(got) !== JSON.stringify(want))
      v.push(`${where}: state index row ${JSON.stringify(got)}, its record derives ${JSON.stringify(want)}`);
  }
  for (const [wf, t] of tally) {
    const counts = indexes.get(wf)?.counts ?? {};
    const sorted = (o: Readonly<Record<string, number>>) => JSON.stringify(Object.entries(o).sort());
    if (sorted(counts) !== sorted(t)) v.push(`${wf}: state index counts ${sorted(counts)}, the records' ${sorted(t)}`);
  }
  return v;
}
