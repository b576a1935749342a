// The workflow fault checker: the entities safety checker's test hosts (faults.ts: three entity
// nodes, each in a network-namespace host of its own, and the store — a PostgreSQL server in a
// fourth host, or one SQLite file they share) running `defineWorkflow` workflows
// (wf_faults_kinds.ts: a saga with compensations, durable sleeps, signals, a child workflow, an
// outbox-like step) through randomised rounds of faults: kill -9 of a member (at any time, just as
// a step of it started: mid-step, or just as a compensation of it started), SIGSTOP past the lease
// then SIGCONT (3 s), SIGSTOP longer than failure detection (12–20 s) then SIGCONT while the next
// rounds go on, SIGSTOP past the lease then kill -9, a silent partition between two members, a
// member cut off from everyone (and, with PostgreSQL, from the store), whole-cluster kill -9 +
// restart (at any time, or `boundary`: the moment a chosen journal entry is seen in the store — a
// cancel's strike before its compensations, between them, after them, a signal wait just begun, a
// child's start), and a rolling deploy (members stopped and started one by one onto a saga body that adds
// a step behind `ctx.patched`), a hand-off during a retry backoff (`backoff`: once a saga's flaky
// charge failed its first attempt and waits out a 5 s backoff, its owner is stopped and started,
// paused past the lease, or another member rejoins), and CPU starvation (`starve`: busy loops and
// the member's every thread pinned to one core for `starveMs`, then released). With `overload`
// (WfOverloadOptions) a load generator offers sagas open-loop above the measured capacity through
// every round (refusals honoured, unknown outcomes asked again), and the report gives goodput,
// refusals by code and each starvation's cost. Each round starts workflows through random live members (again with
// the same id until acknowledged), sends the signals (each with an id, again until acknowledged,
// the next after the previous), cancels some sagas mid-flight, and injects one fault; after the
// rounds every instance must end within a bound (orders confirmed and cancelled at random too), and `result()` of each is asked through a random
// member. The rules are wf_faults_check.ts's; besides the violations it measures the resume
// latency after a kill -9 (the report and its assembly: wf_faults_report.ts). Used by entities.wf_faults.test.ts (a few rounds per store) and
// wf_faults_run.ts (the long run). With `store: 'pg-ha'` the store is a Patroni cluster in the test
// hosts, and the store's own faults (wf_faults_pgha.ts) are mixed with the members'.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  cpSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';

import { eventually, within } from '@ergo-ts/test-support';

import { dumpWaits, everySeesEvery, faultCluster, prng, readLogs, type FaultNode } from './faults.js';
import {
  checkWorkflows,
  indexRules,
  type KillMark,
  type PauseMark,
  type WfInstance,
  type WfRecord,
  type WfIndex,
  type WfResultSeen,
} from './wf_faults_check.js';
import { childId, type Delivery, type WfName } from './wf_faults_kinds.js';
import {
  isStoreFault,
  pgHaFaultCluster,
  storeFault,
  WF_STORE_FAULT_KINDS,
  type PgHaFaultCluster,
  type StoreFaultSeen,
  type WfStoreFaultKind,
} from './wf_faults_pgha.js';
import { deployStopsSeen, wfFaultReport, type WfFaultReport } from './wf_faults_report.js';
import { checkSchedule, firstNominal, type ScheduleCheck } from './wf_faults_schedule.js';

export type { WfFaultReport } from './wf_faults_report.js';

/** Every workflow kind the checker's nodes host (the child started by its parent too). */
/**
 * Refusals that say nothing was written: an overloaded owner sheds before it writes, a closed
 * instance takes nothing. Any other failure of an attempt (no answer, a timeout, an unknown
 * outcome, a hand-off under it) may have landed.
 */
const DEFINITE_REFUSALS: ReadonlySet<string> = new Set(['ERR_ENTITY_OVERLOADED', 'ERR_WORKFLOW_CLOSED']);

const WF_NAMES = ['wfsaga', 'wfsleep', 'wfsignals', 'wfparent', 'wfchild', 'wfcan', 'wfupd', 'wforder'] as const;

/** The faults a round applies, one each. */
export const WF_FAULT_KINDS = [
  'midstep',
  'pause',
  'restart',
  'kill',
  'partition',
  'pausekill',
  'isolate',
  'longpause',
  'compkill',
  'deploy',
  'boundary',
  'backoff',
  'starve',
] as const;

/**
 * The journal boundaries a `boundary` round kills the whole cluster at, each as the record it is
 * seen in: a cancel's strike journaled (before the compensations), one compensation journaled of
 * two (between), both (after, before the end is written), an order's confirmation wait journaled
 * open, a parent's child start.
 */
export const WF_BOUNDARIES = {
  strike: (r: WfRecord): boolean =>
    r.journal.some(
      (e) => e.e?.code === 'ERR_WORKFLOW_CANCELLED' && (e.t === 'sleep' || e.t === 'signal' || e.t === 'update'),
    ),
  between: (r: WfRecord): boolean => r.cancel !== undefined && compensations(r) === 1,
  after: (r: WfRecord): boolean => r.status === 'running' && compensations(r) === 2,
  signal: (r: WfRecord): boolean => r.journal.some((e) => e.t === 'signal' && e.done !== true),
  child: (r: WfRecord): boolean => r.journal.some((e) => e.t === 'child' && e.n.startsWith('start ')),
} as const;

const compensations = (r: WfRecord): number => r.journal.filter((e) => e.n.startsWith('compensate:')).length;

/** One of {@link WF_FAULT_KINDS}, or (store `pg-ha`) of the store's own faults. */
export type WfFaultKind = (typeof WF_FAULT_KINDS)[number] | WfStoreFaultKind;

/** Options of {@link runWorkflowFaults}. */
export interface WfFaultOptions {
  rounds: number;
  seed?: number;
  /**
   * The faults of the first rounds, in order (then at random). Default WF_FAULT_KINDS, each once
   * (with `pg-ha`, the store's faults each once first).
   */
  first?: readonly WfFaultKind[];
  /** `pg-ha`: a Patroni cluster in the test hosts, and the store's own faults (wf_faults_pgha.ts). */
  store?: 'postgres' | 'sqlite' | 'pg-ha';
  /** With `pg-ha`: the share of the random rounds whose fault is the store's. Default 0.4. */
  storeShare?: number;
  /** With `pg-ha`: the store faults the rounds draw from. Default all of WF_STORE_FAULT_KINDS. */
  storeKinds?: readonly WfStoreFaultKind[];
  /** With `pg-ha`: where the store's processes' log lines go (default: dropped). */
  storeLog?: (source: string, line: string) => void;
  /** Workflows started per round (of the four kinds, at random). Default 4. */
  workflowsPerRound?: number;
  /** How long a SIGSTOP lasts, in ms. Default 3000 (three leases, twice the heartbeat). */
  pauseMs?: number;
  /** How long a `longpause` SIGSTOP lasts, in ms: drawn in [lo, hi]. Default [12 000, 20 000]. */
  longPauseMs?: readonly [number, number];
  /** The share of sagas the harness cancels mid-flight. Default 0.3. */
  cancelShare?: number;
  /** How long a partition or an isolation lasts, and how long after a kill the victim stays down, in ms. Default 2000. */
  faultMs?: number;
  /** The bound on every instance completing after the last round, in ms. Default 120 000. */
  settleMs?: number;
  /** Start no round after this time (epoch ms). */
  until?: number;
  /**
   * Start no round after this long (ms) from the first round's start: the rounds' time only, not
   * the cluster's start or the capacity's calibration before them.
   */
  roundsMs?: number;
  leaseMs?: number;
  renewMs?: number;
  progress?: (line: string) => void;
  /** Print what the harness and each node wait for when a round runs this long (ms). */
  watchdogMs?: number;
  /** Run a workflow schedule through the rounds and check its starts (wf_faults_schedule.ts). */
  schedule?: boolean;
  /** The overload mode (see {@link WfOverloadOptions}): absent, no load beyond the rounds' own. */
  overload?: WfOverloadOptions;
  /** How long a `starve` fault holds its victim's core, in ms. Default 8000 (eight leases). */
  starveMs?: number;
  /** The busy loops pinned to the starved member's core. Default 3 (it gets about a quarter of it). */
  starveHogs?: number;
  /**
   * Starve by a CPU quota instead of busy loops: the member's process in a cgroup (v1 `cpu`
   * controller, /sys/fs/cgroup/cpu) allowed this share of one CPU (0.05: 5 ms in every 100 ms).
   */
  starveQuota?: number;
  /** A directory the nodes' event logs (one JSON line per runtime event) and the sink are copied to at the end. */
  keepLogs?: string;
}

/**
 * The overload mode: a load generator offers sagas (one reservation, a charge flaky at times, a
 * mail; steps of 300–500 ms) open-loop at `multiple` times the cluster's capacity from the first
 * round to the last, beside the rounds' own workflows and faults. A start refused
 * ERR_ENTITY_OVERLOADED is asked again only after its `retryAfterMs`, and given up (shed) after
 * `refusalsToShed` refusals; one answered ERR_WORKFLOW_OUTCOME_UNKNOWN (or not at all) is asked
 * again with the same id. Each member runs `maxSteps` step attempts at once, so the load meets
 * the members' step lines (and their refusals) rather than only the host's CPU.
 */
export interface WfOverloadOptions {
  /** Offered arrivals per second as a multiple of the capacity. */
  readonly multiple: number;
  /**
   * Sagas per second the cluster completes; absent: measured before the rounds, closed-loop (as
   * many sagas in flight as the members run steps, and half as many again) for `calibrateMs`.
   */
  readonly capacity?: number;
  /** The members' `maxConcurrentSteps`. Default 4. */
  readonly maxSteps?: number;
  /** How long the capacity is measured, in ms (its first fifth a warm-up). Default 15 000. */
  readonly calibrateMs?: number;
  /** Refusals (ERR_ENTITY_OVERLOADED) after which an offered start is given up. Default 3. */
  readonly refusalsToShed?: number;
}

/** What the overload mode measured (the report's `overload`). */
export interface WfOverloadSeen {
  multiple: number;
  /** Sagas per second completed closed-loop before the rounds (or as configured), and how. */
  capacityPerS: number;
  capacityFrom: 'measured' | 'configured';
  offeredPerS: number;
  /** The window the generator offered in, in s. */
  seconds: number;
  /** Starts offered, acknowledged, shed (given up after refusals only), given up otherwise. */
  offered: number;
  acknowledged: number;
  shed: number;
  givenUp: number;
  /** Offers the generator could not make because too many of its own were in flight. */
  notOffered: number;
  /** Every failed ask of an offered start, by code (`no answer`: the harness's own bound). */
  refusals: Record<string, number>;
  /** The rounds' own asks (starts, signals, cancels …) that failed, by code. */
  roundAsksFailed: Record<string, number>;
  /** Offered sagas completed within the window, per second, and as a share of the capacity. */
  goodputPerS: number;
  goodputShare: number;
  /** Offered sagas completed per second in each minute of the window (a collapse shows as a fall). */
  goodputByMinute: number[];
  /** Offered sagas completed in the end, and first offer → end of those (ms). */
  completed: number;
  latencyMs: { p50: number; p99: number; max: number };
}

/** One CPU starvation of a member and what it cost (from the logged events). */
export interface WfStarveSeen {
  source: string;
  ms: number;
  /** How: busy loops pinned beside it, or (`quota`) its share of one CPU. */
  hogs: number;
  quota?: number;
  /** Workflow activations on the member when the starvation began. */
  activeBefore: number;
  /** Its activations that stopped (a lease lost, a store failure) from the start until 5 s after. */
  stopped: number;
  /** Of those active before, activated by another member from the start until 5 s after. */
  reactivatedElsewhere: number;
  /** Workflow activations by any member in that window, and in as long a window just before. */
  activationsDuring: number;
  activationsBefore: number;
}

const sleepFor = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const execFileP = promisify(execFile);

/** p50, p99 and max of `xs`. */
const spread = (xs: readonly number[]): { p50: number; p99: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
  return { p50: at(50), p99: at(99), max: s[s.length - 1] ?? 0 };
};

/** A cancel's answer: accepted, refused because the instance had ended, or never answered. */
type CancelSeen = NonNullable<WfInstance['cancel']>;

/**
 * The seed of round `round`'s own stream of the run seeded `seed` (0: before the rounds, -1: what
 * timing decides): a round's plan does not depend on how many draws the rounds before it made.
 */
export function roundSeed(seed: number, round: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(round + 2, 0x85ebca6b)) >>> 0;
}

/** Runs the rounds on fresh test hosts and checks the result (the caller checks hostsAvailable()). */
export async function runWorkflowFaults(o: WfFaultOptions): Promise<WfFaultReport> {
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  // The fault plan is a function of the seed: each round draws its fault, its victim, its
  // workflows and their inputs from a stream of its own (roundSeed), in the round's one sequential
  // flow. What depends on timing (which member an ask goes through and how often it is asked
  // again, the offered load's sagas, the pauses of the background signals and updates) draws from
  // another stream, so it never shifts the plan.
  let rand = prng(roundSeed(seed, 0));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const noise = prng(roundSeed(seed, -1));
  const anyPick = <T>(xs: readonly T[]): T => xs[Math.floor(noise() * xs.length)]!;
  const anyInt = (lo: number, hi: number): number => lo + Math.floor(noise() * (hi - lo + 1));
  const progress = o.progress ?? ((): void => undefined);
  const storeKind = o.store ?? 'postgres';
  const perRound = o.workflowsPerRound ?? 4;
  const pauseMs = o.pauseMs ?? 3000;
  const [longLo, longHi] = o.longPauseMs ?? [12_000, 20_000];
  const cancelShare = o.cancelShare ?? 0.3;
  const faultMs = o.faultMs ?? 2000;
  const dir = mkdtempSync(join(tmpdir(), 'ergo-wf-faults-'));
  const sinkFile = join(dir, 'sink.jsonl');
  writeFileSync(sinkFile, '');
  const pgHa = storeKind === 'pg-ha';
  const maxSteps = o.overload === undefined ? undefined : (o.overload.maxSteps ?? 4);
  const clusterOpts = {
    dir,
    leaseMs: o.leaseMs,
    renewMs: o.renewMs,
    env: { FN_SINK: sinkFile, ...(maxSteps === undefined ? {} : { FN_MAX_STEPS: String(maxSteps) }) },
  };
  await using cluster =
    storeKind === 'pg-ha'
      ? await pgHaFaultCluster({ ...clusterOpts, ...(o.storeLog === undefined ? {} : { log: o.storeLog }) })
      : await faultCluster({ store: storeKind, ...clusterOpts });
  const storeSeen: StoreFaultSeen[] = [];
  const storeViolations: string[] = [];
  /** Instances seen halted because the store went back in time (ERR_ENTITY_STORE_WENT_BACK). */
  const wentBack = new Set<string>();
  const { hosts, db, nodes, waits } = cluster;
  let roundNo = 0;
  let roundStart = Date.now();
  let lastDump = 0;
  const watchdog =
    o.watchdogMs === undefined
      ? undefined
      : setInterval(() => {
          const age = Date.now() - roundStart;
          if (age < o.watchdogMs! || Date.now() - lastDump < o.watchdogMs!) return;
          lastDump = Date.now();
          void dumpWaits(roundNo, age, waits, nodes, pgHa ? undefined : db, progress);
        }, 1000);
  // No member exits by itself (a store failing over included): every exit is the harness's kill
  // -9 or its stop. Each process is watched from when it is first seen (polled: starts are many).
  const exits: string[] = [];
  const watched = new WeakSet<object>();
  const exitWatch = setInterval(() => {
    for (const n of nodes) {
      const proc = n.proc;
      if (proc === undefined || watched.has(proc)) continue;
      watched.add(proc);
      const who = `${n.name}#${n.incarnation}`;
      const check = (code: number | null, sig: NodeJS.Signals | null): void => {
        if (sig !== 'SIGKILL' && code !== 0) exits.push(`${who}: exited by itself (${sig ?? `code ${String(code)}`})`);
      };
      if (proc.exitCode !== null || proc.signalCode !== null) check(proc.exitCode, proc.signalCode);
      else proc.once('exit', check);
    }
  }, 20);
  const faults: Record<string, number> = Object.fromEntries(
    [...WF_FAULT_KINDS, ...(pgHa ? WF_STORE_FAULT_KINDS : [])].map((k) => [k, 0]),
  );
  const ops = { starts: 0, signals: 0, updates: 0, givenUp: 0 };
  const roundAsksFailed: Record<string, number> = {};
  const cancels = { cancelled: 0, closed: 0, unknown: 0 };
  const instances: {
    wf: WfName;
    id: string;
    input: Record<string, unknown>;
    started: boolean;
    acked: string[];
    lost: number;
    cancel?: CancelSeen;
    /** Every answer an update got (wfupd): the first ask's and a repeat's of the same id. */
    answers: { uid: string; answer: unknown }[];
    /** Why a replay of it diverged, though its body never changed. */
    diverged?: string;
    /** The overload mode's: every ask of its start refused ERR_ENTITY_OVERLOADED, then given up. */
    refusedOnly?: boolean;
    /** Signals given up whose outcome is unknown (an attempt may have landed). */
    unknown: string[];
  }[] = [];
  const boundaries: Record<string, { asked: number; seen: number }> = Object.fromEntries(
    Object.keys(WF_BOUNDARIES).map((b) => [b, { asked: 0, seen: 0 }]),
  );
  const kills: KillMark[] = [];
  const pauses: { source: string; from: number; to?: number }[] = [];
  const background: Promise<void>[] = [];
  let midstepSeen = 0;
  let compkillSeen = 0;
  let version = 1;
  let resumed = 0;
  // The long pause in flight (one at a time): its victim takes no command and no other fault.
  let longPause: { node: FaultNode; over: Promise<void> } | undefined;
  const usable = (): FaultNode[] => nodes.filter((n) => n.alive() && n !== longPause?.node);

  /**
   * Runs `cmd` through random usable members, again until `accept` takes its answer (or 60 s
   * pass): that answer, or the code of an error `final` takes as the answer; undefined when given up.
   */
  const ask = async (
    cmd: string,
    fields: Record<string, unknown>,
    o: {
      final?: (code: unknown) => boolean;
      accept?: (ok: unknown) => boolean;
      giveUpMs?: number;
      /** Told each failed attempt's code ('no answer' when it had none). */
      failed?: (code: string) => void;
    } = {},
  ): Promise<{ ok: unknown } | { code: string } | undefined> => {
    const deadline = Date.now() + (o.giveUpMs ?? 60_000);
    while (Date.now() < deadline) {
      const live = usable();
      if (live.length === 0) {
        await sleepFor(200);
        continue;
      }
      try {
        const ok = await anyPick(live).cmd(cmd, { ...fields, timeout: 4000 }, 8000);
        if (o.accept === undefined || o.accept(ok)) return { ok };
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (o.final?.(code) === true) return { code: code as string };
        // Unavailable, timed out, down or paused: again, with the same id; refused by an
        // overloaded owner: again once its retryAfterMs has passed, not before.
        const k = typeof code === 'string' ? code : 'no answer';
        roundAsksFailed[k] = (roundAsksFailed[k] ?? 0) + 1;
        o.failed?.(k);
        const after = (e as { retryAfterMs?: unknown }).retryAfterMs;
        if (code === 'ERR_ENTITY_OVERLOADED' && typeof after === 'number') await sleepFor(after);
      }
      await sleepFor(50);
    }
    return undefined;
  };
  /**
   * Runs `cmd` until it is acknowledged (a signal: accepted or a duplicate): 'acked'; given up,
   * 'refused' when every attempt was refused by a code that says nothing was written, else
   * 'unknown' (an attempt without an answer, or whose outcome was unknown, may have landed).
   */
  const untilAcked = async (cmd: string, fields: Record<string, unknown>): Promise<'acked' | 'refused' | 'unknown'> => {
    let uncertain = false;
    const r = await ask(cmd, fields, {
      accept: (ok) => cmd !== 'wfsignal' || ok === 'accepted' || ok === 'duplicate',
      failed: (code) => {
        if (!DEFINITE_REFUSALS.has(code)) uncertain = true;
      },
    });
    if (r !== undefined) return 'acked';
    ops.givenUp++;
    return uncertain ? 'unknown' : 'refused';
  };
  // Five minutes on an overloaded host (the watchdog names a wait that runs long).
  const allSee = (): Promise<void> => everySeesEvery(nodes, 300_000);
  // The sink's lines, read on from where the last look stopped: under the overload mode it grows
  // to megabytes, and a fault polls it every few ms. A line cut by a kill -9 joins the next
  // written and fails to parse, as it did when the whole file was read each time.
  const sink = { lines: [] as string[], pos: 0, tail: '' };
  const sinkLines = (): string[] => {
    const fd = openSync(sinkFile, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > sink.pos) {
        const buf = Buffer.alloc(size - sink.pos);
        const n = readSync(fd, buf, 0, buf.length, sink.pos);
        sink.pos += n;
        const parts = (sink.tail + buf.subarray(0, n).toString('utf8')).split('\n');
        sink.tail = parts.pop()!;
        for (const l of parts) if (l !== '') sink.lines.push(l);
      }
    } finally {
      closeSync(fd);
    }
    return sink.lines;
  };
  /** Waits (bounded) for a delivery after line `from` that `match` accepts; the first such. */
  const seeDelivery = (from: number, match: (d: Delivery) => boolean, what: string): Promise<Delivery | undefined> => {
    let found: Delivery | undefined;
    return eventually(
      () => {
        for (const l of sinkLines().slice(from)) {
          try {
            const d = JSON.parse(l) as Delivery;
            if (match(d)) return Boolean((found = d));
          } catch {
            // a line being written: read it whole on the next look
          }
        }
        return false;
      },
      what,
      { timeoutMs: 8000, intervalMs: 5 },
    ).then(
      () => found,
      () => undefined,
    );
  };
  /**
   * kill -9 of `victim`, down for faultMs, then started again; `measured`: a sample of the resume
   * latency (kill and midstep only, the figure's measurement since the first runs).
   */
  const killAndRestart = async (victim: FaultNode, measured: boolean): Promise<void> => {
    if (measured) kills.push({ at: Date.now(), source: `${victim.name}#${victim.incarnation}` });
    await waits.track(`kill ${victim.name}`, victim.kill());
    await sleepFor(faultMs);
    await waits.track(`restart ${victim.name}`, victim.start());
  };
  /** SIGSTOP of `victim`, marked for the checker's re-run rule; `resume` ends the mark. */
  const pause = (victim: FaultNode): (() => void) => {
    const mark: { source: string; from: number; to?: number } = {
      source: `${victim.name}#${victim.incarnation}`,
      from: Date.now(),
    };
    pauses.push(mark);
    victim.pause();
    const incarnation = victim.incarnation;
    return () => {
      if (victim.incarnation !== incarnation) return; // killed meanwhile: a new process
      victim.resume();
      mark.to = Date.now();
    };
  };
  /** Halted instances (a replay diverged under mixed versions) resumed once every member runs the new body. */
  const resumeHalted = async (records: ReadonlyMap<string, WfRecord | null>): Promise<void> => {
    for (const inst of instances) {
      const rec = records.get(`${inst.wf}/${inst.id}`);
      if (rec?.status !== 'running' || rec.blocked === undefined) continue;
      // A store that fails over with synchronous replication never goes back: no instance halts for it.
      if (rec.blocked.code === 'ERR_ENTITY_STORE_WENT_BACK') wentBack.add(`${inst.wf}/${inst.id}`);
      // Only the saga's body changes (a deploy): any other replay that diverged is a fault.
      if (inst.wf !== 'wfsaga' || version === 1) inst.diverged ??= rec.blocked.message;
      const r = await ask('wfresume', { wf: inst.wf, key: inst.id });
      if (r !== undefined && 'ok' in r && r.ok === 'resumed') resumed++;
    }
  };
  const via = (): FaultNode => usable()[0] ?? nodes.find((n) => n.alive())!;
  /** Polls the records of `keys` of `wf` (bounded) until one is at the boundary `at`; whether one was. */
  const seeBoundary = async (wf: string, keys: string[], at: (r: WfRecord) => boolean): Promise<boolean> => {
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      try {
        const recs = (await via().cmd('wfdump', { wf, keys }, 2000)) as Record<string, WfRecord | null>;
        if (Object.values(recs).some((r) => r !== null && at(r))) return true;
      } catch {
        // a member busy or down: look again
      }
      await sleepFor(2);
    }
    return false;
  };
  const keysOf = (wf: string): string[] =>
    wf === 'wfchild'
      ? instances.filter((i) => i.wf === 'wfparent').map((i) => childId(i.id))
      : instances.filter((i) => i.wf === wf).map((i) => i.id);
  /**
   * Every instance's record; with `known`, not those of offered sagas refused every time (the
   * overload mode sheds thousands: a deploy's resume of halted instances need not read them).
   */
  const dumpAll = async (known = false): Promise<Map<string, WfRecord | null>> => {
    const m = new Map<string, WfRecord | null>();
    const shed = known ? new Set(instances.filter((i) => i.refusedOnly === true).map((i) => i.id)) : undefined;
    for (const wf of WF_NAMES) {
      const keys = shed === undefined ? keysOf(wf) : keysOf(wf).filter((k) => !shed.has(k));
      for (let i = 0; i < keys.length; i += 100) {
        const part = (await via().cmd('wfdump', { wf, keys: keys.slice(i, i + 100) }, 60_000)) as Record<
          string,
          WfRecord | null
        >;
        for (const [k, r] of Object.entries(part)) m.set(`${wf}/${k}`, r);
      }
    }
    return m;
  };
  /** Each deploy's member stops: how long each took, and how many had to be killed. */
  const deployStops = { ms: [] as number[], killed: 0 };
  /** A rolling deploy onto body version `to`: each member stopped, then started on it, one by one. */
  const deploy = async (to: number): Promise<void> => {
    for (const n of [...nodes].sort(() => rand() - 0.5)) {
      const stopped = await waits.track(`deploy: stop ${n.name}`, n.stop());
      // How long a deploy's stop takes at the load the run offers (docs/deploy.md: within 10 s).
      deployStops.ms.push(stopped.ms);
      if (stopped.killed) deployStops.killed++;
      n.overrides = { ...n.overrides, FN_WF_VERSION: String(to) };
      await waits.track(`deploy: start ${n.name} on v${to}`, n.start());
      await sleepFor(int(200, 1000)); // the mixed-version window, with work in flight
    }
    await waits.track('every node sees every member', allSee());
    await resumeHalted(await dumpAll(true));
  };

  // The overload mode's load generator (WfOverloadOptions).
  const ov = o.overload;
  const load = {
    offered: 0,
    acknowledged: 0,
    shed: 0,
    givenUp: 0,
    notOffered: 0,
    refusals: {} as Record<string, number>,
    inFlight: 0,
    from: 0,
    to: 0,
    capacity: ov?.capacity ?? 0,
    offers: [] as Promise<void>[],
    stop: undefined as (() => void) | undefined,
  };
  /** When each offered saga was first offered, by id. */
  const offeredAt = new Map<string, number>();
  let loadNo = 0;
  /** A new instance the checker follows (nothing asked of it yet), added to {@link instances}. */
  const track = (wf: WfName, id: string, input: Record<string, unknown>): (typeof instances)[number] => {
    const inst = { wf, id, input, started: false, acked: [], lost: 0, answers: [], unknown: [] };
    instances.push(inst);
    return inst;
  };
  /** A saga of the load: one reservation, a charge (flaky at times), a mail; long steps. */
  const loadSaga = (prefix: string): (typeof instances)[number] => {
    const id = `${prefix}${++loadNo}`;
    const input = { items: 1, fail: false, flaky: noise() < 0.3, stepMs: anyInt(300, 500) };
    const inst = track('wfsaga', id, input);
    offeredAt.set(id, Date.now());
    return inst;
  };
  /**
   * Offers one saga's start: asked again with the same id after no answer or an unknown outcome,
   * after `retryAfterMs` when refused, given up (shed) after `refusalsToShed` refusals or 60 s.
   */
  const offer = async (inst: (typeof instances)[number], counted = true): Promise<void> => {
    const tally = counted ? load : { ...load, refusals: {} as Record<string, number> };
    const deadline = Date.now() + 60_000;
    let refused = 0;
    let other = 0;
    while (Date.now() < deadline) {
      const live = usable();
      if (live.length === 0) {
        await sleepFor(200);
        continue;
      }
      try {
        await anyPick(live).cmd('wfstart', { wf: 'wfsaga', key: inst.id, input: inst.input, timeout: 4000 }, 8000);
        inst.started = true;
        tally.acknowledged++;
        return;
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        const k = typeof code === 'string' ? code : 'no answer';
        tally.refusals[k] = (tally.refusals[k] ?? 0) + 1;
        if (code === 'ERR_ENTITY_OVERLOADED') {
          if (++refused >= (ov?.refusalsToShed ?? 3)) break;
          const after = (e as { retryAfterMs?: unknown }).retryAfterMs;
          await sleepFor(typeof after === 'number' ? after : 1000);
          continue;
        }
        other++;
        // ERR_WORKFLOW_OUTCOME_UNKNOWN, no answer, unavailable: the same id again, soon.
        await sleepFor(code === 'ERR_WORKFLOW_OUTCOME_UNKNOWN' ? 50 : 200);
      }
    }
    if (other === 0 && refused > 0) {
      inst.refusedOnly = true;
      tally.shed++;
    } else tally.givenUp++;
  };
  /** Measures the capacity closed-loop: sagas completed per second with the members' steps kept busy. */
  const calibrate = async (ms: number): Promise<number> => {
    const t0 = Date.now();
    const warm = t0 + ms / 5;
    const end = t0 + ms;
    let done = 0;
    const workers = Math.ceil(3 * (maxSteps ?? 4) * 1.5);
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (Date.now() < end) {
          const inst = loadSaga('cal');
          await offer(inst, false); // the calibration's: not the offered load's figures
          if (!inst.started) continue;
          const r = await ask('wfresult', { wf: 'wfsaga', key: inst.id, timeout: 30_000 }, { giveUpMs: 60_000 });
          const now = Date.now();
          if (r !== undefined && 'ok' in r && now > warm && now <= end) done++;
        }
      }),
    );
    return done / ((end - warm) / 1000);
  };
  /** Starts offering at `multiple` × capacity, open-loop, until `load.stop()`. */
  const startLoad = (): void => {
    const rate = ov!.multiple * load.capacity;
    load.from = Date.now();
    let sent = 0;
    const tick = setInterval(() => {
      const due = Math.floor(((Date.now() - load.from) * rate) / 1000);
      for (; sent < due; sent++) {
        // The harness's own bound: beyond it the machine, not the cluster, would be measured.
        if (load.inFlight >= 3000) {
          load.notOffered++;
          continue;
        }
        load.offered++;
        load.inFlight++;
        load.offers.push(offer(loadSaga('ld')).finally(() => void load.inFlight--));
      }
    }, 20);
    load.stop = () => {
      clearInterval(tick);
      load.to = Date.now();
    };
  };
  const loadNote = (): string =>
    ov === undefined
      ? ''
      : `; load offered ${load.offered}, acked ${load.acknowledged}, shed ${load.shed}, in flight ${load.inFlight}, refusals ${JSON.stringify(load.refusals)}`;

  // CPU starvation (`starve`): busy loops pinned to one core with the victim.
  const hogs = new Set<ChildProcess>();
  const starves: { source: string; from: number; to: number; hogs: number; quota?: number }[] = [];
  const starve = async (victim: FaultNode): Promise<void> => {
    const pid = victim.proc?.pid;
    if (pid === undefined) return;
    const cores = availableParallelism();
    const core = String(cores - 1);
    const quota = o.starveQuota;
    const n = quota === undefined ? (o.starveHogs ?? 3) : 0;
    const from = Date.now();
    if (quota !== undefined) {
      const cg = `/sys/fs/cgroup/cpu/ergo-wf-starve-${pid}`;
      mkdirSync(cg, { recursive: true });
      writeFileSync(join(cg, 'cpu.cfs_period_us'), '100000');
      writeFileSync(join(cg, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(quota * 100_000))));
      writeFileSync(join(cg, 'cgroup.procs'), String(pid)); // every thread of it (v1 moves the process)
      await sleepFor(o.starveMs ?? 8000);
      try {
        writeFileSync('/sys/fs/cgroup/cpu/cgroup.procs', String(pid));
      } catch {
        // killed meanwhile: nothing to move back
      }
      try {
        rmdirSync(cg);
      } catch {
        // a process still in it (it could not be moved): left, harmless
      }
      starves.push({ source: `${victim.name}#${victim.incarnation}`, from, to: Date.now(), hogs: 0, quota });
      return;
    }
    for (let i = 0; i < n; i++) {
      const h = spawn('taskset', ['-c', core, process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' });
      h.on('error', () => undefined);
      hogs.add(h);
    }
    // Every thread of the member (its event loop, libuv's and V8's) onto that core.
    await execFileP('taskset', ['-a', '-p', '-c', core, String(pid)]).catch(() => undefined);
    await sleepFor(o.starveMs ?? 8000);
    for (const h of hogs) h.kill('SIGKILL');
    hogs.clear();
    await execFileP('taskset', ['-a', '-p', '-c', `0-${cores - 1}`, String(pid)]).catch(() => undefined);
    starves.push({ source: `${victim.name}#${victim.incarnation}`, from, to: Date.now(), hogs: n });
  };

  // The hand-off during a retry backoff (`backoff`): how each was made, and backoffs seen first.
  const backoffs = { seen: 0, stop: 0, pause: 0, join: 0 };
  try {
    progress(`seed ${seed}, store ${storeKind}`);
    for (const n of nodes) await n.start();
    await waits.track('every node sees every member', allSee());
    const scheduleFrom = firstNominal(Date.now());
    if (o.schedule === true) {
      const created = await ask(
        'wfsched',
        { op: 'create', startAt: scheduleFrom },
        { final: (c) => c === 'ERR_SCHEDULE_EXISTS' },
      );
      if (created === undefined) throw new Error('the schedule could not be created');
    }
    if (ov !== undefined) {
      if (ov.capacity === undefined) {
        progress(`overload: measuring the capacity (closed loop, ${ov.calibrateMs ?? 15_000} ms)`);
        load.capacity = await calibrate(ov.calibrateMs ?? 15_000);
        if (!(load.capacity > 0)) load.capacity = 1; // nothing completed: offer 1/s × multiple all the same
        // The calibration's result() polls are not the rounds' asks.
        for (const k of Object.keys(roundAsksFailed)) delete roundAsksFailed[k];
      }
      progress(
        `overload: capacity ${load.capacity.toFixed(2)} sagas/s (${ov.capacity === undefined ? 'measured' : 'configured'}); offering ${(ov.multiple * load.capacity).toFixed(2)}/s`,
      );
      startLoad();
    }
    let nextId = 0;
    let done = 0;
    const storeKinds = o.storeKinds ?? WF_STORE_FAULT_KINDS;
    const first = o.first ?? (pgHa ? [...storeKinds, ...WF_FAULT_KINDS] : WF_FAULT_KINDS);
    /** Round `round`'s fault: the first draw(s) of its stream (`r`), after the `first` list. */
    const kindOf = (round: number, r: () => number): WfFaultKind => {
      const of = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      return round <= first.length
        ? first[round - 1]!
        : pgHa && r() < (o.storeShare ?? 0.4)
          ? of(storeKinds)
          : of(WF_FAULT_KINDS);
    };
    // The plan's faults, printed so a run can be read against another with the same seed.
    const planned = Array.from({ length: Math.min(o.rounds, 100) }, (_, i) =>
      kindOf(i + 1, prng(roundSeed(seed, i + 1))),
    );
    progress(
      `fault plan of seed ${seed}: ${planned.map((k, i) => `${i + 1} ${k}`).join(', ')}${o.rounds > 100 ? ', …' : ''}`,
    );
    const roundsFrom = Date.now();
    for (let round = 1; round <= o.rounds; round++) {
      if (o.until !== undefined && Date.now() > o.until) break;
      if (o.roundsMs !== undefined && Date.now() - roundsFrom > o.roundsMs) break;
      done = roundNo = round;
      roundStart = Date.now();
      rand = prng(roundSeed(seed, round));
      const kind = kindOf(round, rand);
      faults[kind]!++;
      // These need every member: the long pause in flight ends first.
      if (longPause !== undefined && (kind === 'restart' || kind === 'deploy' || kind === 'longpause'))
        await waits.track('the long pause ends', longPause.over);
      // The load: workflows started just before the fault, so it meets them at every stage.
      const starts: Promise<unknown>[] = [];
      const from = sinkLines().length;
      const boundary =
        kind === 'boundary' ? pick(Object.keys(WF_BOUNDARIES) as (keyof typeof WF_BOUNDARIES)[]) : undefined;
      const roundFirst = nextId + 1;
      for (let i = 0; i < perRound; i++) {
        // A compensation kill needs a compensation in flight: one saga that fails for good.
        const forced = kind === 'compkill' && i === 0;
        // A hand-off during a backoff needs sagas whose charge fails once and then waits 5 s.
        const backoffSaga = kind === 'backoff' && i < 2;
        // A boundary kill needs what makes its entry: two orders (cancelled in their sleep unless
        // the boundary is their confirmation wait), or a parent.
        const atBoundary = boundary !== undefined && i < 2;
        const wf =
          forced || backoffSaga
            ? 'wfsaga'
            : atBoundary
              ? boundary === 'child'
                ? 'wfparent'
                : 'wforder'
              : pick(['wfsaga', 'wfsleep', 'wfsignals', 'wfparent', 'wfcan', 'wfupd', 'wforder'] as const);
        const id = `${wf.slice(2)}${++nextId}`;
        const stepMs = int(0, 300);
        const input: Record<string, unknown> =
          wf === 'wfsaga'
            ? backoffSaga
              ? { items: 1, fail: false, flaky: true, stepMs: 100, backoffMs: 5000 }
              : forced
                ? { items: 3, fail: true, flaky: false, stepMs: Math.max(stepMs, 150) }
                : { items: int(1, 3), fail: rand() < 0.4, flaky: rand() < 0.3, stepMs }
            : wf === 'wfsleep'
              ? { sleeps: Array.from({ length: int(1, 3) }, () => int(100, 2500)), stepMs }
              : wf === 'wfsignals'
                ? { count: int(1, 3), stepMs }
                : wf === 'wfcan'
                  ? { count: int(1, 4), got: [], stepMs }
                  : wf === 'wfupd'
                    ? { count: int(1, 3), stepMs }
                    : wf === 'wforder'
                      ? { sleepMs: atBoundary ? 1500 : int(100, 1500), confirmMs: int(500, 3000), stepMs }
                      : { x: int(0, 1000), stepMs };
        const inst = track(wf, id, input);
        const cancelAfter =
          atBoundary && wf === 'wforder'
            ? boundary === 'signal'
              ? undefined
              : int(700, 1300) // in its sleep, after its steps
            : (wf === 'wfsaga' || wf === 'wforder') && !forced && !backoffSaga && rand() < cancelShare
              ? int(0, 1500)
              : undefined;
        // An order's confirmation (most orders), sent once at a random time: before its wait, in it, or too late.
        const confirmAfter =
          wf === 'wforder' && !(atBoundary && boundary === 'signal') && rand() < 0.7 ? int(0, 4000) : undefined;
        starts.push(
          untilAcked('wfstart', { wf, key: id, input }).then((answer) => {
            const ok = answer === 'acked';
            inst.started = ok;
            if (ok) ops.starts++;
            // Not acknowledged: it may exist all the same, waiting for signals never sent.
            if (!ok && (wf === 'wfsignals' || wf === 'wfcan' || wf === 'wfupd')) inst.lost = 1;
            if (ok && cancelAfter !== undefined)
              // Cancelled mid-flight through a random member: its compensations run after the cancel.
              background.push(
                (async () => {
                  await sleepFor(cancelAfter);
                  const r = await ask('wfcancel', { wf, key: id }, { final: (c) => c === 'ERR_WORKFLOW_CLOSED' });
                  inst.cancel = r === undefined ? 'unknown' : 'ok' in r ? 'cancelled' : 'closed';
                  cancels[inst.cancel]++;
                })(),
              );
            if (ok && wf === 'wfupd')
              // Its updates, one after another (each once the previous was answered), each asked a
              // second time through a random member: the same id gets the same answer.
              background.push(
                (async () => {
                  for (let u = 0; u < (input.count as number); u++) {
                    await sleepFor(anyInt(0, 800));
                    const uid = `${id}-u${u}`;
                    const r = await ask('wfupdate', { key: id, uid }, { accept: (a) => typeof a === 'string' });
                    if (r === undefined || !('ok' in r)) {
                      ops.givenUp++;
                      inst.lost++;
                      return;
                    }
                    inst.acked.push(uid);
                    inst.answers.push({ uid, answer: r.ok });
                    ops.updates++;
                    const again = await ask('wfupdate', { key: id, uid }, { accept: (a) => typeof a === 'string' });
                    if (again !== undefined && 'ok' in again) inst.answers.push({ uid, answer: again.ok });
                  }
                })(),
              );
            if (ok && confirmAfter !== undefined)
              background.push(
                (async () => {
                  await sleepFor(confirmAfter);
                  const sid = `${id}-confirm`;
                  // Refused once the order ended (ERR_WORKFLOW_CLOSED): a confirmation too late.
                  const r = await ask('wfsignal', { wf, key: id, sid }, { final: (c) => c === 'ERR_WORKFLOW_CLOSED' });
                  if (r !== undefined && 'ok' in r) {
                    inst.acked.push(sid);
                    ops.signals++;
                  }
                })(),
              );
            if (!ok || (wf !== 'wfsignals' && wf !== 'wfcan')) return;
            // Its signals, one after another (each once the previous was acknowledged), spread out.
            background.push(
              (async () => {
                for (let s = 0; s < (input.count as number); s++) {
                  await sleepFor(anyInt(0, 800));
                  const sid = `${id}-s${s}`;
                  const answer = await untilAcked('wfsignal', { wf, key: id, sid });
                  if (answer === 'acked') {
                    inst.acked.push(sid);
                    ops.signals++;
                  } else {
                    inst.lost++;
                    if (answer === 'unknown') inst.unknown.push(sid);
                    return;
                  }
                }
              })(),
            );
          }),
        );
      }
      await Promise.all(starts);
      const candidates = usable();
      let victim = pick(candidates.length > 0 ? candidates : nodes);
      let storeNote = '';
      if (isStoreFault(kind)) {
        const r = await storeFault(kind, cluster as PgHaFaultCluster, int);
        storeSeen.push(r.seen);
        storeViolations.push(...r.violations);
        const s = r.seen;
        storeNote = `${s.from}->${s.to}, ${s.wholeMs === undefined ? 'NOT whole again' : `whole again in ${s.wholeMs} ms`}${s.note === undefined ? '' : ` (${s.note})`}`;
      } else if (kind === 'kill' || kind === 'midstep') {
        if (kind === 'midstep') {
          // Wait (bounded) for a step of the victim to start: its delivery comes first in each step.
          const seen = await seeDelivery(
            sinkLines().length,
            (d) => d.node === victim.name,
            'a step starts on the victim',
          );
          if (seen !== undefined) midstepSeen++;
        }
        await killAndRestart(victim, true);
      } else if (kind === 'compkill') {
        // The victim is whichever member a compensation (an undo or a refund) starts on first.
        const seen = await seeDelivery(
          from,
          (d) => /\/(undo-\d+|refund)$/.test(d.e) && candidates.some((n) => n.name === d.node),
          'a compensation starts',
        );
        if (seen !== undefined) {
          compkillSeen++;
          victim = nodes.find((n) => n.name === seen.node)!;
        }
        await killAndRestart(victim, false);
      } else if (kind === 'pause' || kind === 'pausekill') {
        const resume = pause(victim);
        await sleepFor(pauseMs);
        if (kind === 'pause') resume();
        else {
          await waits.track(`kill ${victim.name}`, victim.kill());
          await waits.track(`restart ${victim.name}`, victim.start());
        }
      } else if (kind === 'longpause') {
        // Longer than failure detection; the next rounds go on meanwhile.
        const resume = pause(victim);
        const node = victim;
        const over = sleepFor(int(longLo, longHi)).then(() => {
          resume();
          if (longPause?.node === node) longPause = undefined;
        });
        longPause = { node, over };
      } else if (kind === 'partition' || kind === 'isolate') {
        const other = pick(nodes.filter((n) => n !== victim && n !== longPause?.node));
        const cut = await waits.track(
          `${kind} ${victim.name}`,
          kind === 'isolate' ? hosts.isolate(victim.host) : hosts.partition(victim.host, other.host),
        );
        await sleepFor(faultMs);
        await waits.track(`heal ${kind} of ${victim.name}`, cut.heal());
      } else if (kind === 'deploy') {
        await deploy(++version);
      } else if (kind === 'starve') {
        await waits.track(`starve ${victim.name}`, starve(victim));
      } else if (kind === 'backoff') {
        // Once a saga's charge failed its first attempt (its retry entry stored), its owner — the
        // member its reservation was delivered from — hands off while it waits out its 5 s backoff:
        // stopped and started (a rolling deploy of one), paused past the lease, or another member
        // killed and started again (a join moves shards).
        const keys = [`saga${roundFirst}`, `saga${roundFirst + 1}`];
        const failedOnce = (r: WfRecord): boolean => r.journal.some((e) => e.t === 'retry' && e.n === 'charge');
        if (await waits.track('a charge in its backoff', seeBoundary('wfsaga', keys, failedOnce))) backoffs.seen++;
        const delivered = sinkLines()
          .slice(from)
          .map((l) => {
            try {
              return JSON.parse(l) as Delivery;
            } catch {
              return undefined;
            }
          })
          .find((d) => d?.e === `${keys[0]}/reserve-0`);
        const owner = usable().find((n) => n.name === delivered?.node) ?? victim;
        victim = owner;
        const how = pick(['stop', 'pause', 'join'] as const);
        backoffs[how]++;
        if (how === 'stop') {
          await waits.track(`backoff: stop ${owner.name}`, owner.stop());
          await waits.track(`backoff: start ${owner.name}`, owner.start());
        } else if (how === 'pause') {
          const resume = pause(owner);
          await sleepFor(pauseMs);
          resume();
        } else {
          const others = usable().filter((n) => n !== owner);
          await killAndRestart(others.length > 0 ? pick(others) : owner, false);
        }
        storeNote = `${how} ${owner.name}`;
      } else if (kind === 'boundary') {
        // Every member killed the moment the boundary's entry is seen in the store (polled).
        const b = boundary!;
        boundaries[b]!.asked++;
        const wf = b === 'child' ? 'wfparent' : 'wforder';
        const keys = [`${wf.slice(2)}${roundFirst}`, `${wf.slice(2)}${roundFirst + 1}`];
        if (await waits.track(`boundary ${b}`, seeBoundary(wf, keys, WF_BOUNDARIES[b]))) boundaries[b]!.seen++;
        await waits.track('kill every node', Promise.all(nodes.map((n) => n.kill())));
        for (const n of nodes) await waits.track(`restart ${n.name}`, n.start());
      } else {
        await waits.track('kill every node', Promise.all(nodes.map((n) => n.kill())));
        for (const n of nodes) await waits.track(`restart ${n.name}`, n.start());
      }
      // A member paused past detection is not seen by the others until it continues.
      if (longPause === undefined) await waits.track('every node sees every member', allSee());
      progress(
        `round ${round}/${o.rounds}: ${kind}${boundary === undefined ? '' : ` at ${boundary}`} ${storeNote !== '' ? storeNote : kind === 'restart' || kind === 'deploy' || kind === 'boundary' ? `all${kind === 'deploy' ? ` to v${version}` : ''}` : victim.name}; started ${ops.starts}, signals ${ops.signals}, updates ${ops.updates}, cancels ${cancels.cancelled}/${cancels.closed}/${cancels.unknown}, given up ${ops.givenUp}${loadNote()}`,
      );
    }
    load.stop?.();
    if (longPause !== undefined) await waits.track('the long pause ends', longPause.over);
    await hosts.healAll();
    await waits.track('the offered starts', Promise.all(load.offers));
    await allSee();
    await waits.track('signals', within(Promise.all(background), 'every signal sent', 120_000)).catch(() => undefined);
    // Every instance (and every child) must end within the bound; halted ones are resumed.
    const settled = async (): Promise<boolean> => {
      const m = await dumpAll();
      await resumeHalted(m);
      for (const inst of instances) {
        if (inst.lost > 0) continue;
        if (m.get(`${inst.wf}/${inst.id}`)?.status === 'running') return false;
      }
      return true;
    };
    await waits
      .track(
        'every instance completes',
        eventually(settled, 'every instance completed', { timeoutMs: o.settleMs ?? 120_000, intervalMs: 500 }),
      )
      .catch(() => undefined);
    // The checks below ask every instance for its outcome (activating each): not the run's churn.
    const checksFrom = Date.now();
    progress(`settled; the checks begin (activations from now on are theirs: ${checksFrom})`);
    const records = await dumpAll();
    const all: WfInstance[] = instances.map((i) => ({
      wf: i.wf,
      id: i.id,
      input: i.input,
      started: i.started,
      ...(i.wf === 'wfsignals' || i.wf === 'wfcan'
        ? { signalsAcked: i.acked, signalsGivenUp: i.lost, signalsUnknown: i.unknown }
        : {}),
      ...(i.wf === 'wfupd' ? { signalsAcked: i.acked, signalsGivenUp: i.lost, answers: i.answers } : {}),
      ...(i.wf === 'wforder' ? { signalsAcked: i.acked } : {}),
      ...(i.cancel === undefined ? {} : { cancel: i.cancel }),
      ...(i.diverged === undefined ? {} : { diverged: i.diverged }),
      ...(i.refusedOnly === true ? { refusedOnly: true } : {}),
      record: records.get(`${i.wf}/${i.id}`) ?? null,
    }));
    for (const p of instances)
      if (p.wf === 'wfparent') {
        const rec = records.get(`wfchild/${childId(p.id)}`) ?? null;
        const parent = records.get(`wfparent/${p.id}`);
        all.push({
          wf: 'wfchild',
          id: childId(p.id),
          input: { x: (p.input.x as number) + 1, stepMs: p.input.stepMs },
          // The parent journaled its child's start: the child must exist.
          started: parent?.journal.some((e) => e.t === 'child' && e.n.startsWith('start ')) ?? false,
          record: rec,
        });
      }
    // result() of every ended instance, through a random member (a few at a time).
    const ended = all.filter((i) => i.record?.status !== undefined && i.record.status !== 'running');
    const results = new Map<WfInstance, WfResultSeen>();
    await waits.track(
      'result() of every ended instance',
      Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = ended.shift(); i !== undefined; i = ended.shift()) {
            const r = await ask('wfresult', { wf: i.wf, key: i.id }, { giveUpMs: 20_000 });
            results.set(
              i,
              r === undefined || !('ok' in r)
                ? { status: 'none', why: 'no member answered within 20 s' }
                : (r.ok as WfResultSeen),
            );
          }
        }),
      ),
    );
    const checked = all.map((i) => {
      const r = results.get(i);
      return r === undefined ? i : { ...i, result: r };
    });
    const deliveries = sinkLines().flatMap((l) => {
      try {
        return [JSON.parse(l) as Delivery];
      } catch {
        return []; // a line cut by kill -9 mid-write: never a whole delivery
      }
    });
    const events = readLogs(dir);
    const result = checkWorkflows(checked, deliveries, { pauses: pauses as PauseMark[], events });
    for (const i of all) if (i.record?.blocked?.code === 'ERR_ENTITY_STORE_WENT_BACK') wentBack.add(`${i.wf}/${i.id}`);
    for (const w of wentBack)
      result.violations.push(`${w}: halted with ERR_ENTITY_STORE_WENT_BACK (the store went back in time)`);
    result.violations.push(...storeViolations, ...exits);
    // The state index (what `workflows.list` searches) agrees with the records at the end.
    const indexes = new Map<string, WfIndex>();
    for (const wf of WF_NAMES) indexes.set(wf, (await via().cmd('wfindex', { wf }, 60_000)) as WfIndex);
    result.violations.push(...indexRules(all, indexes));
    let scheduled: ScheduleCheck | undefined;
    if (o.schedule === true) {
      // Paused first: its cursor then stays, and every start at or before it is stored.
      const paused = await ask('wfsched', { op: 'pause' });
      const d = await ask('wfsched', { op: 'describe' });
      if (paused === undefined || d === undefined || !('ok' in d))
        result.violations.push('schedule: no member paused and described it within 60 s');
      else {
        const cursor = (d.ok as { cursor: number }).cursor;
        const keys = Object.keys(((await via().cmd('wfindex', { wf: 'wftick' }, 60_000)) as WfIndex).rows);
        const runs = new Map<string, number>();
        for (let i = 0; i < keys.length; i += 100) {
          const part = (await via().cmd('wfdump', { wf: 'wftick', keys: keys.slice(i, i + 100) }, 60_000)) as Record<
            string,
            { runs?: number } | null
          >;
          for (const [k, r] of Object.entries(part)) runs.set(k, r?.runs ?? 0);
        }
        scheduled = checkSchedule(scheduleFrom, cursor, runs);
        result.violations.push(...scheduled.violations);
      }
    }
    const report = wfFaultReport({
      store: storeKind,
      storeSeen,
      seed,
      rounds: done,
      faults,
      midstepSeen,
      compkillSeen,
      boundaries,
      operations: ops,
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
    });
    return {
      ...report,
      ...(ov === undefined ? {} : { overload: overloadSeen(ov, load, offeredAt, records, roundAsksFailed) }),
      ...(starves.length === 0 ? {} : { starvation: starves.map((m) => starveSeen(m, events)) }),
      ...(faults.backoff === 0 ? {} : { backoff: backoffs }),
      ...(deployStops.ms.length === 0 ? {} : { deployStops: deployStopsSeen(deployStops) }),
    };
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
    if (watchdog !== undefined) clearInterval(watchdog);
    clearInterval(exitWatch);
    for (const n of nodes) {
      n.resume();
      await n.stop();
    }
    if (o.keepLogs !== undefined) cpSync(dir, o.keepLogs, { recursive: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The overload mode's figures from what the generator counted and the records at the end. */
function overloadSeen(
  ov: WfOverloadOptions,
  load: {
    offered: number;
    acknowledged: number;
    shed: number;
    givenUp: number;
    notOffered: number;
    refusals: Record<string, number>;
    from: number;
    to: number;
    capacity: number;
  },
  offeredAt: ReadonlyMap<string, number>,
  records: ReadonlyMap<string, WfRecord | null>,
  roundAsksFailed: Record<string, number>,
): WfOverloadSeen {
  const seconds = Math.max(0.001, (load.to - load.from) / 1000);
  let inWindow = 0;
  const latency: number[] = [];
  const byMinute: number[] = Array.from({ length: Math.ceil(seconds / 60) }, () => 0);
  for (const [id, at] of offeredAt) {
    if (!id.startsWith('ld')) continue; // the calibration's are not the offered load's
    const r = records.get(`wfsaga/${id}`);
    if (r?.status !== 'completed' || r.endedAt === undefined) continue;
    latency.push(r.endedAt - at);
    if (r.endedAt <= load.to) {
      inWindow++;
      const m = Math.floor((r.endedAt - load.from) / 60_000);
      if (m >= 0) byMinute[m] = (byMinute[m] ?? 0) + 1;
    }
  }
  const goodput = inWindow / seconds;
  const round2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    multiple: ov.multiple,
    capacityPerS: round2(load.capacity),
    capacityFrom: ov.capacity === undefined ? 'measured' : 'configured',
    offeredPerS: round2(ov.multiple * load.capacity),
    seconds: Math.round(seconds),
    offered: load.offered,
    acknowledged: load.acknowledged,
    shed: load.shed,
    givenUp: load.givenUp,
    notOffered: load.notOffered,
    refusals: load.refusals,
    roundAsksFailed,
    goodputPerS: round2(goodput),
    goodputShare: round2(goodput / load.capacity),
    // Per second; the last minute's share of it as long as it lasted.
    goodputByMinute: byMinute.map((n, i) => round2(n / Math.min(60, seconds - i * 60))),
    completed: latency.length,
    latencyMs: spread(latency),
  };
}

/** What one starvation cost its member, from the logged events (see {@link WfStarveSeen}). */
function starveSeen(
  m: { source: string; from: number; to: number; hogs: number; quota?: number },
  events: readonly { event: string; kind: string; key: string; source: string; at?: number }[],
): WfStarveSeen {
  const until = m.to + 5000;
  const span = until - m.from;
  const wf = events.filter((e) => e.kind.startsWith('wf') && e.at !== undefined);
  const last = new Map<string, string>();
  for (const e of wf) if (e.source === m.source && e.at! < m.from) last.set(`${e.kind}/${e.key}`, e.event);
  const active = new Set([...last].filter(([, ev]) => ev === 'activated' || ev === 'written').map(([k]) => k));
  const during = wf.filter((e) => e.at! >= m.from && e.at! <= until);
  const moved = new Set(
    during
      .filter((e) => e.event === 'activated' && e.source !== m.source && active.has(`${e.kind}/${e.key}`))
      .map((e) => `${e.kind}/${e.key}`),
  );
  return {
    source: m.source,
    ms: m.to - m.from,
    hogs: m.hogs,
    ...(m.quota === undefined ? {} : { quota: m.quota }),
    activeBefore: active.size,
    stopped: during.filter((e) => e.source === m.source && e.event === 'stopped').length,
    reactivatedElsewhere: moved.size,
    activationsDuring: during.filter((e) => e.event === 'activated').length,
    activationsBefore: wf.filter((e) => e.event === 'activated' && e.at! >= m.from - span && e.at! < m.from).length,
  };
}
