// The second OS process of net.control_batch.test.ts: an ergo-ts node whose handshake announces
// the control batch unless CB_OFF=1 (then it announces Go's default flags with `controlBatch:
// false`, as a node configured so). Driven over IPC: `{ cmd, id, ...fields }` in, `{ id, ok } |
// { id, err }` out.
//   targets  — spawns `k` idle processes, returns their ids and the node's creation
//   end      — ends every target with reason `done` (their monitors fire)
//   monitors — how many monitors of its processes the node holds for `watcher` (a remote PID)
//   batching — whether the connection to `node` uses the control batch (both announced it)
// Remote spawn: factory `cb_worker` (its init args answer a call 'args'), `cb_async` (init
// resolves a Promise), `cb_fail` (init throws 'init refused').

import { Actor, PID, startNode, type Atom, type NetworkFlags, type Node, type Ref } from '../src/index.js';
import { engineOf } from '../src/node/internals.js';
import { portOf } from './route_helpers.js';
import { NetworkFlags as WireNetworkFlags } from '../src/net/edf/framework.js';

class Idle extends Actor {}

class Worker extends Actor {
  args: unknown[] = [];
  override init(...args: unknown[]): void {
    this.args = args;
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request === 'args' ? this.args : request;
  }
}

/** Init awaits: the spawn is answered once it settles (the serving side's Promise path). */
class AsyncWorker extends Actor {
  ready = false;
  override async init(): Promise<void> {
    await Promise.resolve();
    this.ready = true;
  }
  override handleCall(): unknown {
    return this.ready;
  }
}

class Failing extends Actor {
  override init(): void {
    throw new Error('init refused');
  }
}

const off = process.env.CB_OFF === '1';
/** Go's default flags with the control batch off. */
const OFF: NetworkFlags = { ...WireNetworkFlags.defaults(), controlBatch: false };
const node: Node = await startNode(process.env.CB_NAME ?? `cbnode${process.pid}@localhost`, {
  network: {
    cookie: 'cb-secret',
    acceptors: [{ port: 0 }],
    registrar: null,
    ...(off ? { flags: OFF } : {}),
  },
  log: { defaultLogger: { disable: true } },
});
node.network().enableSpawn('cb_worker', () => new Worker());
node.network().enableSpawn('cb_async', () => new AsyncWorker());
node.network().enableSpawn('cb_fail', () => new Failing());
let targets: PID[] = [];

type Fields = Record<string, unknown>;

async function run(m: Fields & { cmd: string }): Promise<unknown> {
  switch (m.cmd) {
    case 'targets': {
      targets = [];
      for (let i = 0; i < (m.k as number); i++) targets.push(await node.spawn(() => new Idle()));
      return { ids: targets.map((p) => p.id), creation: node.creation };
    }
    case 'end':
      for (const p of targets) node.sendExit(p, new Error('done'));
      return 'ok';
    case 'monitors': {
      const w = m.watcher as { node: Atom; id: number; creation: number };
      return engineOf(node).targets.remoteConsumer(new PID(w.node, w.id, w.creation), false)?.cCount ?? 0;
    }
    case 'batching': {
      const c = engineOf(node).router.connection(m.node as Atom) as unknown as { batching?: boolean };
      return c.batching === true;
    }
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
}

process.on('message', (m: Fields & { cmd: string; id: number }) => {
  run(m).then(
    (ok) => process.send!({ id: m.id, ok }),
    (e: unknown) => process.send!({ id: m.id, err: e instanceof Error ? e.message : String(e) }),
  );
});
process.on('disconnect', () => void node.stopForce().then(() => process.exit(0)));
process.send!({ kind: 'ready', name: node.name, port: portOf(node), creation: node.creation });
