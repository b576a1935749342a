// A node in its own OS process for the distributed suite (suites/distributed.ts), forked by it.
// Reports `{ kind: 'ready', name, port }` over IPC, then runs commands `{ cmd, ... }`:
//   subscribe { producer, port, event, k } — k subscriber processes each monitor the producer's
//       event; answers `{ kind: 'subscribed' }`, then `{ kind: 'got', n }` once every subscriber
//       got the next published event (and again for each later one)
//   targets { k } — spawns k idle processes; answers `{ kind: 'targets', ids }`
//   end_targets — ends them all (reason normal); answers `{ kind: 'ended', cpu }` (cpu: this
//       process' CPU ms when the command arrived, before the ends)
//   cpu — answers `{ kind: 'cpu', cpu }` (CPU ms of this process so far)
// Remote spawn of `w` (an idle actor) is enabled for every node. Exits when IPC closes.

import { Actor, Event, startNode, type MessageEvent, type PID } from 'ergo-ts';
import { acceptorPort } from '../lib/routes.js';

class Idle extends Actor {}

let got = 0;
let expected = 0;

class Sub extends Actor {
  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    const m = message as { event?: Event };
    // Only subscribe orders: the MessageDownEvent of a producer that went away is ignored.
    if (!(m.event instanceof Event)) return;
    try {
      await this.monitorEvent(m.event);
    } catch (e) {
      if (process.connected) process.send!({ kind: 'error', error: String(e) });
      throw e;
    }
    if (++subscribed === expected) process.send!({ kind: 'subscribed' });
    else if (queued < pending.length) node.send(pending[queued++]!, message);
  }
  override handleEvent(_message: MessageEvent): void {
    if (++got === expected) {
      got = 0;
      process.send!({ kind: 'got', n: expected });
    }
  }
}
let subscribed = 0;
let pending: PID[] = [];
let queued = 0;
const WINDOW = 1000;

const node = await startNode(`distb${process.pid}@localhost`, {
  network: { cookie: 'bench', acceptors: [{ port: 0 }], registrar: null },
  log: { defaultLogger: { disable: true } },
});
node.network().enableSpawn('w', () => new Idle());
let targets: PID[] = [];

/** CPU milliseconds (user + system) this process used so far. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

process.on('message', (m: { cmd: string; producer?: string; port?: number; event?: string; k?: number }) => {
  void (async () => {
    if (m.cmd === 'subscribe') {
      const v = { name: '', release: '' };
      node
        .network()
        .addRoute(
          m.producer!.replace(/[.$]/g, '\\$&'),
          { route: { host: '127.0.0.1', port: m.port!, tls: false, handshakeVersion: v, protoVersion: v } },
          0,
        );
      expected = m.k!;
      // Connected first: requests made while dialling wait in a bounded queue (dialQueueLimit).
      await node.network().getNode(m.producer!);
      const ev = new Event(m.event!, m.producer!);
      // Subscribe WINDOW at a time: each request waits for its answer (a bounded time).
      pending = [];
      for (let i = 0; i < m.k!; i++) pending.push(await node.spawn(() => new Sub()));
      for (queued = 0; queued < Math.min(WINDOW, pending.length); queued++) node.send(pending[queued]!, { event: ev });
    } else if (m.cmd === 'targets') {
      targets = [];
      for (let i = 0; i < m.k!; i++) targets.push(await node.spawn(() => new Idle()));
      process.send!({ kind: 'targets', ids: targets.map((p) => p.id), creation: node.creation, cpu: cpuMs() });
    } else if (m.cmd === 'end_targets') {
      const cpu = cpuMs();
      for (const p of targets) node.sendExit(p, new Error('done'));
      process.send!({ kind: 'ended', cpu });
    } else if (m.cmd === 'cpu') {
      process.send!({ kind: 'cpu', cpu: cpuMs() });
    }
  })();
});
process.on('disconnect', () => void node.stopForce().then(() => process.exit(0)));
process.send!({ kind: 'ready', name: node.name, port: acceptorPort(node) });
