// The workflow fault checker's rules (wf_faults.ts runs the rounds; wf_faults_kinds.ts has the
// workflows and the sink). Pure: entities.wf_faults.test.ts feeds them planted violations.
//   - an effect applied twice: one effect (`<instance>/<what>`) delivered under two idempotency
//     keys (the sink de-duplicates by key, so a second key is a second email); or one key carrying
//     two effects (the second would have been dropped as a repeat);
//   - an instance that never completes: an acknowledged start whose record is missing, or still
//     running after the bounded wait (unless a signal it needs was never acknowledged), or failed
//     or cancelled (no body here fails for good: the saga catches its failure);
//   - a sleep that fires early: the step after a sleep (its journal entry, the time its function
//     returned, each of its deliveries) before the sleep's journaled `until`;
//   - a signal lost or doubled: every acknowledged signal consumed exactly once, in the order the
//     checker sent them (each after the previous one was acknowledged), and none never sent;
//   - a compensation not run or run twice: a failed saga has one `undo` per reservation (and one
//     `compensate:` step each in its journal), a saga that succeeded none;
//   - an outcome impossible for the inputs: each workflow's output against its input, and the
//     effects each must have applied exactly once (reservations, charge, mail, steps, the child).

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
}

/** One instance as the harness drove it, and as it ended. */
export interface WfInstance {
  readonly wf: 'wfsaga' | 'wfsleep' | 'wfsignals' | 'wfparent' | 'wfchild';
  readonly id: string;
  readonly input: Record<string, unknown>;
  /** Whether its start was acknowledged (a child's: its parent's). */
  readonly started: boolean;
  /** The signal ids acknowledged, in the order sent (wfsignals). */
  readonly signalsAcked?: readonly string[];
  /** Signals never acknowledged (the harness gave up): the instance may wait for them forever. */
  readonly signalsGivenUp?: number;
  /** Its record, or null when the store has none. */
  readonly record: WfRecord | null;
}

/** What {@link checkWorkflows} found. */
export interface WfCheck {
  violations: string[];
  completed: number;
  /** Running at the end because the harness gave up on one of its signals (not a violation). */
  waitingForSignals: number;
  /** Raw deliveries to the sink, and effects applied (distinct keys). */
  deliveries: number;
  applied: number;
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

/** Checks the instances and the sink's deliveries against the rules above. */
export function checkWorkflows(instances: readonly WfInstance[], deliveries: readonly Delivery[]): WfCheck {
  const v: string[] = [];
  const { keysOf, byKey } = indexDeliveries(deliveries);
  for (const [e, ks] of keysOf)
    if (ks.size > 1) v.push(`effect ${e} applied ${ks.size} times (keys ${[...ks].join(', ')})`);
  for (const [k, ds] of byKey) {
    const es = new Set(ds.map((d) => d.e));
    if (es.size > 1) v.push(`idempotency key ${k} carried ${es.size} effects (${[...es].join(', ')})`);
  }
  /** How many times effect `what` of instance `id` was applied (distinct keys). */
  const applied = (id: string, what: string): number => keysOf.get(`${id}/${what}`)?.size ?? 0;
  const once = (id: string, what: string, n = 1): void => {
    const got = applied(id, what);
    if (got !== n) v.push(`${id}: effect ${what} applied ${got} times, expected ${n}`);
  };
  const out: WfCheck = {
    violations: v,
    completed: 0,
    waitingForSignals: 0,
    deliveries: deliveries.length,
    applied: byKey.size,
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
    if (rec.status === 'running') {
      if ((inst.signalsGivenUp ?? 0) > 0) out.waitingForSignals++;
      else v.push(`${where}: never completed (still running after the bounded wait; ${rec.runs} runs)`);
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
      case 'wfsaga': {
        const items = input.items as number;
        const fail = input.fail === true;
        expect(fail ? 'rolled-back' : 'done');
        for (let i = 0; i < items; i++) {
          once(id, `reserve-${i}`);
          const undo = applied(id, `undo-${i}`);
          out.compensations += undo;
          if (fail && undo === 0) v.push(`${where}: compensation undo-${i} was not run`);
          if (undo > 1) v.push(`${where}: compensation undo-${i} was run ${undo} times`);
          if (!fail && undo > 0) v.push(`${where}: compensation undo-${i} ran, but the saga succeeded`);
          const steps = rec.journal.filter((e) => e.t === 'step' && e.n === `compensate:reserve-${i}`).length;
          if (steps !== (fail ? 1 : 0))
            v.push(`${where}: ${steps} compensate:reserve-${i} steps journaled, expected ${fail ? 1 : 0}`);
        }
        once(id, 'charge', fail ? 0 : 1);
        once(id, 'mail', fail ? 0 : 1);
        break;
      }
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
          for (const d of byKey.get(`${inst.wf}/${id}/${next.s}`) ?? []) ran.push(d.at);
          const first = Math.min(...ran);
          if (first < s.until)
            v.push(`${where}: the sleep at ${s.s} fired early: its next step ran at ${first}, before until ${s.until}`);
          out.sleepLateness.push(next.at - s.until);
        }
        break;
      }
      case 'wfsignals': {
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
        for (const sid of seen.keys())
          if (!acked.includes(sid)) v.push(`${where}: consumed signal ${sid}, which was never acknowledged`);
        if (got.length === acked.length && got.some((sid, i) => sid !== acked[i]))
          v.push(`${where}: signals consumed in order ${got.join(',')}, sent in order ${acked.join(',')}`);
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

/** The events of a node's log the latency needs. */
export interface WfLoggedEvent {
  readonly event: string;
  readonly kind: string;
  readonly key: string;
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
