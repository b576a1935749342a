// The workflow fault checker: the entities safety checker's test hosts (faults.ts: three entity
// nodes, each in a network-namespace host of its own, and the store — a PostgreSQL server in a
// fourth host, or one SQLite file they share) running `defineWorkflow` workflows
// (wf_faults_kinds.ts: a saga with compensations, durable sleeps, signals, a child workflow, an
// outbox step) through randomised rounds of faults: kill -9 of a member (at any time, or just as a
// step of it started: mid-step), SIGSTOP past the lease then SIGCONT, SIGSTOP past the lease then
// kill -9, a silent partition between two members, a member cut off from everyone (and, with
// PostgreSQL, from the store), and whole-cluster kill -9 + restart. Each round starts workflows
// through random live members (again with the same id until acknowledged), sends the signals
// (each with an id, again until acknowledged, the next after the previous), and injects one
// fault; after the rounds every instance must complete within a bound. The rules are
// wf_faults_check.ts's; besides the violations it measures the resume latency after a kill -9.
// Used by entities.wf_faults.test.ts (a few rounds per store) and wf_faults_run.ts (the long run).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { eventually, within } from '@ergo-ts/test-support';

import { dumpWaits, everySeesEvery, faultCluster, percentile, prng, readLogs, type FaultNode } from './faults.js';
import { checkWorkflows, resumeLatencies, type KillMark, type WfInstance, type WfRecord } from './wf_faults_check.js';
import { childId, type Delivery, type WfName } from './wf_faults_kinds.js';

/** The faults a round applies, one each. */
export const WF_FAULT_KINDS = ['midstep', 'pause', 'restart', 'kill', 'partition', 'pausekill', 'isolate'] as const;

/** One of {@link WF_FAULT_KINDS}. */
export type WfFaultKind = (typeof WF_FAULT_KINDS)[number];

/** Options of {@link runWorkflowFaults}. */
export interface WfFaultOptions {
  rounds: number;
  seed?: number;
  /** The faults of the first rounds, in order (then at random). Default WF_FAULT_KINDS, each once. */
  first?: readonly WfFaultKind[];
  store?: 'postgres' | 'sqlite';
  /** Workflows started per round (of the four kinds, at random). Default 4. */
  workflowsPerRound?: number;
  /** How long a SIGSTOP lasts, in ms. Default 3000 (three leases, twice the heartbeat). */
  pauseMs?: number;
  /** How long a partition or an isolation lasts, and how long after a kill the victim stays down, in ms. Default 2000. */
  faultMs?: number;
  /** The bound on every instance completing after the last round, in ms. Default 120 000. */
  settleMs?: number;
  /** Start no round after this time (epoch ms). */
  until?: number;
  leaseMs?: number;
  renewMs?: number;
  progress?: (line: string) => void;
  /** Print what the harness and each node wait for when a round runs this long (ms). */
  watchdogMs?: number;
}

/** What a run reports. */
export interface WfFaultReport {
  store: 'postgres' | 'sqlite';
  seed: number;
  rounds: number;
  faults: Record<string, number>;
  /** Mid-step kills that saw a step of the victim start before the kill. */
  midstepSeen: number;
  /** Operations: starts and signals acknowledged; given up on (never acknowledged). */
  operations: { starts: number; signals: number; givenUp: number };
  instances: number;
  completed: number;
  waitingForSignals: number;
  /** Journal entries of every instance, and the body runs beyond the first (resumes). */
  journalEntries: number;
  resumes: number;
  /** The sink: raw deliveries, effects applied (distinct keys), repeats it absorbed. */
  sink: { deliveries: number; applied: number; duplicatesAbsorbed: number };
  compensations: number;
  sleeps: { checked: number; latenessMs: { p50: number; p99: number; max: number } };
  /** After each kill -9 of a member: kill (or sleep's end) → the affected instance's next journal entry. */
  resumeLatencyMs: { samples: number; p50: number; p99: number; max: number };
  violations: string[];
}

const stats = (xs: number[]): { p50: number; p99: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? 0 };
};

const sleepFor = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the rounds on fresh test hosts and checks the result (the caller checks hostsAvailable()). */
export async function runWorkflowFaults(o: WfFaultOptions): Promise<WfFaultReport> {
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const progress = o.progress ?? ((): void => undefined);
  const storeKind = o.store ?? 'postgres';
  const perRound = o.workflowsPerRound ?? 4;
  const pauseMs = o.pauseMs ?? 3000;
  const faultMs = o.faultMs ?? 2000;
  const dir = mkdtempSync(join(tmpdir(), 'ergo-wf-faults-'));
  const sinkFile = join(dir, 'sink.jsonl');
  writeFileSync(sinkFile, '');
  await using cluster = await faultCluster({
    store: storeKind,
    dir,
    leaseMs: o.leaseMs,
    renewMs: o.renewMs,
    env: { FN_SINK: sinkFile },
  });
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
          void dumpWaits(roundNo, age, waits, nodes, db, progress);
        }, 1000);
  const faults: Record<string, number> = Object.fromEntries(WF_FAULT_KINDS.map((k) => [k, 0]));
  const ops = { starts: 0, signals: 0, givenUp: 0 };
  const instances: {
    wf: WfName;
    id: string;
    input: Record<string, unknown>;
    started: boolean;
    acked: string[];
    lost: number;
  }[] = [];
  const kills: KillMark[] = [];
  const background: Promise<void>[] = [];
  let midstepSeen = 0;

  /** Runs `cmd` through random live members, again until it is acknowledged (or 60 s pass). */
  const untilAcked = async (cmd: string, fields: Record<string, unknown>): Promise<boolean> => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const live = nodes.filter((n) => n.alive());
      if (live.length === 0) {
        await sleepFor(200);
        continue;
      }
      try {
        const r = await pick(live).cmd(cmd, { ...fields, timeout: 4000 }, 8000);
        if (cmd !== 'wfsignal' || r === 'accepted' || r === 'duplicate') return true;
      } catch {
        // Unavailable, timed out, down or paused: again, with the same id.
        await sleepFor(50);
      }
    }
    ops.givenUp++;
    return false;
  };
  const allSee = (): Promise<void> => everySeesEvery(nodes);
  const sinkLines = (): string[] =>
    readFileSync(sinkFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  try {
    progress(`seed ${seed}, store ${storeKind}`);
    for (const n of nodes) await n.start();
    await waits.track('every node sees every member', allSee());
    let nextId = 0;
    let done = 0;
    for (let round = 1; round <= o.rounds; round++) {
      if (o.until !== undefined && Date.now() > o.until) break;
      done = roundNo = round;
      roundStart = Date.now();
      // The load: workflows started just before the fault, so it meets them at every stage.
      const starts: Promise<unknown>[] = [];
      for (let i = 0; i < perRound; i++) {
        const wf = pick(['wfsaga', 'wfsleep', 'wfsignals', 'wfparent'] as const);
        const id = `${wf.slice(2)}${++nextId}`;
        const stepMs = int(0, 300);
        const input: Record<string, unknown> =
          wf === 'wfsaga'
            ? { items: int(1, 3), fail: rand() < 0.4, flaky: rand() < 0.3, stepMs }
            : wf === 'wfsleep'
              ? { sleeps: Array.from({ length: int(1, 3) }, () => int(100, 2500)), stepMs }
              : wf === 'wfsignals'
                ? { count: int(1, 3), stepMs }
                : { x: int(0, 1000), stepMs };
        const inst = { wf, id, input, started: false, acked: [] as string[], lost: 0 };
        instances.push(inst);
        starts.push(
          untilAcked('wfstart', { wf, key: id, input }).then((ok) => {
            inst.started = ok;
            if (ok) ops.starts++;
            // Not acknowledged: it may exist all the same, waiting for signals never sent.
            if (!ok && wf === 'wfsignals') inst.lost = 1;
            if (!ok || wf !== 'wfsignals') return;
            // Its signals, one after another (each once the previous was acknowledged), spread out.
            background.push(
              (async () => {
                for (let s = 0; s < (input.count as number); s++) {
                  await sleepFor(int(0, 800));
                  const sid = `${id}-s${s}`;
                  if (await untilAcked('wfsignal', { key: id, sid })) {
                    inst.acked.push(sid);
                    ops.signals++;
                  } else {
                    inst.lost++;
                    return;
                  }
                }
              })(),
            );
          }),
        );
      }
      await Promise.all(starts);
      const first = o.first ?? WF_FAULT_KINDS;
      const kind = round <= first.length ? first[round - 1]! : pick(WF_FAULT_KINDS);
      faults[kind]!++;
      const victim = pick(nodes);
      if (kind === 'kill' || kind === 'midstep') {
        if (kind === 'midstep') {
          // Wait (bounded) for a step of the victim to start: its delivery comes first in each step.
          const from = sinkLines().length;
          const seen = await eventually(
            () =>
              sinkLines()
                .slice(from)
                .some((l) => (JSON.parse(l) as Delivery).node === victim.name),
            'a step starts on the victim',
            { timeoutMs: 5000, intervalMs: 5 },
          ).then(
            () => true,
            () => false,
          );
          if (seen) midstepSeen++;
        }
        kills.push({ at: Date.now(), source: `${victim.name}#${victim.incarnation}` });
        await waits.track(`kill ${victim.name}`, victim.kill());
        await sleepFor(faultMs);
        await waits.track(`restart ${victim.name}`, victim.start());
      } else if (kind === 'pause' || kind === 'pausekill') {
        victim.pause();
        await sleepFor(pauseMs);
        if (kind === 'pause') victim.resume();
        else {
          await waits.track(`kill ${victim.name}`, victim.kill());
          await waits.track(`restart ${victim.name}`, victim.start());
        }
      } else if (kind === 'partition' || kind === 'isolate') {
        const other = pick(nodes.filter((n) => n !== victim));
        const cut = await waits.track(
          `${kind} ${victim.name}`,
          kind === 'isolate' ? hosts.isolate(victim.host) : hosts.partition(victim.host, other.host),
        );
        await sleepFor(faultMs);
        await waits.track(`heal ${kind} of ${victim.name}`, cut.heal());
      } else {
        await waits.track('kill every node', Promise.all(nodes.map((n) => n.kill())));
        for (const n of nodes) await waits.track(`restart ${n.name}`, n.start());
      }
      await waits.track('every node sees every member', allSee());
      progress(
        `round ${round}/${o.rounds}: ${kind} ${kind === 'restart' ? 'all' : victim.name}; started ${ops.starts}, signals ${ops.signals}, given up ${ops.givenUp}`,
      );
    }
    await hosts.healAll();
    await allSee();
    await waits.track('signals', within(Promise.all(background), 'every signal sent', 120_000)).catch(() => undefined);
    // Every instance (and every child) must complete within the bound.
    const via = (): FaultNode => nodes.find((n) => n.alive())!;
    const keysOf = (wf: string): string[] =>
      wf === 'wfchild'
        ? instances.filter((i) => i.wf === 'wfparent').map((i) => childId(i.id))
        : instances.filter((i) => i.wf === wf).map((i) => i.id);
    const dumpAll = async (): Promise<Map<string, WfRecord | null>> => {
      const m = new Map<string, WfRecord | null>();
      for (const wf of ['wfsaga', 'wfsleep', 'wfsignals', 'wfparent', 'wfchild']) {
        const keys = keysOf(wf);
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
    const settled = async (): Promise<boolean> => {
      const m = await dumpAll();
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
    const records = await dumpAll();
    const all: WfInstance[] = instances.map((i) => ({
      wf: i.wf,
      id: i.id,
      input: i.input,
      started: i.started,
      ...(i.wf === 'wfsignals' ? { signalsAcked: i.acked, signalsGivenUp: i.lost } : {}),
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
    const deliveries = sinkLines().flatMap((l) => {
      try {
        return [JSON.parse(l) as Delivery];
      } catch {
        return []; // a line cut by kill -9 mid-write: never a whole delivery
      }
    });
    const result = checkWorkflows(all, deliveries);
    const recs = new Map<string, WfRecord>();
    for (const [k, r] of records) if (r !== null) recs.set(k, r);
    const lat = resumeLatencies(kills, readLogs(dir), recs);
    let journalEntries = 0;
    let resumes = 0;
    for (const r of recs.values()) {
      journalEntries += r.journal.length;
      resumes += Math.max(0, r.runs - 1);
    }
    return {
      store: storeKind,
      seed,
      rounds: done,
      faults,
      midstepSeen,
      operations: ops,
      instances: all.length,
      completed: result.completed,
      waitingForSignals: result.waitingForSignals,
      journalEntries,
      resumes,
      sink: {
        deliveries: result.deliveries,
        applied: result.applied,
        duplicatesAbsorbed: result.deliveries - result.applied,
      },
      compensations: result.compensations,
      sleeps: { checked: result.sleepLateness.length, latenessMs: stats(result.sleepLateness) },
      resumeLatencyMs: { samples: lat.length, ...stats(lat) },
      violations: result.violations,
    };
  } finally {
    if (watchdog !== undefined) clearInterval(watchdog);
    for (const n of nodes) {
      n.resume();
      await n.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
