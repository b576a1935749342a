// The slow peer of net.backpressure.test.ts: an ergo-ts node in a worker thread whose event loop
// the test can block and release without any timing. `{ kind: 'block' }` from the test makes the
// thread store 1 in `sab[1]` and then wait on `sab[0]` (Atomics.wait: the whole event loop
// stops, sockets are not read) until the test stores 1 there and notifies. Reached over TCP
// (listening on 127.0.0.1) or over the in-host transport (a control port from the test).
// Processes: `sink` counts what it is sent and answers the call 'count' with the number.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Actor, startNode, type PID, type Ref } from '../src/index.js';
import { InHostTransport } from '../src/net/inhost/transport.js';
import { type NetworkImpl } from '../src/net/network/network.js';
import { portOf } from './route_helpers.js';

/** What the test hands the worker. */
export interface SlowPeerData {
  name: string;
  cookie: string;
  sab: SharedArrayBuffer;
  /** In-host: the control port to the test's node and that node's name. */
  inhost?: { port: MessagePort; peer: string; ringSize: number };
}

const d = workerData as SlowPeerData;
const flags = new Int32Array(d.sab);

class Sink extends Actor {
  count = 0;
  override handleMessage(): void {
    this.count++;
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    return req === 'count' ? this.count : req;
  }
}

const node = await startNode(d.name, {
  network: {
    cookie: d.cookie,
    registrar: null,
    acceptors: d.inhost === undefined ? [{ host: '127.0.0.1', port: 0 }] : [],
    // The test measures the sender: this side never declares the test's node down.
    peerStallTimeout: 0,
  },
  log: { defaultLogger: { disable: true } },
});
if (d.inhost !== undefined) {
  const t = new InHostTransport({ ringSize: d.inhost.ringSize });
  t.setPeer(d.inhost.peer, d.inhost.port);
  (node.network() as NetworkImpl).attachInHost(t);
}
await node.spawnRegister('sink', () => new Sink());

parentPort!.on('message', (m: { kind: string }) => {
  if (m.kind === 'block') {
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    Atomics.wait(flags, 0, 0); // the event loop stops here until the test releases it
  } else if (m.kind === 'stop') {
    void node.stop().then(() => parentPort!.postMessage({ kind: 'stopped' }));
  }
});
parentPort!.postMessage({ kind: 'ready', port: d.inhost === undefined ? portOf(node) : 0 });
