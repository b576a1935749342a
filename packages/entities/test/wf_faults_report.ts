// The workflow fault checker's report (wf_faults.ts runs the rounds): what a run reports, and how
// it is assembled once the rounds are over and the rules (wf_faults_check.ts) have judged the
// records, deliveries and logged events — the figures, the resume latencies after each kill -9,
// and the evidence behind each violation. Apart from the round driver because none of it touches
// the cluster: it is a pure function of what the run gathered.

import { percentile, type LoggedEvent } from './faults.js';
import { resumeLatencies, type KillMark, type WfCheck, type WfInstance, type WfRecord } from './wf_faults_check.js';
import type { Delivery } from './wf_faults_kinds.js';
import { storeSummary, type StoreFaultSeen } from './wf_faults_pgha.js';
import type { WfOverloadSeen, WfStarveSeen } from './wf_faults.js';
import type { ScheduleCheck } from './wf_faults_schedule.js';

/** What a run reports. */
export interface WfFaultReport {
  store: 'postgres' | 'sqlite' | 'pg-ha';
  /** With `pg-ha`: per store fault kind, faults, failovers (the primary changed), ms until whole again, notes. */
  storeFaults?: ReturnType<typeof storeSummary>;
  seed: number;
  rounds: number;
  faults: Record<string, number>;
  /** Mid-step kills that saw a step of the victim start before the kill. */
  midstepSeen: number;
  /** Compensation kills that saw a compensation start on their victim before the kill. */
  compkillSeen: number;
  /** Whole-cluster kills at a journal boundary: asked, and seen in the store before the kill, by boundary. */
  boundaries: Record<string, { asked: number; seen: number }>;
  /** Operations: starts and signals acknowledged; given up on (never acknowledged). */
  operations: { starts: number; signals: number; updates: number; givenUp: number };
  /** Cancels sent: answered 'cancelled', refused (the instance had ended), never answered. */
  cancels: { cancelled: number; closed: number; unknown: number };
  /** The saga's body version the last deploy reached; sagas that took a patched path; halted instances resumed. */
  deploys: { version: number; patched: number; resumed: number };
  instances: number;
  completed: number;
  cancelled: number;
  waitingForSignals: number;
  /** Journal entries of every instance, and the body runs beyond the first (resumes). */
  journalEntries: number;
  resumes: number;
  /** The sink: raw deliveries, effects applied (distinct keys), repeats it absorbed. */
  sink: { deliveries: number; applied: number; duplicatesAbsorbed: number };
  /** Repeats of a key on one process that a pause, a loss of the instance or a move explains. */
  rerunsExplained: number;
  /** Effects a pause let out between an activation's lease check and the effect (wf_faults_check.ts). */
  lateInPauseWindow: number;
  compensations: number;
  sleeps: { checked: number; latenessMs: { p50: number; p99: number; max: number } };
  /** After each kill -9 of a member: kill (or sleep's end) → the affected instance's next journal entry. */
  resumeLatencyMs: { samples: number; p50: number; p99: number; max: number };
  violations: string[];
  /** With the overload mode: capacity, offered rate, goodput, refusals by code, latency of admitted work. */
  overload?: WfOverloadSeen;
  /** Each `starve` fault: its member, how long, and the leases and activations it cost. */
  starvation?: WfStarveSeen[];
  /**
   * Activations per workflow instance, re-activations per 1,000 and why activations ended, until
   * the checks began (they ask every instance for its outcome, activating each).
   */
  activations: WfChurn;
  /** Deploys' member stops (stop command → process exit): how long, and how many were killed at 25 s. */
  deployStops?: { samples: number; p50: number; p99: number; max: number; killed: number };
  /** `backoff` faults: backoffs seen before the hand-off, and how each handed off. */
  backoff?: { seen: number; stop: number; pause: number; join: number };
  /** With `schedule`: the schedule's nominal times checked, runs past its cursor, runs resumed. */
  schedule?: Omit<ScheduleCheck, 'violations'>;
  /**
   * The evidence behind the violations (at most 30 instances): each named instance's record
   * (status, cancel, end, journal), its deliveries and its logged activation events, as lines.
   */
  evidence: Record<string, string[]>;
}

/**
 * What a run gathered, as {@link wfFaultReport} reads it: the report's own counts as they are
 * (`rounds`: the rounds run), and what the report is made from.
 */
export interface WfRunTally extends Pick<
  WfFaultReport,
  'store' | 'seed' | 'rounds' | 'faults' | 'midstepSeen' | 'compkillSeen' | 'boundaries' | 'operations' | 'cancels'
> {
  /** The store's faults seen (read with `pg-ha` only). */
  storeSeen: readonly StoreFaultSeen[];
  /** The saga's body version the last deploy reached, and halted instances resumed. */
  version: number;
  resumed: number;
  /** Every instance, children included; `checked`: the same with the answers of `result()`. */
  all: readonly WfInstance[];
  checked: readonly WfInstance[];
  /** The records at the end, by `<wf>/<id>` (null: none stored). */
  records: ReadonlyMap<string, WfRecord | null>;
  /** The rules' findings, every violation of the run added. */
  result: WfCheck;
  deliveries: readonly Delivery[];
  events: readonly LoggedEvent[];
  /** When the rounds and the settling were over and the checks began (activations after it are the checks'). */
  checksFrom: number;
  /** The kill -9s of members measured for the resume latency. */
  kills: readonly KillMark[];
  scheduled: ScheduleCheck | undefined;
}

const stats = (xs: number[]): { p50: number; p99: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? 0 };
};

/** For each instance a violation names (at most 30): its record, deliveries and activation events, as lines. */
function evidenceOf(
  violations: readonly string[],
  instances: readonly WfInstance[],
  deliveries: readonly Delivery[],
  events: readonly {
    event: string;
    kind: string;
    key: string;
    source: string;
    at?: number;
    token?: number;
    reason?: string;
  }[],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  // `<wf>/<id>: ...`, or an effect's or a key's rule naming `<id>/<what>`.
  const ids = violations.flatMap((v) => {
    const m = /^wf\w+\/([^:]+):/.exec(v) ?? /^effect ([^/ ]+)\//.exec(v) ?? /carried \d+ effects \(([^/ ]+)\//.exec(v);
    return m === null ? [] : [m[1]!];
  });
  for (const id of [...new Set(ids)].slice(0, 30)) {
    const inst = instances.find((i) => i.id === id);
    if (inst === undefined) continue;
    const where = `${inst.wf}/${inst.id}`;
    const r = inst.record;
    const lines = [
      `input ${JSON.stringify(inst.input)}${inst.cancel === undefined ? '' : `, cancel ${inst.cancel}`}; ${r === null ? 'no record' : `${r.status ?? '?'} ${JSON.stringify(r.output ?? r.error?.message ?? null)}, started ${r.startedAt}, ended ${r.endedAt}, runs ${r.runs}`}`,
      ...(r?.journal ?? []).map(
        (e) =>
          `journal ${e.s} ${e.t} ${e.n} at ${e.at}${e.a === undefined ? '' : ` a${e.a}`}${e.e === undefined ? '' : ` error ${e.e.code ?? ''} ${e.e.message}`}${e.until === undefined ? '' : ` until ${e.until}`}`,
      ),
      ...deliveries
        .filter((d) => d.e.startsWith(`${inst.id}/`))
        .map((d) => `delivery ${d.at} ${d.src ?? d.node} ${d.e} key ${d.k}`),
      ...events
        .filter((e) => `${e.kind}/${e.key}` === where && e.event !== 'written')
        .map(
          (e) =>
            `event ${e.at ?? '?'} ${e.source} ${e.event} token ${e.token ?? '?'}${e.reason === undefined ? '' : ` (${e.reason})`}`,
        ),
    ];
    out[where] = lines;
  }
  return out;
}

/** The report of a run from what it gathered. */
export function wfFaultReport(t: WfRunTally): WfFaultReport {
  const {
    store,
    storeSeen,
    seed,
    rounds,
    faults,
    midstepSeen,
    compkillSeen,
    boundaries,
    operations,
    cancels,
    version,
    resumed,
    all,
    checked,
    records,
    result,
    deliveries,
    events,
    checksFrom,
    kills,
    scheduled,
  } = t;
  const evidence = evidenceOf(result.violations, checked, deliveries, events);
  const recs = new Map<string, WfRecord>();
  for (const [k, r] of records) if (r !== null) recs.set(k, r);
  const lat = resumeLatencies(kills, events, recs);
  let journalEntries = 0;
  let resumes = 0;
  for (const r of recs.values()) {
    journalEntries += r.journal.length;
    resumes += Math.max(0, r.runs - 1);
  }
  return {
    store,
    ...(store === 'pg-ha' ? { storeFaults: storeSummary(storeSeen) } : {}),
    seed,
    rounds,
    faults,
    midstepSeen,
    compkillSeen,
    boundaries,
    operations,
    cancels,
    deploys: {
      version,
      patched: all.filter((i) => i.wf === 'wfsaga' && i.record?.journal.some((e) => e.t === 'patch') === true).length,
      resumed,
    },
    instances: all.length,
    completed: result.completed,
    cancelled: result.cancelled,
    waitingForSignals: result.waitingForSignals,
    journalEntries,
    resumes,
    sink: {
      deliveries: result.deliveries,
      applied: result.applied,
      duplicatesAbsorbed: result.deliveries - result.applied,
    },
    rerunsExplained: result.rerunsExplained,
    lateInPauseWindow: result.lateInPauseWindow,
    compensations: result.compensations,
    sleeps: { checked: result.sleepLateness.length, latenessMs: stats(result.sleepLateness) },
    resumeLatencyMs: { samples: lat.length, ...stats(lat) },
    violations: result.violations,
    activations: activationChurn(
      (events as readonly ChurnEvent[]).filter((e) => e.at === undefined || e.at < checksFrom),
    ),
    ...(scheduled === undefined
      ? {}
      : {
          schedule: {
            expected: scheduled.expected,
            beyondCursor: scheduled.beyondCursor,
            resumed: scheduled.resumed,
          },
        }),
    evidence,
  };
}

/** The deploys' member stops as the report gives them. */
export function deployStopsSeen(d: {
  readonly ms: readonly number[];
  readonly killed: number;
}): NonNullable<WfFaultReport['deployStops']> {
  return { samples: d.ms.length, ...stats([...d.ms]), killed: d.killed };
}

// Activation churn (issue 89: a starved or overloaded member loses no lease it could have kept,
// so a body is not activated again and again): from the logged events, how many times each
// workflow instance was activated and why each activation ended.

/** One logged runtime event as the churn reads it (faults.ts LoggedEvent). */
export interface ChurnEvent {
  readonly event: string;
  readonly kind: string;
  readonly key: string;
  readonly source: string;
  readonly token?: number;
  readonly reason?: string;
  readonly at?: number;
}

/** What {@link activationChurn} reports. */
export interface WfChurn {
  /** Workflow instances activated at least once. */
  instances: number;
  /** Activations of all of them. */
  activations: number;
  /** Activations per instance. */
  perInstance: { p50: number; p99: number; max: number };
  /** Activations beyond each instance's first, per 1,000 instances. */
  reactivationsPer1000: number;
  /**
   * How the activations ended, by cause: `idle` (passivated idle), `hand-off`, `stopped: <reason>`,
   * `process ended` (its process stopped or was killed with it active: a later incarnation or
   * none logs the next), `still active` (the run's end).
   */
  ends: Record<string, number>;
  /** The instances activated most (at most 5): each activation as `<at> <source> token <t> → <end>`. */
  top: Record<string, string[]>;
}

/** The cause an activation's ending event names (numbers and keys left out, so causes add up). */
function endOf(e: ChurnEvent): string {
  if (e.event === 'passivated') return e.reason === 'hand-off' ? 'hand-off' : 'idle';
  const why = (e.reason ?? '?')
    .replace(/^shutdown: /, '')
    .replace(/wf\w+\/[^:,;) ]+/g, 'K')
    .replace(/\d+/g, 'N');
  return `${e.event}: ${why.slice(0, 80)}`;
}

/** The churn of the workflow kinds (`wf…`) among `events`. */
export function activationChurn(events: readonly ChurnEvent[]): WfChurn {
  // Per instance, its events in order of time (each node's own are in order in its file).
  const byInstance = new Map<string, ChurnEvent[]>();
  for (const e of events) {
    if (!e.kind.startsWith('wf')) continue;
    const k = `${e.kind}/${e.key}`;
    const list = byInstance.get(k);
    if (list === undefined) byInstance.set(k, [e]);
    else list.push(e);
  }
  const counts: number[] = [];
  const ends: Record<string, number> = {};
  const lines = new Map<string, string[]>();
  let activations = 0;
  for (const [k, list] of byInstance) {
    list.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
    const mine: string[] = [];
    list.forEach((e, i) => {
      if (e.event !== 'activated') return;
      // Its end: the next passivated/stopped of the same source and token, unless another of
      // the same source activates first (then its process ended without one logged).
      let end = 'still active';
      for (const n of list.slice(i + 1)) {
        if (n.source !== e.source) continue;
        if (n.event === 'activated') {
          end = 'process ended';
          break;
        }
        if ((n.event === 'passivated' || n.event === 'stopped') && n.token === e.token) {
          end = endOf(n);
          break;
        }
      }
      // Killed or stopped with it active: a later incarnation's activation follows, or none.
      if (end === 'still active' && list.some((n) => n.event === 'activated' && (n.at ?? 0) > (e.at ?? 0)))
        end = 'process ended';
      ends[end] = (ends[end] ?? 0) + 1;
      mine.push(`${e.at ?? '?'} ${e.source} token ${e.token ?? '?'} → ${end}`);
    });
    if (mine.length === 0) continue;
    activations += mine.length;
    counts.push(mine.length);
    lines.set(k, mine);
  }
  const s = [...counts].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
  const top: Record<string, string[]> = {};
  for (const [k, l] of [...lines].sort((a, b) => b[1].length - a[1].length).slice(0, 5)) top[k] = l;
  return {
    instances: counts.length,
    activations,
    perInstance: { p50: at(50), p99: at(99), max: s[s.length - 1] ?? 0 },
    reactivationsPer1000: counts.length === 0 ? 0 : Math.round(((activations - counts.length) / counts.length) * 1000),
    ends,
    top,
  };
}
