// The slow peer of net.backpressure.test.ts: an ergo-ts node in a worker thread whose event loop
// the test can block and release without any timing. `{ kind: 'block' }` from the test makes the
// thread store 1 in `sab[1]` and then wait on `sab[0]` (Atomics.wait: the whole event loop
// stops, sockets are not read) until the test stores 1 there and notifies. Reached over TCP
// (listening on 127.0.0.1) or over the in-host transport (a control port from the test).
// Processes: `sink` counts what it is sent and answers the call 'count' with the number.
// `{ kind: 'subscribe', node, event }` starts `evsub`, which monitors that event and counts its
// messages (the test's numbers, checked to arrive in order); `{ kind: 'events' }` asks for
// `{ kind: 'events', count, ordered }`.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Actor, Event, startNode, type Atom, type MessageEvent, type PID, type Ref } from '../src/index.js';
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

/** Counts the events of one subscription; `ordered` stays true while each is the next number. */
class EventSub extends Actor {
  count = 0;
  ordered = true;
  override async handleMessage(_from: PID, m: unknown): Promise<void> {
    const { node: owner, event } = m as { node: string; event: string };
    await this.monitorEvent(new Event(event as Atom, owner as Atom));
    parentPort!.postMessage({ kind: 'subscribed' });
  }
  override handleEvent(m: MessageEvent): void {
    const n = (m.message as { n: number }).n;
    if (n !== this.count) this.ordered = false;
    this.count++;
  }
}
let evsub: EventSub | null = null;

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
  } else if (m.kind === 'subscribe') {
    void node.spawn(() => (evsub = new EventSub())).then((pid) => node.send(pid, m));
  } else if (m.kind === 'events') {
    parentPort!.postMessage({ kind: 'events', count: evsub?.count ?? 0, ordered: evsub?.ordered ?? false });
  } else if (m.kind === 'stop') {
    void node.stop().then(() => parentPort!.postMessage({ kind: 'stopped' }));
  }
});
parentPort!.postMessage({ kind: 'ready', port: d.inhost === undefined ? portOf(node) : 0 });
