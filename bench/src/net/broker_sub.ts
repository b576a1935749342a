// One subscriber node of the broker suite (suites/broker.ts), forked by it, one OS process each:
//   node broker_sub.js ergo <publisher-node> <port>   — an ergo-ts node; one actor monitors the
//                                                      publisher's event `broker`
//   node broker_sub.js ergo-relay <publisher-node> <port> — the same, and its node re-publishes
//                                                      every event it gets on its own event
//                                                      `broker` ($BROKER_RELAY, issue 47's relay
//                                                      tree measured on the public API); its
//                                                      `ready` carries its node name and port
//   node broker_sub.js nats <port>                    — SUB broker on nats-server
//   node broker_sub.js redis <port>                   — SUBSCRIBE broker on redis-server
// Reports `{ kind: 'ready' }` over IPC once subscribed. `{ cmd: 'round', n, chunk }` starts a
// round (answered `armed`): every `chunk` messages it sends `{ kind: 'ack', n }` (the bench's flow
// control), and after `n` messages `{ kind: 'done', hist }` with the round's latency histogram
// (publish time in the payload → arrival in the handler); `armed` and `done` carry this process'
// CPU time (ms) so far. Exits when IPC closes.
//
// Equal work per message: the ergo-ts subscriber's handler gets the payload as a string (the
// node decodes it), so the NATS and Redis subscribers turn the payload's bytes into a string too
// and read the stamp from it with the same function, as an application using those brokers
// would have to before using the message (nats.js `msg.string()`, node-redis' string messages).
// Until this change they read the stamp straight from the socket's bytes and never made the
// message, which left them ~80 ns per delivery of work the ergo-ts side does.
// $BROKER_PAYLOAD=bytes: every peer takes the payload as bytes instead: NATS and Redis read the
// stamp from the socket's bytes, the ergo-ts publisher publishes a Uint8Array (the subscriber's
// handler gets a Uint8Array) and the ergo-ts handler reads the stamp from it.

import { Actor, Event, startNode, type MessageEvent, type Node, type PID, type Ref } from 'ergo-ts';
import { acceptorPort } from '../lib/routes.js';
import { Latencies, NatsConn, RedisConn, TOPIC, nowMicros, stampOfBytes, stampOfString } from './broker_proto.js';

let expected = Infinity;
let chunk = 1000;
let got = 0;
let lat = new Latencies();

function arrived(stamp: number): void {
  lat.add(nowMicros() - stamp);
  if (++got % chunk === 0) process.send!({ kind: 'ack', n: got });
  if (got === expected) process.send!({ kind: 'done', hist: lat.sparse(), cpu: cpuMs() });
}

class Sub extends Actor {
  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    await this.monitorEvent(message as Event);
    process.send!({ kind: 'ready', ...readyExtra });
  }
  override handleEvent(m: MessageEvent): void {
    arrived(BYTES ? stampOfBytes(m.message as Uint8Array, 0) : stampOfString(m.message as string));
  }
}

/** $BROKER_PAYLOAD=bytes (see the header). */
const BYTES = process.env.BROKER_PAYLOAD === 'bytes';

/** A relay: takes the event from its parent and publishes each message again on its own node. */
class RelaySub extends Sub {
  token: Ref | undefined;
  override init(): void {
    this.token = this.registerEvent(TOPIC, {});
  }
  override handleEvent(m: MessageEvent): void {
    this.sendEvent(TOPIC, this.token!, m.message as string);
    arrived(stampOfString(m.message as string));
  }
}

/** What `ready` adds: a relay's node name and acceptor port, for the nodes below it. */
let readyExtra: { node?: string; port?: number } = {};

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A NATS or Redis message: its payload as a string, as the ergo-ts handler gets it (see the header). */
const onMsg: (buf: Buffer, at: number, n: number) => void = BYTES
  ? (buf, at) => arrived(stampOfBytes(buf, at))
  : (buf, at, n) => arrived(stampOfString(buf.toString('utf8', at, at + n)));

let stop: () => Promise<void> = () => Promise.resolve();

async function main(): Promise<void> {
  const [kind, a, b] = process.argv.slice(2);
  if (kind === 'ergo' || kind === 'ergo-relay') {
    const node: Node = await startNode(`brokersub${process.pid}@localhost`, {
      network: { cookie: 'bench', acceptors: [{ port: 0 }], registrar: null },
      log: { defaultLogger: { disable: true } },
    });
    const v = { name: '', release: '' };
    node
      .network()
      .addRoute(
        a!.replace(/[.$]/g, '\\$&'),
        { route: { host: '127.0.0.1', port: Number(b), tls: false, handshakeVersion: v, protoVersion: v } },
        0,
      );
    await node.network().getNode(a!);
    if (kind === 'ergo-relay') readyExtra = { node: node.name, port: acceptorPort(node) };
    const sub = await node.spawn(() => (kind === 'ergo' ? new Sub() : new RelaySub()));
    node.send(sub, new Event(TOPIC, a!));
    stop = () => node.stopForce();
  } else if (kind === 'nats') {
    const c = await NatsConn.connect(Number(a));
    c.onMsg = onMsg;
    await c.subscribe(TOPIC);
    process.send!({ kind: 'ready' });
    stop = async () => void c.socket.destroy();
  } else if (kind === 'redis') {
    const c = await RedisConn.connect(Number(a));
    c.onMsg = onMsg;
    await c.subscribe(TOPIC);
    process.send!({ kind: 'ready' });
    stop = async () => void c.socket.destroy();
  } else throw new Error(`broker_sub: unknown kind ${kind}`);
}

process.on('message', (m: { cmd: string; n: number; chunk: number }) => {
  if (m.cmd === 'round') {
    got = 0;
    expected = m.n;
    chunk = m.chunk;
    lat = new Latencies();
    process.send!({ kind: 'armed', cpu: cpuMs() });
  }
});
process.on('disconnect', () => void stop().then(() => process.exit(0)));
main().catch((e: unknown) => {
  process.stderr.write(`broker_sub: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
