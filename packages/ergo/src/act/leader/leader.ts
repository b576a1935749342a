// Leader: Raft-style leader election among the actors of one cluster (Ergo's actor/leader). Only
// the election: no log, no replication. Members find each other through Bootstrap ProcessIDs
// and through any election message that reaches them; one of them is elected and heartbeats the
// others. Unlike Ergo, the quorum is a majority of the configured membership (every member ever
// known, alive or not), so two sides of a partition can never both reach it.

import { ErgoError, ErrIncorrect, toError } from '../../gen/errors.js';
import { MessageDownPID, type MessageEvent } from '../../gen/messages.js';
import type { PID } from '../../gen/pid.js';
import { ProcessState } from '../../gen/priority.js';
import { ProcessID } from '../../gen/processid.js';
import { MailboxKind, Stop, type Process, type ProcessMailbox } from '../../gen/process.js';
import type { Ref } from '../../gen/ref.js';
import type { HandlerResult } from '../actor.js';
import { BehaviorBase } from '../base.js';
import { answerInspect, exitReason, finishCall, isThenable, requestRef } from '../handling.js';
import {
  MessageLeaderElectionTimeout,
  MessageLeaderHeartbeat,
  MessageLeaderHeartbeatTimeout,
  MessageLeaderQuietEnd,
  MessageLeaderVote,
  MessageLeaderVoteReply,
} from './messages.js';
import type { LeaderStore } from './store.js';

const LEADER_BATCH = 64;

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
}

type Role = 'follower' | 'candidate' | 'leader';

/** One configured or discovered member: how to reach it and, while known alive, its PID. */
interface Member {
  /** Name and node (bootstrap or `join`); undefined for a member known only by its PID. */
  id: ProcessID | undefined;
  pid: PID | undefined;
}

/**
 * Ergo's `leader.Actor`. Implement `init(...args)` returning {@link LeaderOptions}; override the
 * callbacks you need. Lifecycle: after init a member is a follower with a random election
 * timer; a timer that fires makes it a candidate (term + 1, it votes for itself and asks every
 * member); a majority of the members makes it leader (`handleBecomeLeader`), and its heartbeats
 * make the others followers (`handleBecomeFollower(leader)`). A leader that learns of a higher
 * term, or that loses sight of a majority of the members, steps down (`handleBecomeFollower()`
 * with no leader).
 *
 * Callbacks run after the state change they report, in order; each may return an Error (the
 * actor stops with it; from `handleBecomeLeader` it first steps down) or a promise (the actor
 * waits for it, its mail queues meanwhile). Mail that is not an election message goes to
 * `handleMessage`/`handleCall`/`handleEvent`/`handleInspect` as in an Actor. Exit signals stop
 * the actor (no trap-exit). A leader actor cannot be a logger.
 *
 * Members are told apart by node (one leader actor per cluster per node; on the local node, by
 * registered name): a member that restarts is the same member with a new PID.
 */
export abstract class Leader extends BehaviorBase {
  #mb!: ProcessMailbox;
  #cluster = '';
  #bootstrap: ProcessID[] = [];
  #min: number = LEADER_DEFAULTS.electionTimeoutMin;
  #max: number = LEADER_DEFAULTS.electionTimeoutMax;
  #hb: number = LEADER_DEFAULTS.heartbeatInterval;
  #aliveQuorum = false;
  #store: LeaderStore | undefined;

  #term = 0;
  /** Member key voted for in #term ('' = none). */
  #votedFor = '';
  #role: Role = 'follower';
  #leader: PID | undefined;
  /** Member keys that granted their vote in the current candidacy (self included). */
  #votes = new Set<string>();
  /** While true (startup without a store) no vote is given and no candidacy started. */
  #quiet = false;
  /** Votes and candidacies only in terms above this (the term learnt while quiet). */
  #floor = 0;
  #members = new Map<string, Member>();
  /** Member key of every PID seen, so a vote or reply finds its member in one lookup. */
  #keyOfPid = new Map<string, string>();
  #selfKey = '';

  #electionGen = 0;
  #heartbeatGen = 0;
  #cancelElection: (() => unknown) | undefined;
  #cancelHeartbeat: (() => unknown) | undefined;
  /** Candidacies since a leader was last known (only the first is logged at info). */
  #candidacies = 0;
  /** Callbacks due after the current state change (see #flush). */
  #due: (() => unknown)[] = [];

  /** Returns the options (required): the cluster and, usually, its bootstrap members. */
  abstract init(...args: unknown[]): LeaderOptions | Promise<LeaderOptions>;

  // --- callbacks ------------------------------------------------------------------------------

  /** This member was elected for {@link term}. Return an Error to step down and stop. */
  handleBecomeLeader(): HandlerResult {
    return undefined;
  }
  /** A leader is known (`leader`), or none any more (`undefined`: stepped down, leader left). */
  handleBecomeFollower(_leader: PID | undefined): HandlerResult {
    return undefined;
  }
  /** A member's actor became known (first message from this PID). */
  handlePeerJoined(_peer: PID): HandlerResult {
    return undefined;
  }
  /** A known peer ended or its node went away (it stays a member for the quorum). */
  handlePeerLeft(_peer: PID): HandlerResult {
    return undefined;
  }
  /** The term moved on because another member's message carried a higher one (not on own candidacy, as in Ergo). */
  handleTermChanged(_oldTerm: number, _newTerm: number): HandlerResult {
    return undefined;
  }
  /** Any other message (including MessageDownPID of processes that are not peers). */
  handleMessage(from: PID, _message: unknown): HandlerResult {
    this.log.warning('Leader.handleMessage: unhandled message from %s', from.toString());
  }
  /** A synchronous request, as Actor.handleCall (return the reply, `undefined` to answer later, or a Stop). */
  handleCall(from: PID, _ref: Ref, _request: unknown): unknown {
    this.log.warning('Leader.handleCall: unhandled request from %s', from.toString());
    return undefined;
  }
  /** An event this actor subscribed to. */
  handleEvent(message: MessageEvent): HandlerResult {
    this.log.warning('Leader.handleEvent: unhandled event message %s', message.event.toString());
  }
  /** Default: cluster, term, leader ("true"/"false"), peers (alive count), members, quorum. */
  handleInspect(_from: PID, ..._items: string[]): Record<string, string> | Promise<Record<string, string>> {
    return {
      cluster: this.#cluster,
      term: String(this.#term),
      leader: String(this.#role === 'leader'),
      peers: String(this.peerCount()),
      members: String(this.#members.size + 1),
      quorum: String(this.quorum()),
    };
  }
  /** Runs once after the actor left the node. */
  terminate(_reason: Error): unknown {
    return undefined;
  }

  // --- queries and commands (inside the actor's handlers) -------------------------------------

  /** True while this member is the elected leader of {@link term}. */
  isLeader(): boolean {
    return this.#role === 'leader';
  }
  /**
   * The leader this member knows of (itself when leader), undefined when none. Go's `Leader()`:
   * renamed because `leader` is the process' group leader in every ergo-ts behaviour.
   */
  clusterLeader(): PID | undefined {
    return this.#leader;
  }
  /** The current term (0 before any election). */
  term(): number {
    return this.#term;
  }
  /** PIDs of the members whose actor is known alive (not this one). */
  peers(): PID[] {
    const out: PID[] = [];
    for (const m of this.#members.values()) if (m.pid !== undefined) out.push(m.pid);
    return out;
  }
  /** Number of {@link peers}. */
  peerCount(): number {
    let n = 0;
    for (const m of this.#members.values()) if (m.pid !== undefined) n++;
    return n;
  }
  /** True if `pid` is a known alive peer. */
  hasPeer(pid: PID): boolean {
    const key = this.#keyOfPid.get(pid.key);
    return key !== undefined && this.#members.get(key)?.pid?.equals(pid) === true;
  }
  /** Size of the configured membership, this member included (what the quorum is a majority of). */
  memberCount(): number {
    return this.#members.size + 1;
  }
  /** Votes needed to win: a majority of the members (or of the alive peers + 1 with `quorum: 'alive'`). */
  quorum(): number {
    const n = this.#aliveQuorum ? this.peerCount() : this.#members.size;
    return Math.floor((n + (this.#aliveQuorum ? 0 : 1)) / 2) + 1;
  }
  /** The cluster this actor elects in. */
  clusterID(): string {
    return this.#cluster;
  }
  /** The bootstrap members of the options. */
  bootstrap(): ProcessID[] {
    return this.#bootstrap.slice();
  }
  /** Sends `message` to every alive peer. */
  broadcast(message: unknown): void {
    for (const m of this.#members.values()) if (m.pid !== undefined) this.#trySend(m.pid, message);
  }
  /** Sends `message` to every bootstrap member but this one. */
  broadcastBootstrap(message: unknown): void {
    for (const id of this.#bootstrap) if (this.#keyOfId(id) !== this.#selfKey) this.#trySend(id, message);
  }
  /**
   * Adds `peer` to the membership (it counts towards the quorum from now on) and introduces this
   * member to it with a vote request of the current term, as Ergo's `Join` does.
   */
  join(peer: ProcessID): void {
    if (!(peer instanceof ProcessID)) throw ErrIncorrect.with('join expects a ProcessID');
    const key = this.#keyOfId(peer);
    if (key === this.#selfKey) return;
    const m = this.#members.get(key);
    if (m === undefined) this.#members.set(key, { id: peer, pid: undefined });
    else m.id ??= peer;
    this.#trySend(peer, new MessageLeaderVote(this.#cluster, this.#term, this.pid));
  }

  // --- ProcessBehavior ------------------------------------------------------------------------

  processInit(process: Process, args: unknown[]): unknown {
    this.bind(process);
    this.#mb = process.mailbox();
    const o = this.init(...args);
    if (isThenable(o)) return Promise.resolve(o).then((v) => this.#setup(v));
    return this.#setup(o);
  }

  #setup(o: LeaderOptions): undefined {
    if (o === null || typeof o !== 'object') throw ErrIncorrect.with('leader init must return options');
    if (typeof o.clusterID !== 'string' || o.clusterID === '')
      throw ErrIncorrect.with('leader option clusterID cannot be empty');
    const ms = (v: unknown, name: string, dflt: number): number => {
      if (v === undefined || v === 0) return dflt;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
        throw ErrIncorrect.with(`leader option ${name} ${String(v)} (expected milliseconds, an integer > 0)`);
      return v;
    };
    this.#min = ms(o.electionTimeoutMin, 'electionTimeoutMin', LEADER_DEFAULTS.electionTimeoutMin);
    this.#max = ms(o.electionTimeoutMax, 'electionTimeoutMax', LEADER_DEFAULTS.electionTimeoutMax);
    this.#hb = ms(o.heartbeatInterval, 'heartbeatInterval', LEADER_DEFAULTS.heartbeatInterval);
    if (this.#max <= this.#min)
      throw ErrIncorrect.with(
        `leader option electionTimeoutMax (${this.#max}) must be greater than electionTimeoutMin (${this.#min})`,
      );
    if (this.#hb >= this.#min)
      this.log.warning(
        'HeartbeatInterval (%dms) >= ElectionTimeoutMin (%dms) - elections may be unstable',
        this.#hb,
        this.#min,
      );
    if (o.quorum !== undefined && o.quorum !== 'membership' && o.quorum !== 'alive')
      throw ErrIncorrect.with(`leader option quorum ${String(o.quorum)} (expected 'membership' or 'alive')`);
    this.#aliveQuorum = o.quorum === 'alive';
    const bootstrap = o.bootstrap ?? [];
    if (!Array.isArray(bootstrap) || bootstrap.some((b) => !(b instanceof ProcessID)))
      throw ErrIncorrect.with('leader option bootstrap must be an array of ProcessID');
    this.#cluster = o.clusterID;
    this.#bootstrap = bootstrap.slice();
    this.#selfKey = this.#localKey(this.pid);
    for (const id of bootstrap) {
      const key = this.#keyOfId(id);
      if (key !== this.#selfKey && !this.#members.has(key)) this.#members.set(key, { id, pid: undefined });
    }
    this.#store = o.store;
    if (o.store !== undefined) {
      const s = o.store.load();
      if (s !== undefined) {
        this.#term = s.term;
        this.#votedFor = s.votedFor;
      }
      this.#resetElectionTimer();
      return undefined;
    }
    const quiet = ms(o.startupQuiet, 'startupQuiet', -1);
    const quietMs = o.startupQuiet === 0 ? 0 : quiet < 0 ? this.#max : quiet;
    if (quietMs > 0) {
      this.#quiet = true;
      this.sendAfter(this.pid, new MessageLeaderQuietEnd(0), quietMs);
    } else this.#resetElectionTimer();
    return undefined;
  }

  processTerminate(reason: Error): unknown {
    this.#cancelElectionTimer();
    this.#cancelHeartbeatTimer();
    return this.terminate(reason);
  }

  processRun(): unknown {
    const mb = this.#mb;
    for (let i = 0; i < LEADER_BATCH; i++) {
      if (!mb.take()) return undefined;
      const kind = mb.kind;
      const from = mb.from as PID;
      const message = mb.message;
      const extra = mb.extra;
      const queue = mb.queue;
      mb.release();
      let r: unknown;
      switch (kind) {
        case MailboxKind.Regular:
          if (queue === 'log') return new ErgoError('ERR_NOT_ALLOWED', 'a leader process can not be a logger');
          r = this.#regular(from, message);
          break;
        case MailboxKind.Request: {
          const ref = requestRef(extra);
          const v = this.handleCall(from, ref, message);
          r = isThenable(v)
            ? Promise.resolve(v).then((x) => finishCall(this, from, ref, x))
            : finishCall(this, from, ref, v);
          break;
        }
        case MailboxKind.Event:
          r = this.handleEvent(message as MessageEvent);
          break;
        case MailboxKind.Exit:
          r = exitReason(message);
          break;
        case MailboxKind.Inspect:
          r = answerInspect(this, from, extra as Ref, this.handleInspect(from, ...(message as string[])));
          break;
      }
      if (r !== undefined && r !== null && (r instanceof Error || r instanceof Stop || isThenable(r))) return r;
      if (this.state() === ProcessState.Zombee) return undefined;
    }
    return undefined;
  }

  // --- the election state machine -------------------------------------------------------------

  #regular(from: PID, message: unknown): unknown {
    try {
      if (message instanceof MessageLeaderHeartbeat) {
        if (message.clusterID !== this.#cluster) return undefined;
        this.#discover(from);
        this.#onHeartbeat(message);
      } else if (message instanceof MessageLeaderVote) {
        if (message.clusterID !== this.#cluster) return undefined;
        this.#discover(from);
        this.#onVote(from, message);
      } else if (message instanceof MessageLeaderVoteReply) {
        if (message.clusterID !== this.#cluster) return undefined;
        this.#discover(from);
        this.#onVoteReply(from, message);
      } else if (message instanceof MessageLeaderElectionTimeout) {
        if (message.gen === this.#electionGen) this.#onElectionTimeout();
      } else if (message instanceof MessageLeaderHeartbeatTimeout) {
        if (message.gen === this.#heartbeatGen && this.#role === 'leader') {
          this.#sendHeartbeat();
          this.#resetHeartbeatTimer();
        }
      } else if (message instanceof MessageLeaderQuietEnd) {
        this.#endQuiet();
      } else if (message instanceof MessageDownPID && this.#peerDown(message.pid)) {
        // handled: a peer left
      } else {
        return this.handleMessage(from, message);
      }
    } catch (e) {
      // A store that cannot save: stop rather than act on a state that would be forgotten.
      this.#due.length = 0;
      return toError(e);
    }
    return this.#flush();
  }

  /** Runs the callbacks queued by the last state change, in order; a promise defers the rest. */
  #flush(): unknown {
    while (this.#due.length > 0) {
      const r = this.#due.shift()!();
      if (isThenable(r)) {
        return Promise.resolve(r).then((v) =>
          v instanceof Error || v instanceof Stop ? this.#fail(v) : this.#flush(),
        );
      }
      if (r instanceof Error || r instanceof Stop) return this.#fail(r);
    }
    return undefined;
  }

  #fail(r: Error | Stop): Error | Stop {
    this.#due.length = 0;
    return r;
  }

  #discover(pid: PID): void {
    if (pid.equals(this.pid)) return;
    const key = this.#keyOf(pid);
    const m = this.#members.get(key);
    if (m !== undefined && m.pid !== undefined && m.pid.equals(pid)) return;
    if (m === undefined) this.#members.set(key, { id: undefined, pid });
    else m.pid = pid;
    try {
      this.monitorPID(pid);
    } catch (e) {
      this.log.warning('leader: unable to monitor peer %s: %s', pid.toString(), toError(e).message);
    }
    this.#due.push(() => this.handlePeerJoined(pid));
  }

  /** Returns true if `pid` was a peer (its Down is ours, not the user's). */
  #peerDown(pid: PID): boolean {
    const key = this.#keyOfPid.get(pid.key);
    if (key === undefined) return false;
    const m = this.#members.get(key);
    if (m === undefined || m.pid === undefined || !m.pid.equals(pid)) return false;
    m.pid = undefined;
    this.#due.push(() => this.handlePeerLeft(pid));
    if (this.#leader !== undefined && this.#leader.equals(pid)) {
      this.log.info('leader down');
      this.#leader = undefined;
      this.#due.push(() => this.handleBecomeFollower(undefined));
      this.#resetElectionTimer();
    } else if (this.#role === 'leader' && !this.#aliveQuorum && this.peerCount() + 1 < this.quorum()) {
      // A leader that can no longer reach a majority is not one: a new term is elected elsewhere.
      this.log.warning('leader: %d of %d members reachable, stepping down', this.peerCount() + 1, this.memberCount());
      this.#stepDown();
    }
    return true;
  }

  #onVote(from: PID, m: MessageLeaderVote): void {
    const term = m.term;
    if (term < this.#term) {
      // Ergo sends this rejection without the cluster ID (the candidate ignores it); with it the
      // stale candidate learns the newer term.
      this.#trySend(from, new MessageLeaderVoteReply(this.#cluster, this.#term, false));
      return;
    }
    if (term > this.#term) this.#adoptTerm(term);
    const key = this.#keyOf(m.candidate);
    let granted = false;
    if (!this.#quiet && term > this.#floor && (this.#votedFor === '' || this.#votedFor === key)) {
      granted = true;
      if (this.#votedFor !== key) {
        this.#votedFor = key;
        this.#persist();
      }
      this.#resetElectionTimer();
    }
    this.#trySend(from, new MessageLeaderVoteReply(this.#cluster, this.#term, granted));
  }

  #onVoteReply(from: PID, m: MessageLeaderVoteReply): void {
    if (m.term > this.#term) {
      this.#adoptTerm(m.term);
      this.#resetElectionTimer();
      return;
    }
    if (m.term !== this.#term || !m.granted || this.#role !== 'candidate') return;
    this.#votes.add(this.#keyOf(from));
    if (this.#votes.size >= this.quorum()) this.#becomeLeader();
  }

  #onHeartbeat(m: MessageLeaderHeartbeat): void {
    if (m.term < this.#term) return;
    if (this.#quiet && m.term > this.#floor) this.#floor = m.term;
    if (m.term > this.#term) this.#adoptTerm(m.term);
    if (this.#role === 'leader') {
      // Two leaders in one term: impossible with the membership quorum; with 'alive' (Ergo's) both step down.
      this.log.warning(
        'received heartbeat from %s claiming leadership in same term %d - stepping down',
        m.leader.toString(),
        m.term,
      );
      this.#stepDown();
    }
    this.#role = 'follower';
    this.#votes.clear();
    this.#candidacies = 0;
    if (this.#leader === undefined || !this.#leader.equals(m.leader)) {
      this.#leader = m.leader;
      const leader = m.leader;
      this.#due.push(() => this.handleBecomeFollower(leader));
    }
    this.#resetElectionTimer();
  }

  #onElectionTimeout(): void {
    this.#cancelElection = undefined;
    if (this.#quiet || this.#role === 'leader') return;
    // Candidacy: a new term above everything this member may have voted in.
    this.#term = Math.max(this.#term, this.#floor) + 1;
    this.#votedFor = this.#selfKey;
    this.#persist();
    this.#role = 'candidate';
    if (this.#leader !== undefined) {
      this.#leader = undefined;
      this.#due.push(() => this.handleBecomeFollower(undefined));
    }
    this.#votes.clear();
    this.#votes.add(this.#selfKey);
    // The first candidacy is news; the retries of a member that cannot reach a quorum are not.
    if (this.#candidacies++ === 0)
      this.log.info('election: term=%d members=%d quorum=%d', this.#term, this.memberCount(), this.quorum());
    else this.log.debug('election: term=%d members=%d quorum=%d', this.#term, this.memberCount(), this.quorum());
    this.#sendAll(new MessageLeaderVote(this.#cluster, this.#term, this.pid));
    // Ergo re-arms nothing here, so a lost election waits for the next message; Raft retries.
    this.#resetElectionTimer();
    if (this.#votes.size >= this.quorum()) this.#becomeLeader();
  }

  #becomeLeader(): void {
    this.#role = 'leader';
    this.#candidacies = 0;
    this.#leader = this.pid;
    this.#votes.clear();
    this.#cancelElectionTimer();
    this.log.info('became leader: term=%d', this.#term);
    this.#sendHeartbeat();
    this.#resetHeartbeatTimer();
    this.#due.push(() => {
      const r = this.handleBecomeLeader();
      const failed = (v: unknown): unknown => {
        if (!(v instanceof Error)) return v;
        if (this.#role === 'leader') this.#stepDown();
        return new ErgoError('ERR_LEADER_CALLBACK', `HandleBecomeLeader: ${v.message}`, { cause: v });
      };
      return isThenable(r) ? Promise.resolve(r).then(failed) : failed(r);
    });
  }

  /** Leader or candidate back to follower without a leader (the term is kept, and so is the vote). */
  #stepDown(): void {
    const was = this.#role;
    this.#role = 'follower';
    this.#votes.clear();
    this.#cancelHeartbeatTimer();
    if (was === 'leader') {
      this.#leader = undefined;
      this.#due.push(() => this.handleBecomeFollower(undefined));
    }
    this.#resetElectionTimer();
  }

  /** A higher term from another member: follow it, with no vote and no leader yet. */
  #adoptTerm(term: number): void {
    const old = this.#term;
    if (this.#quiet && term > this.#floor) this.#floor = term;
    this.#term = term;
    this.#votedFor = '';
    this.#persist();
    if (this.#role !== 'follower') this.#stepDown();
    if (this.#leader !== undefined) {
      this.#leader = undefined;
      this.#due.push(() => this.handleBecomeFollower(undefined));
    }
    if (old !== 0) this.#due.push(() => this.handleTermChanged(old, term));
  }

  #endQuiet(): void {
    if (!this.#quiet) return;
    this.#quiet = false;
    this.#floor = Math.max(this.#floor, this.#term);
    this.log.info('leader: startup quiet period over, voting in terms above %d', this.#floor);
    this.#resetElectionTimer();
  }

  #persist(): void {
    this.#store?.save({ term: this.#term, votedFor: this.#votedFor });
  }

  #sendHeartbeat(): void {
    this.#sendAll(new MessageLeaderHeartbeat(this.#cluster, this.#term, this.pid));
  }

  /** To every member once: its alive PID, else its name (members known only by a dead PID are skipped). */
  #sendAll(message: unknown): void {
    for (const m of this.#members.values()) {
      const to = m.pid ?? m.id;
      if (to !== undefined) this.#trySend(to, message);
    }
  }

  #trySend(to: PID | ProcessID, message: unknown): void {
    try {
      this.send(to, message);
    } catch {
      // A member that is gone or unreachable: the election copes (that is its purpose).
    }
  }

  #resetElectionTimer(): void {
    this.#cancelElectionTimer();
    if (this.#quiet) return;
    const delay = this.#min + Math.floor(Math.random() * (this.#max - this.#min));
    this.#cancelElection = this.sendAfter(this.pid, new MessageLeaderElectionTimeout(++this.#electionGen), delay);
  }

  #cancelElectionTimer(): void {
    this.#electionGen++;
    this.#cancelElection?.();
    this.#cancelElection = undefined;
  }

  #resetHeartbeatTimer(): void {
    this.#cancelHeartbeatTimer();
    this.#cancelHeartbeat = this.sendAfter(this.pid, new MessageLeaderHeartbeatTimeout(++this.#heartbeatGen), this.#hb);
  }

  #cancelHeartbeatTimer(): void {
    this.#heartbeatGen++;
    this.#cancelHeartbeat?.();
    this.#cancelHeartbeat = undefined;
  }

  // --- member identity ------------------------------------------------------------------------

  /** A local process: by registered name (stable over restarts), else by PID. */
  #localKey(pid: PID): string {
    if (pid.equals(this.pid)) return this.name !== '' ? `${this.name}@${pid.node}` : pid.key;
    try {
      const name = this.node.processInfo(pid).name;
      if (name !== '') return `${name}@${pid.node}`;
    } catch {
      // gone already: keyed by PID
    }
    return pid.key;
  }

  #keyOf(pid: PID): string {
    let key = this.#keyOfPid.get(pid.key);
    if (key === undefined) {
      key = pid.node === this.pid.node ? this.#localKey(pid) : pid.node;
      this.#keyOfPid.set(pid.key, key);
    }
    return key;
  }

  #keyOfId(id: ProcessID): string {
    return id.node === '' || id.node === this.pid.node ? `${id.name}@${this.pid.node}` : id.node;
  }
}
