// A node in its own OS process for test/typed.pool.test.ts: three pools in front of typed
// counter workers, registered as 'pool' (a Pool naming its worker class), 'arrowpool' (a Pool
// whose worker factory is a function: the pool cannot see the workers' protocol, each worker's
// check applies as mail is forwarded to it) and 'cpool' (a ClusterPool; outside a cluster it
// places its workers here). A worker counts what reaches its handlers off the protocol (none
// should), and 'lengths' (an actor whose zod schemas transform) alone and behind 'lenpool'. Reports `{ kind: 'ready', name, port }` over IPC; { cmd: 'stats' } answers
// `{ kind: 'stats', off, lines, text }`; { cmd: 'stop' } stops and exits.

import { Actor, Pool, poolOptions, type PID, type Ref } from '../src/index.js';
import { ClusterPool } from '../src/cluster/index.js';
import { Lengths, TypedCounter, type Inc } from './typed_protocol.js';
import { startFixtureNode } from './typed_fixture_node.js';

/** What reached a worker's handler although the protocol refuses it. */
let off = 0;

class Worker extends Actor.of(TypedCounter) {
  count = 0;
  override handleMessage(_from: PID, msg: Inc | 'reset'): void {
    if (TypedCounter.checkMessage(msg) !== undefined) {
      off++;
      return;
    }
    if (msg === 'reset') this.count = 0;
    else this.count += msg.by as number;
  }
  override handleCall(_from: PID, _ref: Ref, req: 'get' | Inc): number {
    if (TypedCounter.checkRequest(req) !== undefined) {
      off++;
      return -1;
    }
    if (req === 'get') return this.count;
    return (this.count += req.by as number);
  }
}

/** Answers the length its schema made of `s`; -1 when `s` arrived untransformed (a string). */
class LengthActor extends Actor.of(Lengths) {
  last = -1;
  override handleMessage(_from: PID, msg: { s: number }): void {
    this.last = typeof msg.s === 'number' ? msg.s : -1;
  }
  override handleCall(_from: PID, _ref: Ref, req: { s: number } | 'last'): number {
    if (req === 'last') return this.last;
    return typeof req.s === 'number' ? req.s : -1;
  }
}
class LengthPool extends Pool {
  override init() {
    return poolOptions({ poolSize: 1, workerFactory: LengthActor });
  }
}

class WorkerPool extends Pool {
  override init() {
    return poolOptions({ poolSize: 2, workerFactory: Worker });
  }
}
class ArrowPool extends Pool {
  override init() {
    return { poolSize: 2, workerFactory: () => new Worker() };
  }
}
class WorkerClusterPool extends ClusterPool {
  override init() {
    return poolOptions({ poolSize: 2, workerFactory: Worker });
  }
}

const { node, lines } = await startFixtureNode('typedpool');
await node.spawnRegister('pool', WorkerPool, {});
await node.spawnRegister('arrowpool', ArrowPool, {});
await node.spawnRegister('cpool', WorkerClusterPool, {});
await node.spawnRegister('lengths', LengthActor, {});
await node.spawnRegister('lenpool', LengthPool, {});
const i = node.network().acceptors()[0]!.info().interface;
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') {
    process.send!({ kind: 'stats', off, lines: lines.length, text: lines });
  } else if (m.cmd === 'stop') {
    void node.stop().then(() => process.exit(0));
  }
});
process.send!({ kind: 'ready', name: node.name, port: Number(i.slice(i.lastIndexOf(':') + 1)) });
