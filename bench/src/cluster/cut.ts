// The cluster-scale harness's silent cut (issue 49: "a silent cut isolating 10 % of the nodes for
// 30 s, then heal: no split-brain in the Leader, calls steady after heal"), ergo-ts only. A silent
// cut is the fault a cluster notices last: nft drops every packet, sockets stay open and writes
// succeed, and no Down arrives until the heartbeat (peerStallTimeout, 15 s by default) declares a
// peer stalled. What it measures on the running cluster, and why:
//
// - elected: Leader members (ergo-ts's Raft-style election, every timing the node's default) on
//   the first 5 nodes, the voters; the time from their start until all 5 name one leader in one
//   term — what a user's singleton gets at this cluster size;
// - cut: ceil(fraction × nodes) nodes cut off, each alone (TestHosts.isolate): the leader's node,
//   so that the 4 voters left must elect another, and non-voters from the end of the list (the
//   cluster's other traffic, and the kill rounds after, meet nodes that were away). The time
//   from the cut until the 4 name one new leader in a higher term, and until the cut-off leader
//   said it no longer leads (check-quorum: nothing arrives to tell it otherwise);
// - heal after `seconds`: the time until all 5 agree again; the old leader must follow the new
//   one (with pre-vote its return forces no election: `movedOnHeal` says whether it did); on
//   etcd, the time until every node has been told of every cut-off node again (a cut longer than
//   the lease TTL, 10 s, takes their keys away: nobody can dial them until they register again);
// - safety, over every observation of the phase: no term in which two different nodes were seen
//   as leader (Raft's election safety). A split brain is what a silent cut provokes and what the
//   membership quorum must prevent, so it is counted (`violations`), never thrown: the table says;
// - calls after heal: every node calls every other once more, as the first mesh did (on etcd once
//   discovery has them all again), once every connection through the cut has read again or is
//   gone (scale_node.ts's `fresh`); the connections to the cut-off nodes were declared stalled
//   during the cut and are dialled again, and the kill rounds after find every pair connected.
//
// Observations are the members' own reports (scale_node.ts's `leader-obs`, stamped with the wall
// clock every process shares), so each duration ends at the moment the last voter learnt, not
// when the driver heard of it. A wait that ends without agreement leaves its figure undefined.

import type { DropFault, TestHosts } from '@ergo-ts/test-support';
import type { ErgoMember, LeaderObservation, MeshAnswer, ScaleMember } from './members.js';

/** How many nodes run a Leader member: the first ones of the cluster. */
export const VOTERS = 5;
/** How long the voters have to agree, at the start and after the heal. */
const AGREE_MS = 60_000;

const wall = (): number => performance.timeOrigin + performance.now();

/** A mesh of calls: every node calling every other once. */
export interface MeshFigures {
  /** Calls made, and how many failed (by error code; Erlang: `pang`). */
  calls: number;
  failed: number;
  failedBy: Record<string, number>;
  /** From the first call until the last answer. */
  ms: number;
  /** Calls that succeeded, per second. */
  perSecond: number;
  /** Latency of the calls that succeeded, µs. */
  p50Us: number;
  p99Us: number;
  /** Calls made again after a connection attempt with a Go node gave up (go_member.ts, scale_node.ts). */
  retried: number;
}

/** A term in which more than one node was seen as leader. */
export interface LeaderViolation {
  term: number;
  /** The nodes seen as its leader, sorted. */
  leaders: string[];
}

/** What one leader and one term the voters agree on, and when the last of them learnt it. */
export interface Agreement {
  leader: string;
  term: number;
  /** Wall-clock ms of the latest of the observations that agree. */
  at: number;
}

/** Options of {@link runCut}. */
export interface CutOptions {
  /** The test hosts the nodes run in (the cut is theirs to make and heal). */
  hosts: TestHosts;
  /** Every node of the running cluster, in the order they started; the first {@link VOTERS} vote. */
  members: readonly ErgoMember[];
  /** How long the cut lasts. */
  seconds: number;
  /** The share of the nodes cut off (rounded up; the leader's node always among them). */
  fraction: number;
  /** Whether the nodes find each other through etcd (their keys can expire during the cut). */
  etcd: boolean;
  /** The mesh after the heal: calls each node has in flight, and each call's timeout. */
  inflight: number;
  callTimeout: number;
  /** Progress lines. */
  log: (line: string) => void;
}

/** What {@link runCut} measured. */
export interface CutFigures {
  /** How many nodes ran a Leader member ({@link VOTERS}). */
  voters: number;
  /** From the members' start until all voters named one leader in one term (undefined: not within 60 s). */
  electedMs?: number;
  /** The nodes cut off (the leader's among them). */
  isolated: number;
  /** How long the cut was in force: from its start until the heal's. */
  seconds: number;
  /** How long putting it in force took (nft rules on every host, for each node cut off). */
  installMs: number;
  /** From the cut until the voters left named one new leader in a higher term (undefined: not during the cut). */
  newLeaderMs?: number;
  /** From the cut until the cut-off leader said it no longer leads (undefined: it did not during the cut). */
  stepDownMs?: number;
  /** From the heal until all voters named one leader in one term again (undefined: not within 60 s). */
  healedMs?: number;
  /** (etcd) From the heal until every node had been told of every cut-off node again (undefined: not within 60 s). */
  retoldMs?: number;
  /** The heal changed the leader or the term the voters left had agreed on. */
  movedOnHeal?: boolean;
  /** Leader observations of the whole phase, and the terms that had a leader. */
  observations: number;
  terms: number;
  /** Terms with two different leaders (election safety): their count, and each. */
  violations: number;
  violating: LeaderViolation[];
  /** Every node calling every other once after the heal. */
  mesh: MeshFigures;
}

/**
 * Election safety over a history of observations: each term in which more than one node was seen
 * as leader, by itself (`obs: 'leader'`) or by a follower naming it; in term order. Pure, so a
 * planted history can show that it catches a split brain.
 */
export function leaderViolations(observations: readonly LeaderObservation[]): LeaderViolation[] {
  const byTerm = new Map<number, Set<string>>();
  for (const o of observations) {
    const leader = o.obs === 'leader' ? o.node : o.leader;
    if (leader === '') continue;
    const seen = byTerm.get(o.term) ?? new Set<string>();
    seen.add(leader);
    byTerm.set(o.term, seen);
  }
  return [...byTerm]
    .filter(([, seen]) => seen.size > 1)
    .sort(([a], [b]) => a - b)
    .map(([term, seen]) => ({ term, leaders: [...seen].sort() }));
}

/**
 * The leader and term every member names in its latest observation (`latest`, one per member;
 * undefined: it observed nothing yet), or undefined while they do not all name the same one.
 */
export function agreement(latest: readonly (LeaderObservation | undefined)[]): Agreement | undefined {
  let agreed: Agreement | undefined;
  for (const o of latest) {
    if (o === undefined) return undefined;
    const leader = o.obs === 'leader' ? o.node : o.leader;
    if (leader === '') return undefined;
    if (agreed === undefined) agreed = { leader, term: o.term, at: o.at };
    else if (agreed.leader !== leader || agreed.term !== o.term) return undefined;
    else agreed.at = Math.max(agreed.at, o.at);
  }
  return agreed;
}

/**
 * Resolves with the agreement of `voters` once `accept` takes it (checked now and on each of their
 * observations), or undefined after `ms`.
 */
function agreed(
  voters: readonly ErgoMember[],
  accept: (a: Agreement) => boolean,
  ms: number,
): Promise<Agreement | undefined> {
  return new Promise((resolve) => {
    const offs: (() => void)[] = [];
    const done = (a: Agreement | undefined): void => {
      clearTimeout(timer);
      for (const off of offs) off();
      resolve(a);
    };
    const check = (): void => {
      const a = agreement(voters.map((v) => v.leaderObs.at(-1)));
      if (a !== undefined && accept(a)) done(a);
    };
    const timer = setTimeout(() => done(undefined), Math.max(0, ms));
    for (const v of voters) offs.push(v.watchLeader(check));
    check();
  });
}

/** Runs the cut phase on a running ergo-ts cluster (see the file's header); heals what it cut, whatever happens. */
export async function runCut(o: CutOptions): Promise<CutFigures | undefined> {
  if (!(Number.isFinite(o.seconds) && o.seconds > 0)) throw new RangeError(`cut seconds: > 0, got ${o.seconds}`);
  if (!(o.fraction > 0 && o.fraction <= 1)) throw new RangeError(`cut fraction: (0, 1], got ${o.fraction}`);
  const { members, log } = o;
  if (members.length < VOTERS) {
    log(`cut: skipped, ${members.length} nodes are fewer than the ${VOTERS} voters`);
    return undefined;
  }
  const voters = members.slice(0, VOTERS);
  const names = voters.map((v) => v.name);
  const s = (ms: number | undefined): string => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);

  // ---- elect ----
  const e0 = wall();
  await Promise.all(voters.map((v) => v.startLeader(names)));
  const first = await agreed(voters, () => true, AGREE_MS);
  const electedMs = first === undefined ? undefined : first.at - e0;
  log(
    first === undefined
      ? `Leader: the ${VOTERS} voters did not agree within ${AGREE_MS / 1000} s`
      : `Leader: ${VOTERS} voters follow ${first.leader} (term ${first.term}) after ${s(electedMs)}`,
  );
  // Without an agreed leader the cut still runs (its node: the first voter's), to show what follows.
  const oldLeader = voters.find((v) => v.name === first?.leader) ?? voters[0]!;
  const firstTerm = first?.term ?? 0;
  const left = voters.filter((v) => v !== oldLeader);

  // ---- cut ----
  const k = Math.min(members.length - VOTERS + 1, Math.max(1, Math.ceil(o.fraction * members.length)));
  const others = k > 1 ? members.slice(VOTERS).slice(-(k - 1)) : [];
  const faults: DropFault[] = [];
  let healAt = 0;
  let cut: Agreement | undefined;
  let installMs = 0;
  const cutAt = wall();
  try {
    // The leader's first, alone: its cut is what starts the election timed here; the others'
    // rules (one nft run per host for each) go in while the voters elect.
    faults.push(await o.hosts.isolate(oldLeader.host));
    faults.push(...(await Promise.all(others.map((m) => o.hosts.isolate(m.host)))));
    installMs = wall() - cutAt;
    log(
      `cut: ${k} node${k === 1 ? '' : 's'} (the leader ${oldLeader.name} among them) cut off, in force after ${s(installMs)}`,
    );
    const deadline = cutAt + o.seconds * 1000;
    cut = await agreed(left, (a) => a.term > firstTerm, deadline - wall());
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - wall())));
  } finally {
    healAt = wall();
    await Promise.all(faults.map((f) => f.heal()));
  }
  const newLeaderMs = cut === undefined ? undefined : cut.at - cutAt;
  const down = oldLeader.leaderObs.find((x) => x.at >= cutAt && x.obs === 'follower');
  const stepDownMs = down === undefined || down.at > healAt ? undefined : down.at - cutAt;
  log(
    `cut: new leader ${cut === undefined ? 'none' : `${cut.leader} (term ${cut.term})`} after ${s(newLeaderMs)}; ` +
      `the old one stepped down after ${s(stepDownMs)}; healed after ${((healAt - cutAt) / 1000).toFixed(1)} s ` +
      `(in ${s(wall() - healAt)})`,
  );

  // ---- heal ----
  const cutOff = [oldLeader, ...others].map((m) => m.name);
  const retold = o.etcd
    ? Promise.all(
        members.map((m) =>
          m.registered(
            cutOff.filter((x) => x !== m.name),
            AGREE_MS - (wall() - healAt),
          ),
        ),
      ).then(
        (ats) => Math.max(0, Math.max(...ats) - healAt),
        () => undefined,
      )
    : Promise.resolve(undefined);
  // Agreement in a term above the first: the old leader's stale view cannot pass for it.
  const healed = await agreed(voters, (a) => a.term > firstTerm, AGREE_MS - (wall() - healAt));
  const healedMs = healed === undefined ? undefined : Math.max(0, healed.at - healAt);
  const movedOnHeal =
    healed === undefined || cut === undefined ? undefined : healed.leader !== cut.leader || healed.term !== cut.term;
  log(
    healed === undefined
      ? `healed: the ${VOTERS} voters did not agree within ${AGREE_MS / 1000} s`
      : `healed: all ${VOTERS} follow ${healed.leader} (term ${healed.term}) after ${s(healedMs)}${movedOnHeal === true ? ' (the heal moved the leader or the term)' : ''}`,
  );
  // The members' own answer, beside what their observations said (a failed question is only logged).
  const status = await Promise.all(
    voters.map((v) => v.leaderStatus().catch((e: unknown) => ({ term: NaN, leader: String(e), isLeader: false }))),
  );
  if (healed !== undefined && status.some((x) => x.leader !== healed.leader || x.term !== healed.term))
    log(
      `healed: the members' status now: ${JSON.stringify(status.map((x, i) => [voters[i]!.name, x.term, x.leader]))}`,
    );

  // ---- safety ----
  const observations = voters.flatMap((v) => v.leaderObs.filter((x) => x.at >= e0));
  const violating = leaderViolations(observations);
  const terms = new Set(observations.filter((x) => x.obs === 'leader' || x.leader !== '').map((x) => x.term)).size;
  log(`Leader: ${observations.length} observations, ${terms} terms with a leader, ${violating.length} with two`);
  for (const v of violating) log(`  term ${v.term}: leaders ${v.leaders.join(', ')}`);

  // ---- calls after heal ----
  const retoldMs = await retold;
  if (o.etcd)
    log(
      retoldMs === undefined
        ? `healed: not every node was told of the cut-off ones again within ${AGREE_MS / 1000} s`
        : `healed: every node told of the cut-off ones again after ${s(retoldMs)}`,
    );
  // The heal is complete when every connection through the cut has read again (or is gone): a
  // retransmission backed off during the cut can come seconds after the heal, and a stall timeout
  // firing meanwhile would fail a call of the mesh through no fault of the heal.
  const f0 = wall();
  const stale = await Promise.all(
    members.map((m) =>
      m.fresh(cutOff.includes(m.name) ? members.filter((x) => x !== m).map((x) => x.name) : cutOff, AGREE_MS),
    ),
  );
  const silent = stale.flatMap((x, i) => x.stale.map((n) => `${members[i]!.name}<-${n}`));
  log(
    silent.length === 0
      ? `healed: every connection through the cut read again after ${s(wall() - f0)} more`
      : `healed: connections still silent after ${AGREE_MS / 1000} s: ${silent.join(', ')}`,
  );
  // A cut-off node's lease can run out after the heal too (its keep-alives wait out the same
  // backed-off retransmissions): told it left meanwhile, every node waits to be told it is back.
  if (o.etcd)
    await Promise.all(
      members.map((m) =>
        m.registered(
          cutOff.filter((x) => x !== m.name),
          AGREE_MS,
        ),
      ),
    ).catch((e: unknown) => log(`healed: ${String(e)}`));
  const mesh = await meshRound(members, o.inflight, o.callTimeout, log);
  log(
    `mesh after heal: ${mesh.calls - mesh.failed}/${mesh.calls} calls in ${(mesh.ms / 1000).toFixed(1)} s${mesh.failed > 0 ? ` (${JSON.stringify(mesh.failedBy)})` : ''}`,
  );

  return {
    voters: VOTERS,
    ...(electedMs === undefined ? {} : { electedMs }),
    isolated: k,
    seconds: (healAt - cutAt) / 1000,
    installMs,
    ...(newLeaderMs === undefined ? {} : { newLeaderMs }),
    ...(stepDownMs === undefined ? {} : { stepDownMs }),
    ...(healedMs === undefined ? {} : { healedMs }),
    ...(retoldMs === undefined ? {} : { retoldMs }),
    ...(movedOnHeal === undefined ? {} : { movedOnHeal }),
    observations: observations.length,
    terms,
    violations: violating.length,
    violating,
    mesh,
  };
}

/**
 * Every node calls every other once, `inflight` at a time, each starting at its successor in a
 * ring, all nodes at once (harness.ts's mesh, and the mesh after the heal here).
 */
export async function meshRound(
  members: readonly ScaleMember[],
  inflight: number,
  callTimeout: number,
  log: (line: string) => void,
): Promise<MeshFigures> {
  const n = members.length;
  const m0 = wall();
  const answers: MeshAnswer[] = await Promise.all(
    members.map((m, i) =>
      m.mesh(
        Array.from({ length: n - 1 }, (_, k) => members[(i + 1 + k) % n]!.name),
        inflight,
        callTimeout,
      ),
    ),
  );
  const ms = wall() - m0;
  const lat = answers.flatMap((a) => a.lat).sort((a, b) => a - b);
  const failedBy: Record<string, number> = {};
  for (const a of answers) for (const [code, k] of Object.entries(a.failed)) failedBy[code] = (failedBy[code] ?? 0) + k;
  const calls = answers.reduce((sum, a) => sum + a.calls, 0);
  const failed = Object.values(failedBy).reduce((sum, k) => sum + k, 0);
  const retried = answers.reduce((sum, a) => sum + (a.retried ?? 0), 0);
  if (retried > 0)
    log(
      `  ${retried} calls made again after a Go node's handshake gave up ("no route", or the connection closed during the handshake)`,
    );
  // Who failed, and the log of the first that did: a failure after a heal is the product's to explain.
  const failing = answers.flatMap((a, i) => (Object.keys(a.failed).length > 0 ? [i] : []));
  for (const i of failing) log(`  ${members[i]!.name} failed ${JSON.stringify(answers[i]!.failed)}`);
  if (failing.length > 0)
    log(`  ${members[failing[0]!]!.name}'s log ends: ${members[failing[0]!]!.stderrTail().slice(-600)}`);
  const pct = (p: number): number =>
    lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  return {
    calls,
    failed,
    failedBy,
    ms,
    perSecond: ((calls - failed) / ms) * 1000,
    p50Us: pct(0.5),
    p99Us: pct(0.99),
    retried,
  };
}
