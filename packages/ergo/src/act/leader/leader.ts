// Leader: Raft-style leader election among the actors of one cluster (Ergo's actor/leader). Only
// the election: no log, no replication. Members find each other through Bootstrap ProcessIDs
// and through any election message that reaches them; one of them is elected and heartbeats the
// others. Unlike Ergo, the quorum is a majority of the configured membership (every member ever
// known, alive or not), so two sides of a partition can never both reach it. Raft's pre-vote and
// check-quorum (thesis §9.6) keep a member that is cut off from raising its term, and a leader
// that is cut off from leading.

import { ErgoError, ErrIncorrect, toError } from '../../gen/errors.js';
import { MessageDownPID, type MessageEvent } from '../../gen/messages.js';
import type { PID } from '../../gen/pid.js';
import { ProcessState } from '../../gen/priority.js';
import { ProcessID } from '../../gen/processid.js';
import { MailboxKind, Stop, type Process, type ProcessMailbox } from '../../gen/process.js';
import type { Ref } from '../../gen/ref.js';
import type { HandlerResult } from '../actor.js';
import { BehaviorBase } from '../base.js';
import { answerInspect, exitReason, finishCall, requestRef } from '../handling.js';
import { isThenable } from '../../lib/thenable.js';
import {
  MessageLeaderElectionTimeout,
  MessageLeaderHeartbeat,
  MessageLeaderHeartbeatTimeout,
  MessageLeaderPreVote,
  MessageLeaderPreVoteReply,
  MessageLeaderQuietEnd,
  MessageLeaderVote,
  MessageLeaderVoteReply,
  isLeaderTerm,
} from './messages.js';
import { LEADER_DEFAULTS, resolveLeaderOptions, type LeaderOptions } from './options.js';
import type { LeaderStore } from './store.js';

const LEADER_BATCH = 64;

type Role = 'follower' | 'candidate' | 'leader';

/** One configured or discovered member: how to reach it and, while known alive, its PID. */
interface Member {
  /** Name and node (bootstrap or `join`); undefined for a member known only by its PID. */
  id: ProcessID | undefined;
  pid: PID | undefined;
  /** Seen speaking pre-vote (an ergo-ts member, which answers heartbeats). */
  preVoter: boolean;
  /** The leader's heartbeat tick at which it last answered this member's heartbeat or vote. */
  contact: number;
}

/** The monotonic clock of check-quorum and of the pre-vote's "heard from a live leader". */
const now = (): number => performance.now();

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
  /** The leader's heartbeat ticks so far: check-quorum's clock. */
  #tick = 0;
  #aliveQuorum = false;
  #store: LeaderStore | undefined;
  #preVote = true;
  #checkQuorum = true;

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
  /** The term asked about in the pre-vote round under way (0 = none). */
  #preTerm = 0;
  /** Member keys that said yes in that round (self included). */
  #preVotes = new Set<string>();
  /** When the current leader was last heard from (its heartbeat). */
  #leaderSeenAt = -Infinity;
  #preVoteRounds = 0;
  /** Election messages ignored for a term no float64 holds exactly (the first one is logged). */
  #refusedTerms = 0;
  #termSpaceLogged = false;

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
  /**
   * Default: cluster, term, leader ("true"/"false"), peers (alive count), peer_nodes (the nodes of
   * the alive peers, a JSON array, sorted), members, quorum, prevotes (pre-vote rounds started),
   * refused_terms (messages ignored for their term). An override that keeps them spreads
   * `super.handleInspect(from)` into its own map (`@ergo-ts/entities` reads `peer_nodes`).
   */
  handleInspect(_from: PID, ..._items: string[]): Record<string, string> | Promise<Record<string, string>> {
    return {
      cluster: this.#cluster,
      term: String(this.#term),
      leader: String(this.#role === 'leader'),
      peers: String(this.peerCount()),
      peer_nodes: JSON.stringify([...new Set(this.peers().map((p) => String(p.node)))].sort()),
      members: String(this.#members.size + 1),
      quorum: String(this.quorum()),
      prevotes: String(this.#preVoteRounds),
      refused_terms: String(this.#refusedTerms),
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
    if (m === undefined) this.#members.set(key, newMember(peer, undefined));
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

  #setup(options: LeaderOptions): undefined {
    const o = resolveLeaderOptions(options);
    this.#min = o.min;
    this.#max = o.max;
    this.#hb = o.hb;
    if (this.#hb >= this.#min)
      this.log.warning(
        'HeartbeatInterval (%dms) >= ElectionTimeoutMin (%dms) - elections may be unstable',
        this.#hb,
        this.#min,
      );
    this.#aliveQuorum = o.aliveQuorum;
    this.#preVote = o.preVote;
    this.#checkQuorum = o.checkQuorum;
    this.#cluster = o.clusterID;
    this.#bootstrap = o.bootstrap;
    this.#selfKey = this.#localKey(this.pid);
    for (const id of o.bootstrap) {
      const key = this.#keyOfId(id);
      if (key !== this.#selfKey && !this.#members.has(key)) this.#members.set(key, newMember(id, undefined));
    }
    this.#store = o.store;
    const s = o.store?.load();
    if (s !== undefined) {
      if (!isLeaderTerm(s.term))
        throw ErrIncorrect.with(`leader store holds term ${String(s.term)} (expected a safe non-negative integer)`);
      this.#term = s.term;
      this.#votedFor = s.votedFor;
    }
    if (o.quietMs > 0) {
      this.#quiet = true;
      this.sendAfter(this.pid, new MessageLeaderQuietEnd(0), o.quietMs);
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
        if (!this.#accept(from, message)) return undefined;
        this.#onHeartbeat(from, message);
      } else if (message instanceof MessageLeaderVote) {
        if (!this.#accept(from, message)) return undefined;
        this.#onVote(from, message);
      } else if (message instanceof MessageLeaderVoteReply) {
        if (!this.#accept(from, message)) return undefined;
        this.#onVoteReply(from, message);
      } else if (message instanceof MessageLeaderPreVote) {
        if (!this.#accept(from, message, true)) return undefined;
        this.#onPreVote(from, message);
      } else if (message instanceof MessageLeaderPreVoteReply) {
        if (!this.#accept(from, message, true)) return undefined;
        this.#onPreVoteReply(from, message);
      } else if (message instanceof MessageLeaderElectionTimeout) {
        if (message.gen === this.#electionGen) this.#onElectionTimeout();
      } else if (message instanceof MessageLeaderHeartbeatTimeout) {
        if (message.gen === this.#heartbeatGen && this.#role === 'leader') this.#onHeartbeatTimeout();
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

  /**
   * An election message of this cluster with a term this member can hold: its sender is a
   * member (and, with `preVoter`, an ergo-ts one). Others are ignored (a bad term logged once).
   */
  #accept(from: PID, m: { clusterID: string; term: number }, preVoter = false): boolean {
    if (m.clusterID !== this.#cluster) return false;
    if (!isLeaderTerm(m.term)) {
      // 2^60 would freeze this member for good (2^60 + 1 === 2^60); NaN compares false to all.
      if (this.#refusedTerms++ === 0)
        this.log.warning(
          'leader: ignored %s from %s: term %s is not a safe non-negative integer (logged once)',
          m.constructor.name,
          from.toString(),
          String(m.term),
        );
      return false;
    }
    const member = this.#discover(from);
    if (preVoter && member !== undefined) member.preVoter = true;
    return true;
  }

  #discover(pid: PID): Member | undefined {
    if (pid.equals(this.pid)) return undefined;
    const key = this.#keyOf(pid);
    const m = this.#members.get(key);
    if (m !== undefined && m.pid !== undefined && m.pid.equals(pid)) return m;
    const member = m ?? newMember(undefined, pid);
    if (m === undefined) this.#members.set(key, member);
    else m.pid = pid;
    try {
      this.monitorPID(pid);
    } catch (e) {
      this.log.warning('leader: unable to monitor peer %s: %s', pid.toString(), toError(e).message);
    }
    this.#due.push(() => this.handlePeerJoined(pid));
    return member;
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
    if (m.term !== this.#term) return;
    if (this.#role === 'leader') {
      // A follower's answer to a heartbeat (or a late vote): what check-quorum counts.
      const member = this.#members.get(this.#keyOf(from));
      if (member !== undefined) member.contact = this.#tick;
      return;
    }
    if (!m.granted || this.#role !== 'candidate') return;
    this.#votes.add(this.#keyOf(from));
    if (this.#votes.size >= this.quorum()) this.#becomeLeader();
  }

  #onHeartbeat(from: PID, m: MessageLeaderHeartbeat): void {
    if (m.term < this.#term) {
      // A leader of a term this member has left: tell it the term (it adopts it and steps down,
      // Go Ergo's leaders too), or a member that stood while cut off would never rejoin.
      this.#trySend(from, new MessageLeaderVoteReply(this.#cluster, this.#term, false));
      return;
    }
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
    this.#preTerm = 0;
    this.#preVotes.clear();
    if (this.#leader === undefined || !this.#leader.equals(m.leader)) {
      this.#leader = m.leader;
      const leader = m.leader;
      this.#due.push(() => this.handleBecomeFollower(leader));
    }
    this.#leaderSeenAt = now();
    this.#resetElectionTimer();
    // The answer the leader's check-quorum counts: a refused vote reply of its own term, which
    // a Go leader ignores (a new message type would be dropped, and logged, by Go at 20/s).
    this.#trySend(from, new MessageLeaderVoteReply(this.#cluster, this.#term, false));
  }

  /** "Would you vote for me in m.term?" Yes only where a vote would be, and with no live leader. */
  #onPreVote(from: PID, m: MessageLeaderPreVote): void {
    const leaderAlive = this.#leader !== undefined && now() - this.#leaderSeenAt < this.#min;
    const granted =
      this.#role !== 'leader' && !leaderAlive && !this.#quiet && m.term > this.#term && m.term > this.#floor;
    this.#trySend(from, new MessageLeaderPreVoteReply(this.#cluster, granted ? m.term : this.#term, granted));
  }

  #onPreVoteReply(from: PID, m: MessageLeaderPreVoteReply): void {
    if (!m.granted) {
      // Refused with a higher term: this member is behind, and catches up (a real term).
      if (m.term > this.#term) {
        this.#adoptTerm(m.term);
        this.#resetElectionTimer();
      }
      return;
    }
    if (this.#preTerm === 0 || m.term !== this.#preTerm || this.#role === 'leader') return;
    this.#preVotes.add(this.#keyOf(from));
    if (this.#preVotes.size >= this.quorum()) this.#stand();
  }

  /**
   * The leader's tick: heartbeat, unless a majority has not answered within an election timeout.
   * The window is counted in ticks (as many heartbeats as fit in `electionTimeoutMax`), not in
   * wall time, as etcd's Raft counts logical ticks: a leader whose own event loop stalled (a GC
   * pause, a busy host) finds its tick due before it has read the answers that came meanwhile,
   * and must not blame its followers for its own stall.
   */
  #onHeartbeatTimeout(): void {
    this.#tick++;
    if (this.#checkQuorum) {
      const since = this.#tick - Math.ceil(this.#max / this.#hb);
      let heard = 1;
      for (const m of this.#members.values())
        // A member never seen speaking pre-vote (a Go one) does not answer: counted while connected.
        if (m.contact >= since || (!m.preVoter && m.pid !== undefined)) heard++;
      if (heard < this.quorum()) {
        this.log.warning(
          'leader: heard from %d of %d members within %d heartbeats (%dms; quorum %d), stepping down',
          heard,
          this.memberCount(),
          this.#tick - since,
          this.#max,
          this.quorum(),
        );
        this.#stepDown();
        return;
      }
    }
    this.#sendHeartbeat();
    this.#resetHeartbeatTimer();
  }

  #onElectionTimeout(): void {
    this.#cancelElection = undefined;
    if (this.#quiet || this.#role === 'leader') return;
    if (this.#leader !== undefined) {
      this.#leader = undefined;
      this.#due.push(() => this.handleBecomeFollower(undefined));
    }
    const next = Math.max(this.#term, this.#floor) + 1;
    if (!isLeaderTerm(next)) {
      // 2^53 − 1 terms are used up: standing again would need a term no float64 holds exactly.
      if (!this.#termSpaceLogged) this.log.error('leader: term %d is the last one; not standing again', next - 1);
      this.#termSpaceLogged = true;
      this.#resetElectionTimer();
      return;
    }
    if (!this.#preVote) {
      this.#stand();
      return;
    }
    // Pre-vote: ask first, change nothing; a member cut off from the others keeps its term.
    this.#preTerm = next;
    this.#preVotes.clear();
    this.#preVotes.add(this.#selfKey);
    this.#preVoteRounds++;
    this.log.debug('pre-vote: term=%d members=%d quorum=%d', next, this.memberCount(), this.quorum());
    this.#sendAll(new MessageLeaderPreVote(this.#cluster, next, this.pid));
    this.#resetElectionTimer();
    if (this.#preVotes.size >= this.quorum()) this.#stand();
  }

  /** Candidacy: a new term above everything this member may have voted in. */
  #stand(): void {
    this.#preTerm = 0;
    this.#preVotes.clear();
    this.#term = Math.max(this.#term, this.#floor) + 1;
    this.#votedFor = this.#selfKey;
    this.#persist();
    this.#role = 'candidate';
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
    // The votes are the first answers check-quorum counts.
    for (const key of this.#votes) {
      const m = this.#members.get(key);
      if (m !== undefined) m.contact = this.#tick;
    }
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
    this.#preTerm = 0;
    this.#preVotes.clear();
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

function newMember(id: ProcessID | undefined, pid: PID | undefined): Member {
  return { id, pid, preVoter: false, contact: -Infinity };
}
