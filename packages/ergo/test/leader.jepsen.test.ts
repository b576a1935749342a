// Leader election under faults, checked the way Jepsen checks: members in separate OS processes,
// a nemesis that partitions them (fault proxies on loopback), pauses them (SIGSTOP/SIGCONT) and
// kills them (kill -9, then a restart), every member logging its (term, leader) observations,
// and a checker over the whole history: at most one leader per term (safety), and after every
// heal a leader known to all (liveness).
//
// LEADER_JEPSEN_ROUNDS sets the number of rounds (default 30; 100 under `npm run test:proofs`, the
// proof tier of @ergo-ts/test-support's proofSize: each run draws a new seed, so runs add up); the
// first seven rounds take each kind of fault once, so a short run still has every kind.
// LEADER_JEPSEN_SEED replays a run,
// LEADER_JEPSEN_STORE=0 runs the members without a store (memory only, startup quiet instead).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, proofSize } from '@ergo-ts/test-support';
import { LeaderCluster, checkHistory, rng } from './leader_cluster.js';

const ROUNDS = Number(process.env.LEADER_JEPSEN_ROUNDS ?? proofSize({ ci: 30, full: 100 }));
/** A draw inside each fault's band below, in their order: the first rounds take each kind once. */
const EVERY_FAULT = [0.04, 0.2, 0.4, 0.5, 0.65, 0.8, 0.9];
const SEED = Number(process.env.LEADER_JEPSEN_SEED ?? Date.now() % 1_000_000);
const USE_STORE = process.env.LEADER_JEPSEN_STORE !== '0';
// 'alive' runs the nemesis against Ergo's quorum rule, to see the checker fail.
const QUORUM = process.env.LEADER_JEPSEN_QUORUM === 'alive' ? 'alive' : 'membership';
// Short timeouts keep the rounds within a few minutes on a shared 2-core machine.
const TIMING = { min: 60, max: 120, hb: 20 };
const CONVERGE_MS = 30_000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test(`5 members, ${ROUNDS} randomized fault rounds: at most one leader per term, a leader after every heal`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'leader-jepsen-'));
  const cluster = new LeaderCluster({ size: 5, ...TIMING, quorum: QUORUM, storeDir: USE_STORE ? dir : undefined });
  const rand = rng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const shuffled = (): number[] => {
    const a = [0, 1, 2, 3, 4];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };
  const counts: Record<string, number> = {};
  const convergeMs: number[] = [];
  console.log(
    `# leader jepsen: seed ${SEED}, ${ROUNDS} rounds, store ${USE_STORE ? 'file' : 'none'}, quorum ${QUORUM}`,
  );
  try {
    await cluster.start();
    let { leader } = await cluster.converged(CONVERGE_MS);
    for (let round = 0; round < ROUNDS; round++) {
      const L = cluster.names.indexOf(leader);
      const hold = TIMING.min + Math.floor(rand() * 2 * TIMING.max);
      const drawn = rand();
      const r = EVERY_FAULT[round] ?? drawn;
      let fault: string;
      if (r < 0.08) {
        fault = 'kill';
        const victim = rand() < 0.6 ? L : pick([0, 1, 2, 3, 4]);
        await cluster.kill(victim);
        await sleep(hold);
        await cluster.restart(victim);
      } else {
        if (r < 0.3) {
          fault = 'partition-majority';
          const s = shuffled();
          const k = rand() < 0.5 ? 1 : 2;
          cluster.partition([s.slice(0, k), s.slice(k)]);
        } else if (r < 0.45) {
          fault = 'isolate-leader';
          cluster.partition([[L], [0, 1, 2, 3, 4].filter((i) => i !== L)]);
        } else if (r < 0.58) {
          // Jepsen's bridge: two majorities that share one member.
          fault = 'bridge';
          const s = shuffled();
          cluster.partition([s.slice(0, 2), s.slice(3)]);
        } else if (r < 0.7) {
          fault = 'random-links';
          for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) if (rand() < 0.35) cluster.cutLink(i, j);
        } else if (r < 0.85) {
          fault = 'pause';
          cluster.pause(rand() < 0.6 ? L : pick([0, 1, 2, 3, 4]));
        } else {
          fault = 'pause+partition';
          const s = shuffled();
          cluster.partition([s.slice(0, 2), s.slice(2)]);
          cluster.pause(pick(s));
        }
        await sleep(hold);
        cluster.healAll();
        cluster.resumeAll();
      }
      counts[fault] = (counts[fault] ?? 0) + 1;
      const healed = Date.now();
      ({ leader } = await cluster.converged(CONVERGE_MS));
      convergeMs.push(Date.now() - healed);
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const violations = checkHistory(cluster.history);
  const leaderTerms = new Set(cluster.history.filter((o) => o.obs === 'leader').map((o) => o.term)).size;
  console.log(
    `# leader jepsen: ${cluster.history.length} observations, ${leaderTerms} terms with a leader, faults ${JSON.stringify(counts)}, ` +
      `leader known to all after heal: median ${median(convergeMs)} ms`,
  );
  assert.deepEqual(violations, [], `two leaders in one term (seed ${SEED})`);
  // The nemesis must have bitten: faults that force elections happen in most rounds.
  assert.ok(leaderTerms > ROUNDS / 4, `only ${leaderTerms} elections in ${ROUNDS} rounds`);
  if (ROUNDS >= EVERY_FAULT.length)
    assert.equal(Object.keys(counts).length, EVERY_FAULT.length, 'a kind of fault never ran');
});

/**
 * The schedule that breaks Ergo's quorum: four members split 2/2, then the leader's side loses
 * the leader. With quorum 'alive' each side counts only itself and both elect in the same term;
 * with the membership quorum neither side can, and the checker stays clean.
 */
async function splitTwoTwo(quorum: 'alive' | 'membership'): Promise<ReturnType<typeof checkHistory>> {
  const cluster = new LeaderCluster({ size: 4, ...TIMING, quorum });
  // Ergo's quorum also elects several leaders at start (no peer known yet: a quorum of one);
  // only the terms after the split are this schedule's.
  let splitTerm = 0;
  try {
    await cluster.start();
    const { leader, term } = await cluster.converged(CONVERGE_MS);
    splitTerm = term;
    const L = cluster.names.indexOf(leader);
    const others = [0, 1, 2, 3].filter((i) => i !== L);
    const mate = others[0]!;
    const far = others.slice(1);
    cluster.partition([[L, mate], far]);
    const farLeader = async (): Promise<boolean> =>
      (await Promise.all(far.map((i) => cluster.status(i)))).some((s) => s.isLeader);
    if (quorum === 'alive') {
      await eventually(farLeader, 'a leader on the far side', { timeoutMs: CONVERGE_MS, intervalMs: 20 });
    } else await sleep(3 * TIMING.max);
    await cluster.kill(L);
    if (quorum === 'alive') {
      await eventually(async () => (await cluster.status(mate)).isLeader, "the leader's mate elects itself", {
        timeoutMs: CONVERGE_MS,
        intervalMs: 20,
      });
    } else await sleep(3 * TIMING.max);
    if (quorum === 'membership') {
      assert.equal((await farLeader()) || (await cluster.status(mate)).isLeader, false, 'a minority elected a leader');
      cluster.healAll();
      await cluster.restart(L);
      await cluster.converged(CONVERGE_MS);
    }
  } finally {
    await cluster.stop();
  }
  return checkHistory(cluster.history).filter((v) => v.term > splitTerm);
}

test("the checker catches Ergo's quorum (alive peers): a 2/2 split elects two leaders in one term", async () => {
  // The two sides elect in the same term only if the far side wins its first election: a split
  // vote there (its two members' timeouts firing together, likelier on a loaded machine) puts
  // its leader a term later than the mate's, a schedule with no overlap to catch. The schedule
  // is run again then (a fresh cluster each time), up to three times in all.
  let violations: ReturnType<typeof checkHistory> = [];
  for (let attempt = 1; attempt <= 3 && violations.length === 0; attempt++) {
    violations = await splitTwoTwo('alive');
    if (violations.length === 0)
      console.log(`# Ergo's quorum, 2/2 split, attempt ${attempt}: the sides elected in different terms`);
  }
  assert.ok(violations.length >= 1, 'the checker saw no two leaders in a term in three schedules');
  assert.ok(violations.every((v) => v.leaders.length >= 2));
  console.log(`# Ergo's quorum, 2/2 split: ${JSON.stringify(violations)}`);
});

test('the same 2/2 split with the membership quorum: no leader on either side, one after the heal', async () => {
  assert.deepEqual(await splitTwoTwo('membership'), []);
});
