// A process inside one network-namespace test host, for the "across hosts" suites
// (suites/hosts.ts, suites/hosts_pool.ts). argv[2] picks the role; it reports `{ kind: 'ready', ... }` over IPC and exits
// when IPC closes. Every time it reports is `process.hrtime.bigint()` (ns) — the monotonic clock,
// the same in every process of the machine, so the suite can subtract a moment it took itself.
//   server  — an ergo-ts node `b@ADDR` listening on ADDR: `recv` counts windowed sends (ack every
//             CHUNK, "done" after the total a negative number announced), `echo` answers calls;
//             it takes the client's commands too, aimed at `peer` (a node already connected to
//             it: the accepting side of a connection calling the dialling side)
//   raw     — a TCP server on ADDR writing every 13-byte frame back (the path's own round trip)
//   client  — an ergo-ts node `a@ADDR` with a static route to the server, and its own `recv`
//             and `echo`; commands over IPC (`peer`: the target node, default the server):
//     { cmd: 'calls', total }          sequential calls to echo → { ms, lat: µs per call, caller: its PID id }
//     { cmd: 'conc', total, callers }  `callers` actors each making total/callers sequential calls to
//                                      echo at once → { ms, calls, lat }
//     { cmd: 'info' }                  the connection to the peer → { poolSize, echo: our echo's PID id }
//     { cmd: 'send', total }           windowed sends to recv → { ms }
//     { cmd: 'raw', port, total }      ping-pong with the raw server → { ms, lat }
//     { cmd: 'watch', every }          monitors the server's node and, with `every` > 0, calls
//                                      echo every `every` ms (a side that keeps talking) →
//                                      answered { down: ns } when the node-down message arrives
// $XH_POOL sets the acceptor's poolSize (links per connection the dialler opens; issue 47).

import net from 'node:net';
import { CHUNK, Echo, Receiver } from './actors.js';
import { Actor, MessageDownNode, ProcessID, startNode, type Atom, type Node, type PID, type Ref } from 'ergo-ts';
import { acceptorPort } from '../lib/routes.js';

const WINDOW = 2;
const address = process.env.XH_ADDRESS ?? '127.0.0.1';
// $XH_POOL: the links per connection the acceptor announces (a dialler opens that many). Set as
// `poolSize` and as `ergoPoolSize`, the count offered to ergo-ts diallers once both announce the
// ergoPool flag (issue 47, in progress), so the count holds with or without that flag.
const pool = process.env.XH_POOL !== undefined ? Number(process.env.XH_POOL) : undefined;
const acceptor = { host: address, port: 0, ...(pool !== undefined ? { poolSize: pool, ergoPoolSize: pool } : {}) };
const V = { name: '', release: '' };

/** Windowed sender: the total and WINDOW chunks on "go", one more per "ack", resolves on "done". */
class Sender extends Actor {
  to!: ProcessID;
  total = 0;
  sent = 0;
  done!: () => void;
  chunk(): void {
    const n = Math.min(CHUNK, this.total - this.sent);
    for (let i = 0; i < n; i++) this.send(this.to, ++this.sent);
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message === 'go') {
      // The round's total comes from this process, ahead of its messages: a send from another
      // process (the node's core) may go on another pool link and arrive after them (under loss
      // the receiver then never counts to the total and the round hangs).
      this.send(this.to, -this.total);
      for (let w = 0; w < WINDOW; w++) this.chunk();
    } else if (message === 'ack') this.chunk();
    else if (message === 'done') this.done();
  }
}

/** Sequential caller: one call after the other, the time of each in µs. */
class Caller extends Actor {
  override async handleCall(_from: PID, _ref: Ref, request: unknown): Promise<unknown> {
    const { to, total } = request as { to: ProcessID; total: number };
    const lat = new Array<number>(total);
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const s = performance.now();
      if ((await this.call(to, i, { timeout: 60_000 })) !== i) throw new Error('wrong reply');
      lat[i] = (performance.now() - s) * 1000;
    }
    return { ms: performance.now() - t0, lat, caller: Number(this.pid.id) };
  }
}

/** A process that watches the server's node and reports when it goes down. */
class Watcher extends Actor {
  onDown!: () => void;
  onWatching!: () => void;
  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof MessageDownNode) return this.onDown();
    if (typeof message === 'string') {
      this.monitorNode(message);
      this.onWatching();
    }
  }
}

function frameServer(): Promise<number> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => socket.write(b));
  });
  return new Promise((res) => server.listen(0, address, () => res((server.address() as net.AddressInfo).port)));
}

async function rawPingPong(port: number, total: number): Promise<{ ms: number; lat: number[] }> {
  const s = await new Promise<net.Socket>((res, rej) => {
    const c = net.connect(port, process.env.XH_PEER!, () => res(c));
    c.setNoDelay(true);
    c.once('error', rej);
  });
  const frame = Buffer.alloc(13);
  frame.writeUInt32BE(9, 0);
  const lat: number[] = [];
  let have = 0;
  let sentAt = 0;
  const t0 = performance.now();
  await new Promise<void>((res) => {
    s.on('data', (b: Buffer) => {
      have += b.length;
      while (have >= 13) {
        have -= 13;
        lat.push((performance.now() - sentAt) * 1000);
        if (lat.length === total) return res();
        sentAt = performance.now();
        s.write(frame);
      }
    });
    sentAt = performance.now();
    s.write(frame);
  });
  const ms = performance.now() - t0;
  s.destroy();
  return { ms, lat };
}

/** `recv` and `echo` on both nodes: either side can be measured as the one that answers. */
async function targets(node: Node): Promise<Node> {
  await node.spawnRegister('recv', () => new Receiver());
  await node.spawnRegister('echo', () => new Echo());
  return node;
}

async function serverNode(): Promise<Node> {
  const node = await startNode(`b@${address}`, {
    network: { cookie: 'xhost', acceptors: [acceptor], registrar: null },
    log: { defaultLogger: { disable: true } },
  });
  return targets(node);
}

async function clientNode(peer: string, port: number): Promise<Node> {
  const node = await startNode(`a@${address}`, {
    network: {
      cookie: 'xhost',
      registrar: null,
      acceptors: [acceptor],
      routes: [
        {
          match: peer.replace(/\./g, '\\.'),
          route: { route: { host: process.env.XH_PEER!, port, tls: false, handshakeVersion: V, protoVersion: V } },
        },
      ],
    },
    log: { defaultLogger: { disable: true } },
  });
  return targets(node);
}

type Cmd = {
  id: number;
  cmd: string;
  total?: number;
  port?: number;
  every?: number;
  callers?: number;
  peer?: string;
};
type Calls = { ms: number; lat: number[]; caller: number };

async function client(node: Node, peer: string, cmd: Cmd): Promise<unknown> {
  const echo = new ProcessID('echo' as Atom, peer as Atom);
  switch (cmd.cmd) {
    case 'calls': {
      const pid = await node.spawn(() => new Caller());
      const r = await node.call(pid, { to: echo, total: cmd.total }, { timeout: 600_000 });
      node.kill(pid);
      return r;
    }
    case 'conc': {
      // Several calls in flight: distinct callers, so distinct pool keys (links, when there are several).
      const n = cmd.callers!;
      const per = Math.ceil(cmd.total! / n);
      const pids: PID[] = [];
      for (let i = 0; i < n; i++) pids.push(await node.spawn(() => new Caller()));
      const t0 = performance.now();
      const rs = (await Promise.all(
        pids.map((pid) => node.call(pid, { to: echo, total: per }, { timeout: 600_000 })),
      )) as Calls[];
      const ms = performance.now() - t0;
      for (const pid of pids) node.kill(pid);
      return { ms, calls: per * n, lat: rs.flatMap((r) => r.lat) };
    }
    case 'info': {
      const info = node.network().node(peer).info();
      return { poolSize: info.poolSize, echo: Number(node.processPID('echo').id) };
    }
    case 'send': {
      const recv = new ProcessID('recv' as Atom, peer as Atom);
      let s!: Sender;
      const pid = await node.spawn(() => (s = new Sender()));
      const done = new Promise<void>((res) => Object.assign(s, { to: recv, total: cmd.total, done: res }));
      const t0 = performance.now();
      node.send(pid, 'go');
      await done;
      const ms = performance.now() - t0;
      node.kill(pid);
      return { ms };
    }
    case 'watch': {
      await node.call(echo, 'warm', { timeout: 30_000 });
      let onDown!: (at: bigint) => void;
      const down = new Promise<bigint>((res) => (onDown = res));
      let onWatching!: () => void;
      const watching = new Promise<void>((res) => (onWatching = res));
      const pid = await node.spawn(() =>
        Object.assign(new Watcher(), { onDown: () => onDown(process.hrtime.bigint()), onWatching }),
      );
      node.send(pid, peer);
      await watching;
      let timer: NodeJS.Timeout | undefined;
      if ((cmd.every ?? 0) > 0) {
        // The side that keeps talking: a call every `every` ms, each allowed to time out.
        timer = setInterval(
          () => void node.call(echo, 'tick', { timeout: cmd.every! * 10 }).catch(() => undefined),
          cmd.every,
        );
      }
      process.send!({ id: cmd.id, watching: true });
      const at = await down;
      if (timer !== undefined) clearInterval(timer);
      return { down: at.toString() };
    }
    default:
      throw new Error(`unknown command ${cmd.cmd}`);
  }
}

async function main(): Promise<void> {
  const role = process.argv[2];
  process.on('disconnect', () => process.exit(0));
  if (role === 'server') {
    const node = await serverNode();
    process.on('message', (m: Cmd) => {
      client(node, m.peer!, m).then(
        (value) => process.send!({ id: m.id, ok: true, value }),
        (e: unknown) => process.send!({ id: m.id, ok: false, error: String((e as Error).message ?? e) }),
      );
    });
    process.send!({ kind: 'ready', name: node.name, port: acceptorPort(node) });
    return;
  }
  if (role === 'raw') {
    process.send!({ kind: 'ready', port: await frameServer() });
    return;
  }
  // `client - -`: no node, raw ping-pong only.
  const peer = process.argv[3]!;
  const node = peer === '-' ? null : await clientNode(peer, Number(process.argv[4]));
  process.on('message', (m: Cmd) => {
    (m.cmd === 'raw' || node === null ? rawPingPong(m.port!, m.total!) : client(node, m.peer ?? peer, m)).then(
      (value) => process.send!({ id: m.id, ok: true, value }),
      (e: unknown) => process.send!({ id: m.id, ok: false, error: String((e as Error).message ?? e) }),
    );
  });
  process.send!({ kind: 'ready', name: node?.name ?? '-' });
}

await main();
