// The options of a leader actor (what its `init` returns), their defaults and their checks.

import { ErrIncorrect } from '../../gen/errors.js';
import { ProcessID } from '../../gen/processid.js';
import type { LeaderStore } from './store.js';

/** Ergo's defaults, in milliseconds. */
export const LEADER_DEFAULTS = Object.freeze({
  electionTimeoutMin: 150,
  electionTimeoutMax: 300,
  heartbeatInterval: 50,
});

/** What a leader actor's `init` returns (Ergo's `leader.Options`). */
export interface LeaderOptions {
  /** Required, non-empty. Election messages of another cluster are ignored. */
  clusterID: string;
  /**
   * The configured members (name and node of each one's leader actor; this actor's own entry
   * may be listed and is skipped when sending). They count towards the quorum from the start.
   */
  bootstrap?: ProcessID[];
  /** Lower bound of the random election timeout, ms (default 150). */
  electionTimeoutMin?: number;
  /** Upper bound (exclusive), ms (default 300); must be greater than the minimum. */
  electionTimeoutMax?: number;
  /** Interval of the leader's heartbeats, ms (default 50; a warning is logged when ≥ the minimum timeout). */
  heartbeatInterval?: number;
  /**
   * `'membership'` (default): a majority of every member known (bootstrap + joined), dead or
   * alive — safe under partitions. `'alive'`: Ergo's rule, a majority of the peers alive now;
   * a 2/2 split of four nodes can then elect two leaders in one term. Keep it for comparison.
   */
  quorum?: 'membership' | 'alive';
  /**
   * Stable storage for (term, vote): with it a restarted member keeps Raft's promise never to
   * vote twice in a term. Without it (Ergo's way) see `startupQuiet`.
   */
  store?: LeaderStore;
  /**
   * Without a store only: after start the member listens for this many ms (default
   * `electionTimeoutMax`) before it votes or stands, then votes only in terms above the highest
   * it heard of. 0 = vote at once, as Ergo does. A mitigation, not a proof: see docs/leader.md.
   */
  startupQuiet?: number;
  /**
   * Pre-vote (default true; Raft thesis §9.6): before it stands, a member asks the others "would
   * you vote for me in term + 1?" and stands only with a majority of yeses; nobody changes term
   * on the question, and a member that heard from a live leader within `electionTimeoutMin`
   * says no. A member cut off from the others therefore keeps its term, and its return does not
   * force an election. `false`: stand at once, as Ergo does (needed only where the ergo-ts
   * members alone cannot make a majority of a mixed cluster: Go members do not answer).
   */
  preVote?: boolean;
  /**
   * Check-quorum (default true): a leader that has not heard from a majority of the members
   * within `electionTimeoutMax` steps down. Followers answer each heartbeat (with a refused
   * vote reply of the leader's term, which Go leaders ignore); members never seen speaking
   * pre-vote (Go members) count while their connection is up.
   */
  checkQuorum?: boolean;
}

/** The options after their checks and defaults (what the actor runs with). */
export interface ResolvedLeaderOptions {
  clusterID: string;
  bootstrap: ProcessID[];
  min: number;
  max: number;
  hb: number;
  aliveQuorum: boolean;
  preVote: boolean;
  checkQuorum: boolean;
  store: LeaderStore | undefined;
  /** Without a store: ms of startup quiet (0 = none). */
  quietMs: number;
}

/** Checks `o` and applies the defaults; ErrIncorrect (`ERR_INCORRECT`) names the bad option. */
export function resolveLeaderOptions(o: LeaderOptions): ResolvedLeaderOptions {
  if (o === null || typeof o !== 'object') throw ErrIncorrect.with('leader init must return options');
  if (typeof o.clusterID !== 'string' || o.clusterID === '')
    throw ErrIncorrect.with('leader option clusterID cannot be empty');
  const ms = (v: unknown, name: string, dflt: number): number => {
    if (v === undefined || v === 0) return dflt;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw ErrIncorrect.with(`leader option ${name} ${String(v)} (expected milliseconds, an integer > 0)`);
    return v;
  };
  const min = ms(o.electionTimeoutMin, 'electionTimeoutMin', LEADER_DEFAULTS.electionTimeoutMin);
  const max = ms(o.electionTimeoutMax, 'electionTimeoutMax', LEADER_DEFAULTS.electionTimeoutMax);
  const hb = ms(o.heartbeatInterval, 'heartbeatInterval', LEADER_DEFAULTS.heartbeatInterval);
  if (max <= min)
    throw ErrIncorrect.with(
      `leader option electionTimeoutMax (${max}) must be greater than electionTimeoutMin (${min})`,
    );
  if (o.quorum !== undefined && o.quorum !== 'membership' && o.quorum !== 'alive')
    throw ErrIncorrect.with(`leader option quorum ${String(o.quorum)} (expected 'membership' or 'alive')`);
  for (const [name, v] of [
    ['preVote', o.preVote],
    ['checkQuorum', o.checkQuorum],
  ] as const)
    if (v !== undefined && typeof v !== 'boolean')
      throw ErrIncorrect.with(`leader option ${name} ${String(v)} (expected a boolean)`);
  const bootstrap = o.bootstrap ?? [];
  if (!Array.isArray(bootstrap) || bootstrap.some((b) => !(b instanceof ProcessID)))
    throw ErrIncorrect.with('leader option bootstrap must be an array of ProcessID');
  const quiet = ms(o.startupQuiet, 'startupQuiet', -1);
  return {
    clusterID: o.clusterID,
    bootstrap: bootstrap.slice(),
    min,
    max,
    hb,
    aliveQuorum: o.quorum === 'alive',
    preVote: o.preVote !== false,
    checkQuorum: o.checkQuorum !== false,
    store: o.store,
    quietMs: o.store !== undefined || o.startupQuiet === 0 ? 0 : quiet < 0 ? max : quiet,
  };
}
