// The wire messages of leader election, registered in the default EDF registry under the names
// Go Ergo's `ergo.services/actor/leader` package registers them with, and in its field order, so
// a TypeScript and a Go leader actor of one cluster understand each other. Also the two timer
// messages an actor sends itself (registered too, so "simulate remote" nodes can carry them).

import { PID } from '../../gen/pid.js';
import { registerType } from '../../net/edf/default.js';
import type { RegisteredType } from '../../net/edf/registry.js';
import { Go } from '../../net/edf/wrappers.js';

/** Go's package path of the leader actor: the prefix of every EDF name below. */
export const LEADER_EDF_PACKAGE = 'ergo.services/actor/leader';

/** A node's term as a plain number (EDF decodes uint64 values past 2^53 as bigint). */
function termOf(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

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
} = {
  vote: registerType({
    name: `#${LEADER_EDF_PACKAGE}/msgVote`,
    class: MessageLeaderVote,
    fields: { clusterID: Go.string, term: Go.uint64, candidate: Go.pid },
    create: (f: Record<string, unknown>) =>
      new MessageLeaderVote(f.clusterID as string, termOf(f.term as number | bigint), f.candidate as PID),
  }),
  voteReply: registerType({
    name: `#${LEADER_EDF_PACKAGE}/msgVoteReply`,
    class: MessageLeaderVoteReply,
    fields: { clusterID: Go.string, term: Go.uint64, granted: Go.bool },
    create: (f: Record<string, unknown>) =>
      new MessageLeaderVoteReply(f.clusterID as string, termOf(f.term as number | bigint), f.granted as boolean),
  }),
  heartbeat: registerType({
    name: `#${LEADER_EDF_PACKAGE}/msgHeartbeat`,
    class: MessageLeaderHeartbeat,
    fields: { clusterID: Go.string, term: Go.uint64, leader: Go.pid },
    create: (f: Record<string, unknown>) =>
      new MessageLeaderHeartbeat(f.clusterID as string, termOf(f.term as number | bigint), f.leader as PID),
  }),
};

// Local timers: never sent to another node; registered for nodes that simulate remote delivery.
registerType({
  name: `#${LEADER_EDF_PACKAGE}/msgElectionTimeout`,
  class: MessageLeaderElectionTimeout,
  fields: { gen: Go.int },
});
registerType({
  name: `#${LEADER_EDF_PACKAGE}/msgHeartbeatTimeout`,
  class: MessageLeaderHeartbeatTimeout,
  fields: { gen: Go.int },
});
registerType({
  name: `#${LEADER_EDF_PACKAGE}/msgQuietEnd`,
  class: MessageLeaderQuietEnd,
  fields: { gen: Go.int },
});
