// The wire messages of leader election, registered in the default EDF registry under the names
// Go Ergo's `ergo.services/actor/leader` package registers them with, and in its field order, so
// a TypeScript and a Go leader actor of one cluster understand each other; the two pre-vote
// messages are ergo-ts's own (Go has none: see docs/leader.md, "Mixed clusters"). Also the timer
// messages an actor sends itself (registered too, so "simulate remote" nodes can carry them).
// Every term field refuses, at encode, a value a float64 cannot hold exactly.

import { PID } from '../../gen/pid.js';
import { UINT64 } from '../../net/edf/builtin.js';
import { defaultRegistry } from '../../net/edf/default.js';
import { EdfError } from '../../net/edf/errors.js';
import type { EdfRegistry, RegisteredType } from '../../net/edf/registry.js';
import { EdfType } from '../../net/edf/type.js';
import { Go } from '../../net/edf/wrappers.js';

/** Go's package path of the leader actor: the prefix of every EDF name below. */
export const LEADER_EDF_PACKAGE = 'ergo.services/actor/leader';

/** The package path of ergo-ts's own leader messages (pre-vote), which Go Ergo does not have. */
export const LEADER_TS_EDF_PACKAGE = 'ergo-ts/act/leader';

/**
 * True if `v` is a term a leader actor can hold: a safe non-negative integer (0 … 2^53 − 1). A
 * larger term cannot be told from its successor in a float64 (2^60 + 1 === 2^60), so a member
 * that took one could never stand again; such terms are refused on receipt and at encode.
 */
export function isLeaderTerm(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A received term as a plain number; uint64 values past 2^53 decode as bigint and come out inexact (refused later). */
function termOf(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Go `uint64` on the wire; encoding refuses anything {@link isLeaderTerm} refuses (ERR_EDF_RANGE). */
const TERM: EdfType<number | bigint> = new EdfType({
  kind: UINT64.kind,
  name: UINT64.name,
  tag: UINT64.tag,
  tagForm: UINT64.tagForm,
  desc: UINT64.desc,
  hasReg: UINT64.hasReg,
  minSize: UINT64.minSize,
  nillable: UINT64.nillable,
  comparable: UINT64.comparable,
  enc: (e, v) => {
    if (!isLeaderTerm(v))
      throw new EdfError(
        'ERR_EDF_RANGE',
        `leader term ${typeof v === 'bigint' ? `${v}n` : String(v)} is not a safe non-negative integer (0 … 2^53 − 1)`,
      );
    UINT64.enc(e, v);
  },
  dec: UINT64.dec,
});

/**
 * A vote request (Go `msgVote{ClusterID string; Term uint64; Candidate gen.PID}`). Also what
 * `join` sends to introduce a node. Immutable once sent.
 */
export class MessageLeaderVote {
  constructor(
    /** The cluster (messages of another cluster are ignored). */
    public clusterID = '',
    /** The candidate's term. */
    public term = 0,
    /** Who asks for the vote. */
    public candidate: PID = new PID('' as never, 0, 0),
  ) {}
}

/** The answer to a vote request (Go `msgVoteReply{ClusterID string; Term uint64; Granted bool}`). */
export class MessageLeaderVoteReply {
  constructor(
    /** The cluster. */
    public clusterID = '',
    /** The voter's term (higher than the candidate's: the candidate adopts it and steps down). */
    public term = 0,
    /** True if the vote was given. */
    public granted = false,
  ) {}
}

/** A leader's periodic claim (Go `msgHeartbeat{ClusterID string; Term uint64; Leader gen.PID}`). */
export class MessageLeaderHeartbeat {
  constructor(
    /** The cluster. */
    public clusterID = '',
    /** The leader's term. */
    public term = 0,
    /** The leader. */
    public leader: PID = new PID('' as never, 0, 0),
  ) {}
}

/**
 * ergo-ts's pre-vote request (Raft thesis §9.6): "would you vote for me in `term`?" (the
 * candidate's term + 1), asked before a member stands. Nobody changes term on it; a member that
 * heard from a live leader within the minimum election timeout says no. Go Ergo has no such
 * message (a Go node drops it as an unknown type).
 */
export class MessageLeaderPreVote {
  constructor(
    /** The cluster. */
    public clusterID = '',
    /** The term the candidate would stand in (its own term + 1). */
    public term = 0,
    /** Who asks. */
    public candidate: PID = new PID('' as never, 0, 0),
  ) {}
}

/** The answer to a pre-vote: granted with the asked term, or refused with the voter's own term. */
export class MessageLeaderPreVoteReply {
  constructor(
    /** The cluster. */
    public clusterID = '',
    /** Granted: the term asked about. Refused: the voter's term (higher: the asker adopts it). */
    public term = 0,
    /** True if the voter would vote for the asker in that term. */
    public granted = false,
  ) {}
}

/** Timer message: the election timeout of generation `gen` fired (older generations are stale). */
export class MessageLeaderElectionTimeout {
  constructor(public gen = 0) {}
}

/** Timer message: time for the leader's next heartbeat (generation `gen`). */
export class MessageLeaderHeartbeatTimeout {
  constructor(public gen = 0) {}
}

/** Timer message: the startup quiet period of a node without a store is over. */
export class MessageLeaderQuietEnd {
  constructor(public gen = 0) {}
}

/** The registered wire types (for golden tests and for registries other than the default). */
export const leaderWireTypes: {
  vote: RegisteredType<MessageLeaderVote>;
  voteReply: RegisteredType<MessageLeaderVoteReply>;
  heartbeat: RegisteredType<MessageLeaderHeartbeat>;
  preVote: RegisteredType<MessageLeaderPreVote>;
  preVoteReply: RegisteredType<MessageLeaderPreVoteReply>;
} = {
  get vote() {
    return wireTypes().vote;
  },
  get voteReply() {
    return wireTypes().voteReply;
  },
  get heartbeat() {
    return wireTypes().heartbeat;
  },
  get preVote() {
    return wireTypes().preVote;
  },
  get preVoteReply() {
    return wireTypes().preVoteReply;
  },
};

type WireTypes = typeof leaderWireTypes;

/**
 * Registers the Leader's messages in `r`: the wire types (returned), then the local timers (never
 * sent to another node; registered for nodes that simulate remote delivery).
 */
function registerLeaderTypes(r: EdfRegistry): WireTypes {
  const types: WireTypes = {
    vote: r.register({
      name: `#${LEADER_EDF_PACKAGE}/msgVote`,
      class: MessageLeaderVote,
      fields: { clusterID: Go.string, term: TERM, candidate: Go.pid },
      create: (f: Record<string, unknown>) =>
        new MessageLeaderVote(f.clusterID as string, termOf(f.term as number | bigint), f.candidate as PID),
    }),
    voteReply: r.register({
      name: `#${LEADER_EDF_PACKAGE}/msgVoteReply`,
      class: MessageLeaderVoteReply,
      fields: { clusterID: Go.string, term: TERM, granted: Go.bool },
      create: (f: Record<string, unknown>) =>
        new MessageLeaderVoteReply(f.clusterID as string, termOf(f.term as number | bigint), f.granted as boolean),
    }),
    heartbeat: r.register({
      name: `#${LEADER_EDF_PACKAGE}/msgHeartbeat`,
      class: MessageLeaderHeartbeat,
      fields: { clusterID: Go.string, term: TERM, leader: Go.pid },
      create: (f: Record<string, unknown>) =>
        new MessageLeaderHeartbeat(f.clusterID as string, termOf(f.term as number | bigint), f.leader as PID),
    }),
    preVote: r.register({
      name: `#${LEADER_TS_EDF_PACKAGE}/msgPreVote`,
      class: MessageLeaderPreVote,
      fields: { clusterID: Go.string, term: TERM, candidate: Go.pid },
      create: (f: Record<string, unknown>) =>
        new MessageLeaderPreVote(f.clusterID as string, termOf(f.term as number | bigint), f.candidate as PID),
    }),
    preVoteReply: r.register({
      name: `#${LEADER_TS_EDF_PACKAGE}/msgPreVoteReply`,
      class: MessageLeaderPreVoteReply,
      fields: { clusterID: Go.string, term: TERM, granted: Go.bool },
      create: (f: Record<string, unknown>) =>
        new MessageLeaderPreVoteReply(f.clusterID as string, termOf(f.term as number | bigint), f.granted as boolean),
    }),
  };
  r.register({
    name: `#${LEADER_EDF_PACKAGE}/msgElectionTimeout`,
    class: MessageLeaderElectionTimeout,
    fields: { gen: Go.int },
  });
  r.register({
    name: `#${LEADER_EDF_PACKAGE}/msgHeartbeatTimeout`,
    class: MessageLeaderHeartbeatTimeout,
    fields: { gen: Go.int },
  });
  r.register({
    name: `#${LEADER_EDF_PACKAGE}/msgQuietEnd`,
    class: MessageLeaderQuietEnd,
    fields: { gen: Go.int },
  });
  return types;
}

// Queued: registered when the default registry is first asked for a type it lacks (a Leader's
// message encoded or read from the wire; a node that runs no Leader skips them), or when
// leaderWireTypes is read.
let wire: WireTypes | undefined;
const LEADER_CLASSES: ReadonlySet<unknown> = new Set([
  MessageLeaderVote,
  MessageLeaderVoteReply,
  MessageLeaderHeartbeat,
  MessageLeaderPreVote,
  MessageLeaderPreVoteReply,
  MessageLeaderElectionTimeout,
  MessageLeaderHeartbeatTimeout,
  MessageLeaderQuietEnd,
]);
defaultRegistry.deferUntilMissed(
  (r) => {
    wire = registerLeaderTypes(r);
  },
  (ctor) => LEADER_CLASSES.has(ctor),
);

function wireTypes(): WireTypes {
  if (wire === undefined) defaultRegistry.type(''); // runs the queued registrations
  return wire!;
}
