// The Leader's safety checker across test hosts: five members in five network namespaces,
// background delay and loss on every link, and a nemesis that for N rounds cuts links silently
// (two-way and one-way partitions, the leader alone, a follower alone, Jepsen's bridge, random
// links), adds loss bursts, pauses members (SIGSTOP) and kills them (kill -9, then a restart).
// The checker: at most one leader per term over the whole history (checkHistory), a leader
// known to all after each heal. Measured: failover (a cut-off or killed leader until every
// member of the majority side knows a new one), how long a cut-off leader took to step down,
// how far an isolated member's term rose, and rejoins that moved the leader or the term.
//
// Used by leader.testhosts.test.ts (a few rounds, in CI) and, as a script, for the long run:
//   node packages/ergo/dist/test/leader_faults.js            # LEADER_FAULTS_ROUNDS=200 default
//   LEADER_FAULTS_ROUNDS=500 LEADER_FAULTS_SEED=42 node packages/ergo/dist/test/leader_faults.js

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, TestHosts } from '@ergo-ts/test-support';
import { checkHistory, rng, type Violation } from './leader_cluster.js';
import { LeaderHostsCluster } from './leader_hosts.js';

/** What one fault run does. */
export interface FaultRunOptions {
  rounds: number;
  seed: number;
  /** Election timing (ms); default Ergo's 150–300 / 50. */
  timing?: { min: number; max: number; hb: number };
  /** Delay on every link, each way (ms ± jitter), through the hosts' relay. */
  delay?: { ms: number; jitter: number };
  /** Random loss on every link, both ways (%). */
  loss?: number;
  /** Progress lines (one per round) go here. */
  log?: (line: string) => void;
}

/** What a fault run found. */
export interface FaultRunResult {
  seed: number;
  rounds: number;
  faults: Record<string, number>;
  observations: number;
  termsWithLeader: number;
  violations: Violation[];
  /** A cut-off or killed leader until every member of the majority side knew a new one (ms). */
  failover: number[];
  /** A cut-off leader until it no longer called itself leader (ms). */
  stepDown: number[];
  /** Over every member cut off alone: the most its term rose while alone, and the highest term it reached. */
  isolatedTermRise: number;
  isolatedMaxTerm: number;
  /**
   * Rounds that cut a follower off alone while the others agreed on a leader, and those whose
   * heal moved the leader or the term from what the others agreed on just before it.
   */
  followerIsolations: number;
  disruptiveRejoins: number;
  /** From the heal until a leader was known to all (ms). */
  converge: number[];
  highestTerm: number;
}

const MEMBERS = 5;
const CONVERGE_MS = 30_000;

/** The p-th percentile (nearest rank) of `xs`; 0 when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Runs the nemesis on fresh test hosts; rejects if a heal is not followed by a leader known to all. */
export async function runFaultRounds(o: FaultRunOptions): Promise<FaultRunResult> {
  const timing = o.timing ?? { min: 150, max: 300, hb: 50 };
  const log = o.log ?? ((): void => undefined);
  const rand = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const all = Array.from({ length: MEMBERS }, (_, i) => i);
  const shuffled = (): number[] => {
    const a = all.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };
  const dir = mkdtempSync(join(tmpdir(), 'leader-faults-'));
  const hosts = await TestHosts.create(MEMBERS);
  const cluster = new LeaderHostsCluster(hosts, { ...timing, storeDir: dir });
  const r: FaultRunResult = {
    seed: o.seed,
    rounds: 0,
    faults: {},
    observations: 0,
    termsWithLeader: 0,
    violations: [],
    failover: [],
    stepDown: [],
    isolatedTermRise: 0,
    isolatedMaxTerm: 0,
    followerIsolations: 0,
    disruptiveRejoins: 0,
    converge: [],
    highestTerm: 0,
  };
  const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
  // Every member of `side` knows a leader other than `old` (observations at or after `since`).
  const newLeaderKnown = (side: number[], old: string, since: number): Promise<number> => {
    const names = new Set(side.map((i) => cluster.names[i]!));
    const known = new Map<string, number>();
    let scanned = 0;
    return eventually(
      () => {
        for (; scanned < cluster.history.length; scanned++) {
          const ob = cluster.history[scanned]!;
          if (ob.t < since || !names.has(ob.node)) continue;
          if (ob.leader !== '' && ob.leader !== old) known.set(ob.node, ob.t);
          else known.delete(ob.node);
        }
        return known.size === names.size ? Math.max(...known.values()) - since : undefined;
      },
      'a new leader known to the majority side',
      { timeoutMs: CONVERGE_MS, intervalMs: 10 },
    );
  };
  // The cut-off leader's own line saying it lost leadership (at or after `since`).
  const steppedDown = (name: string, since: number): Promise<number> => {
    let scanned = 0;
    return eventually(
      () => {
        for (; scanned < cluster.history.length; scanned++) {
          const ob = cluster.history[scanned]!;
          if (ob.t >= since && ob.node === name && ob.obs === 'follower' && ob.leader !== name) return ob.t - since;
        }
        return undefined;
      },
      'the cut-off leader steps down',
      { timeoutMs: CONVERGE_MS, intervalMs: 10 },
    );
  };
  try {
    for (let i = 0; i < MEMBERS; i++)
      for (let j = i + 1; j < MEMBERS; j++) {
        if (o.delay !== undefined && o.delay.ms > 0) await hosts.delay(i, j, o.delay);
        if (o.loss !== undefined && o.loss > 0) await hosts.loss(i, j, o.loss);
      }
    await cluster.start();
    let { leader, term } = await cluster.converged(CONVERGE_MS);
    for (let round = 0; round < o.rounds; round++) {
      const L = cluster.names.indexOf(leader);
      const others = all.filter((i) => i !== L);
      const hold = timing.min + Math.floor(rand() * 2 * timing.max);
      const x = rand();
      let fault: string;
      /** The members cut off alone this round (their terms are watched). */
      let alone: number[] = [];
      /** The side that must elect a new leader (the leader is cut off from it), if any. */
      let majority: number[] | undefined;
      let beforeHeal: { leader: string; term: number } | undefined;
      const t0 = Date.now();
      if (x < 0.1) {
        fault = 'kill';
        const victim = rand() < 0.6 ? L : pick(all);
        await cluster.kill(victim);
        if (victim === L) r.failover.push(await newLeaderKnown(others, leader, t0));
        await sleep(hold);
        await cluster.restart(victim);
      } else {
        if (x < 0.28) {
          fault = 'partition-majority';
          const s = shuffled();
          const k = rand() < 0.5 ? 1 : 2;
          await cluster.partition([s.slice(0, k), s.slice(k)]);
          if (k === 1) alone = [s[0]!];
          if (s.slice(0, k).includes(L)) majority = s.slice(k);
        } else if (x < 0.42) {
          fault = 'isolate-leader';
          await cluster.partition([[L], others]);
          alone = [L];
          majority = others;
        } else if (x < 0.52) {
          fault = 'isolate-follower';
          alone = [pick(others)];
          await cluster.partition([alone, all.filter((i) => i !== alone[0])]);
        } else if (x < 0.6) {
          fault = 'bridge';
          const s = shuffled();
          await cluster.partition([s.slice(0, 2), s.slice(3)]);
        } else if (x < 0.7) {
          // The leader hears the others but cannot reach them, or the reverse.
          fault = 'one-way-leader';
          if (rand() < 0.5) {
            await cluster.partition([[L], others], true);
            majority = others;
          } else await cluster.partition([others, [L]], true);
        } else if (x < 0.8) {
          fault = 'random-links';
          for (let i = 0; i < MEMBERS; i++)
            for (let j = i + 1; j < MEMBERS; j++)
              if (rand() < 0.35) {
                const [a, b] = rand() < 0.5 ? [i, j] : [j, i];
                await cluster.cut(a, b, rand() < 0.3);
              }
        } else if (x < 0.88) {
          fault = 'loss-burst';
          const v = pick(all);
          const p = 20 + Math.floor(rand() * 40);
          for (const j of all) if (j !== v) await cluster.loss(v, j, p);
        } else {
          fault = 'pause';
          cluster.pause(rand() < 0.6 ? L : pick(all));
        }
        const before = await Promise.all(alone.map((i) => cluster.status(i)));
        if (majority !== undefined) {
          r.failover.push(await newLeaderKnown(majority, leader, t0));
          if (alone.includes(L)) r.stepDown.push(await steppedDown(leader, t0));
        }
        await sleep(hold);
        const after = await Promise.all(alone.map((i) => cluster.status(i)));
        alone.forEach((_, k) => {
          r.isolatedTermRise = Math.max(r.isolatedTermRise, after[k]!.term - before[k]!.term);
          r.isolatedMaxTerm = Math.max(r.isolatedMaxTerm, after[k]!.term);
        });
        if (fault === 'isolate-follower') {
          // What the others agree on just before the heal: the rejoin must not move it.
          const s = await Promise.all(all.filter((i) => i !== alone[0]).map((i) => cluster.status(i)));
          if (s.every((v) => v.leader !== '' && v.leader === s[0]!.leader && v.term === s[0]!.term))
            beforeHeal = { leader: s[0]!.leader, term: s[0]!.term };
        }
        await cluster.heal();
        cluster.resumeAll();
      }
      r.faults[fault] = (r.faults[fault] ?? 0) + 1;
      const healed = Date.now();
      ({ leader, term } = await cluster.converged(CONVERGE_MS));
      r.converge.push(Date.now() - healed);
      if (beforeHeal !== undefined) {
        r.followerIsolations++;
        if (leader !== beforeHeal.leader || term !== beforeHeal.term) r.disruptiveRejoins++;
      }
      r.rounds++;
      log(`round ${round + 1}/${o.rounds} ${fault}: leader ${leader} term ${term} (${Date.now() - t0} ms)`);
    }
  } finally {
    await cluster.stop().catch(() => undefined);
    await hosts.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  r.violations = checkHistory(cluster.history);
  r.observations = cluster.history.length;
  r.termsWithLeader = new Set(cluster.history.filter((ob) => ob.obs === 'leader').map((ob) => ob.term)).size;
  r.highestTerm = Math.max(0, ...cluster.history.map((ob) => ob.term));
  return r;
}

/** The figures of a run, for a report line. */
export function summary(r: FaultRunResult): Record<string, unknown> {
  return {
    seed: r.seed,
    rounds: r.rounds,
    violations: r.violations.length,
    faults: r.faults,
    termsWithLeader: r.termsWithLeader,
    highestTerm: r.highestTerm,
    failover_ms: { n: r.failover.length, median: percentile(r.failover, 50), p99: percentile(r.failover, 99) },
    stepDown_ms: { n: r.stepDown.length, median: percentile(r.stepDown, 50), p99: percentile(r.stepDown, 99) },
    converge_ms: { median: percentile(r.converge, 50), p99: percentile(r.converge, 99) },
    isolatedTermRise: r.isolatedTermRise,
    isolatedMaxTerm: r.isolatedMaxTerm,
    followerIsolations: r.followerIsolations,
    disruptiveRejoins: r.disruptiveRejoins,
  };
}

// As a script: the long run.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.env.LEADER_FAULTS_ROUNDS ?? 200);
  const seed = Number(process.env.LEADER_FAULTS_SEED ?? Date.now() % 1_000_000);
  const delay = {
    ms: Number(process.env.LEADER_FAULTS_DELAY_MS ?? 5),
    jitter: Number(process.env.LEADER_FAULTS_JITTER_MS ?? 2),
  };
  const loss = Number(process.env.LEADER_FAULTS_LOSS ?? 1);
  console.log(
    `# leader faults across test hosts: seed ${seed}, ${rounds} rounds, delay ${delay.ms}±${delay.jitter} ms, loss ${loss} %`,
  );
  const started = Date.now();
  const r = await runFaultRounds({ rounds, seed, delay, loss, log: (l) => console.log(l) });
  console.log(JSON.stringify({ ...summary(r), wall_s: Math.round((Date.now() - started) / 1000), delay, loss }));
  if (r.violations.length > 0) {
    console.log(`# two leaders in one term: ${JSON.stringify(r.violations)}`);
    process.exitCode = 1;
  }
}
