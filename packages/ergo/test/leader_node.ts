// One member of the leader-election cluster of leader.jepsen.test.ts, in its own OS process.
// Driven over IPC: `{ cmd: 'routes', routes: [{ node, port, host? }] }` (static routes, through
// the test's fault proxies on loopback, or to the other test hosts' addresses), `{ cmd: 'start', ... }` (spawns the Leader actor), `{ cmd: 'status' }`
// (answers `{ term, leader, role }`). Every observation — this member became leader, learnt of a
// leader, or lost its leader — is a JSON line on stdout: `{ obs, node, term, leader, t }` with
// `leader` the leader's node name ('' for none) and `t` the wall clock (ms); the checker reads
// those lines, nothing else. It listens on $LEADER_NODE_HOST:$LEADER_NODE_PORT (default
// 127.0.0.1, any port): a test host's address and a fixed port keep a restarted member reachable.

import {
  Leader,
  ProcessID,
  fileLeaderStore,
  startNode,
  type Atom,
  type HandlerResult,
  type LeaderOptions,
  type Node,
  type PID,
  type Ref,
} from '../src/index.js';
import { portOf, routeTo } from './route_helpers.js';

interface StartCmd {
  members: string[];
  min: number;
  max: number;
  hb: number;
  quorum: 'membership' | 'alive';
  storeDir?: string;
  /** Pre-vote and check-quorum (default on). */
  preVote?: boolean;
  checkQuorum?: boolean;
}

const name = process.env.LEADER_NODE_NAME!;

function observe(obs: string, term: number, leader: PID | undefined): void {
  const line = JSON.stringify({
    obs,
    node: name,
    term,
    leader: leader === undefined ? '' : leader.node,
    t: Date.now(),
  });
  process.stdout.write(line + '\n');
}

class Member extends Leader {
  init(o: StartCmd): LeaderOptions {
    return {
      clusterID: 'jepsen',
      bootstrap: o.members.map((n) => new ProcessID('member' as Atom, n as Atom)),
      electionTimeoutMin: o.min,
      electionTimeoutMax: o.max,
      heartbeatInterval: o.hb,
      quorum: o.quorum,
      store: o.storeDir === undefined ? undefined : fileLeaderStore(`${o.storeDir}/${name}.json`),
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
    };
  }
  override handleBecomeLeader(): HandlerResult {
    observe('leader', this.term(), this.pid);
  }
  override handleBecomeFollower(leader: PID | undefined): HandlerResult {
    observe('follower', this.term(), leader);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request === 'status') {
      const l = this.clusterLeader();
      return { term: this.term(), leader: l === undefined ? '' : l.node, isLeader: this.isLeader() };
    }
    return undefined;
  }
}

const node: Node = await startNode(name, {
  network: {
    cookie: 'leader-jepsen',
    // One TCP link per pair: every byte between two members goes through the test's proxy
    // (extra pool links would dial the acceptor's own address, around the proxy).
    acceptors: [
      {
        host: process.env.LEADER_NODE_HOST ?? '127.0.0.1',
        port: Number(process.env.LEADER_NODE_PORT ?? 0),
        poolSize: 1,
      },
    ],
    registrar: null,
  },
  log: { defaultLogger: { disable: true } },
});

process.on('message', (m: { id: number; cmd: string } & Record<string, unknown>) => {
  void (async (): Promise<unknown> => {
    switch (m.cmd) {
      case 'routes':
        for (const r of m.routes as { node: string; port: number; host?: string }[]) {
          const route = routeTo(r.port);
          node.network().addRoute(r.node, { ...route, route: { ...route.route!, host: r.host ?? '127.0.0.1' } }, 0);
        }
        return 'ok';
      case 'start':
        await node.spawnRegister('member', () => new Member(), {}, m.start as StartCmd);
        return 'ok';
      case 'status': {
        const s = (await node.call(new ProcessID('member' as Atom), 'status')) as Record<string, unknown>;
        const info = await node.inspect(node.processPID('member'));
        return { ...s, prevotes: Number(info.prevotes) };
      }
      default:
        throw new Error(`unknown command ${m.cmd}`);
    }
  })().then(
    (ok) => process.send!({ id: m.id, ok }),
    (e: unknown) => process.send!({ id: m.id, err: String(e) }),
  );
});
process.on('disconnect', () => process.exit(0));

process.send!({ kind: 'ready', port: portOf(node) });
