// Distributed: Ergo's distributed pub/sub, remote monitors and remote spawn between ergo-ts nodes
// in separate OS processes (bench/src/net/dist_peer.ts), beside the same shapes on one node and,
// for remote spawn, against a real Go Ergo 3.2 node (ergo-peer).
//
// Pub/sub: one event on the producer node (this process), SUBS subscribers spread over NODES
// forked node processes; one publish, clocked until every node reports that all its
// subscribers got it. The producer's node sends the event once per subscribing node, which fans
// it out: the note carries the network messages the producer sent for the publish (must equal
// NODES). Sizes: DIST_PUBSUB_NODES (default 10) and DIST_PUBSUB_SUBS (total, default 100 K;
// Ergo's figure is for 1 M over 10 nodes, `DIST_PUBSUB_SUBS=1000000` runs that).
// Remote monitor: a watcher monitors K processes of another node (all requests in flight at once,
// answered when every one was confirmed), then they all end: create + down, clocked until the
// K-th MessageDown arrives. Remote spawn: RemoteNode.spawn of an idle
// actor with at most WINDOW requests in flight.

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  Actor,
  Event,
  MessageDownPID,
  PID,
  startNode,
  type Atom,
  type MessageEvent,
  type Node,
  type Ref,
} from 'ergo-ts';
import { deferred, median, rate, reportSamples, runRounds } from '../lib/measure.js';
import { acceptorPort, loopbackRoute } from '../lib/routes.js';
import type { FigureSpec, Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const PEER_SCRIPT = join(here, '..', 'net', 'dist_peer.js');
const NODES = Number(process.env.DIST_PUBSUB_NODES ?? 10);
const SUBS = Number(process.env.DIST_PUBSUB_SUBS ?? 100_000);
const MONITORS = 20_000;
const SPAWNS = 100_000;
const GO_SPAWNS = 2_000;
const WINDOW = 100;

export const G_DIST = 'distributed';
export const N_PUBSUB = 'distributed pub/sub: one publish to all subscribers';
export const N_MONITOR = 'remote monitor create + down';
export const N_SPAWN = 'remote spawn';

/** Issue 47: a remote spawn at least 0.3 of a local one. */
export const figures: FigureSpec[] = [
  { group: G_DIST, name: N_SPAWN, target: { better: 'higher', ratios: [{ peer: 'local', value: 0.3 }] } },
];

export const scenarios: ScenarioSpec[] = [
  { id: 'dist-pubsub', peers: ['ergo-ts', 'local'], timeout: 600 },
  { id: 'dist-monitor', peers: ['ergo-ts', 'local'], timeout: 300 },
  { id: 'dist-spawn', peers: ['ergo-ts', 'local', 'ts-go'], timeout: 300 },
];

interface Peer {
  child: ChildProcess;
  name: string;
  port: number;
  next(kind: string): Promise<Record<string, unknown>>;
}

async function forkPeer(): Promise<Peer> {
  const child = fork(PEER_SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: Record<string, unknown>[] = [];
  const waiters: { kind: string; resolve(m: Record<string, unknown>): void }[] = [];
  child.on('message', (m: Record<string, unknown>) => {
    const w = waiters.findIndex((x) => x.kind === m.kind);
    if (w >= 0) waiters.splice(w, 1)[0]!.resolve(m);
    else queue.push(m);
  });
  const next = (kind: string): Promise<Record<string, unknown>> => {
    const i = queue.findIndex((m) => m.kind === kind);
    if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]!);
    return new Promise((res) => waiters.push({ kind, resolve: res }));
  };
  const ready = await next('ready');
  return { child, name: ready.name as string, port: ready.port as number, next };
}

async function mainNode(peers: { name: string; port: number }[]): Promise<Node> {
  return startNode(`distbench${process.pid}@localhost`, {
    network: {
      cookie: 'bench',
      acceptors: [{ port: 0 }],
      registrar: null,
      routes: peers.map((p) => ({ match: p.name.replace(/[.$]/g, '\\$&'), route: loopbackRoute(p.port) })),
    },
    log: { defaultLogger: { disable: true } },
  });
}

class Producer extends Actor {
  token: Ref | undefined;
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request === 'register') this.token = this.registerEvent('bench_event', {});
    else this.sendEvent('bench_event', this.token!, request);
    return true;
  }
}

/** Counts downs; resolves `done` at the expected count. */
class Watcher extends Actor {
  expected = 0;
  downs = 0;
  done: (() => void) | null = null;
  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof MessageDownPID && ++this.downs === this.expected) this.done?.();
  }
  // Answers once every remote target's node confirmed its monitor (at once for local targets):
  // the targets end only after that, as in the local row, so no request races the end.
  override async handleCall(_from: PID, _ref: Ref, request: unknown): Promise<unknown> {
    for (const p of request as PID[]) this.monitorPID(p);
    await this.relationsConfirmed();
    return true;
  }
}

class Idle extends Actor {}

class LocalSub extends Actor {
  static got = 0;
  static expected = 0;
  static done: (() => void) | null = null;
  override handleEvent(_m: MessageEvent): void {
    if (++LocalSub.got === LocalSub.expected) LocalSub.done?.();
  }
}

async function pubsub(report: Report, c: SuiteContext): Promise<void> {
  const subs = c.quick ? Math.min(SUBS, 20_000) : SUBS;
  if (c.peer === 'local') {
    const node = await startNode(`distlocal${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
    const prod = await node.spawn(() => new Producer());
    await node.call(prod, 'register');
    const ev = new Event('bench_event' as Atom, node.name);
    const subscribed = deferred();
    let n = 0;
    class Subscriber extends LocalSub {
      override async handleMessage(): Promise<void> {
        await this.monitorEvent(ev);
        if (++n === subs) subscribed.resolve();
      }
    }
    for (let i = 0; i < subs; i++) node.send(await node.spawn(() => new Subscriber()), 'sub');
    await subscribed.promise;
    LocalSub.expected = subs;
    const s = await runRounds(c, async () => {
      LocalSub.got = 0;
      const d = deferred();
      LocalSub.done = d.resolve;
      const t0 = performance.now();
      await node.call(prod, 'tick');
      await d.promise;
      return performance.now() - t0;
    });
    reportSamples(
      report,
      {
        group: G_DIST,
        name: N_PUBSUB,
        unit: 'ms',
        better: 'lower',
        peer: 'local',
        note: `${subs / 1e3}K subscribers on the producer's node`,
      },
      s,
    );
    await node.stopForce();
    return;
  }
  const perNode = Math.ceil(subs / NODES);
  const peers = await Promise.all(Array.from({ length: NODES }, () => forkPeer()));
  const node = await mainNode(peers);
  try {
    const prod = await node.spawn(() => new Producer());
    await node.call(prod, 'register');
    const port = acceptorPort(node);
    for (const p of peers)
      p.child.send({ cmd: 'subscribe', producer: node.name, port, event: 'bench_event', k: perNode });
    await Promise.all(peers.map((p) => p.next('subscribed')));
    let messages = 0;
    const s = await runRounds(c, async () => {
      const before = peers.reduce((n, p) => n + node.network().node(p.name).info().messagesOut, 0);
      const t0 = performance.now();
      const got = Promise.all(peers.map((p) => p.next('got')));
      await node.call(prod, 'tick');
      await got;
      const ms = performance.now() - t0;
      messages = peers.reduce((n, p) => n + node.network().node(p.name).info().messagesOut, 0) - before;
      return ms;
    });
    reportSamples(
      report,
      {
        group: G_DIST,
        name: N_PUBSUB,
        unit: 'ms',
        better: 'lower',
        note: `${(perNode * NODES) / 1e3}K subscribers over ${NODES} node processes; network messages per publish: ${messages} (one per subscribing node)`,
      },
      s,
    );
  } finally {
    await node.stopForce();
    for (const p of peers) p.child.disconnect();
  }
}

async function monitors(report: Report, c: SuiteContext): Promise<void> {
  const k = c.quick ? MONITORS / 4 : MONITORS;
  let node: Node;
  let peer: Peer | null = null;
  if (c.peer === 'local')
    node = await startNode(`distlocal${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
  else {
    peer = await forkPeer();
    node = await mainNode([peer]);
    await node.network().getNode(peer.name);
  }
  const createMs: number[] = [];
  const downMs: number[] = [];
  const cpu = { create: [] as number[], down: [] as number[], peerCreate: [] as number[], peerDown: [] as number[] };
  try {
    const s = await runRounds(c, async () => {
      let targets: PID[];
      let peerCpu0 = 0;
      if (peer === null) {
        targets = [];
        for (let i = 0; i < k; i++) targets.push(await node.spawn(() => new Idle()));
      } else {
        peer.child.send({ cmd: 'targets', k });
        const t = await peer.next('targets');
        targets = (t.ids as number[]).map((id) => new PID(peer!.name as Atom, id, t.creation as number));
        peerCpu0 = t.cpu as number;
      }
      let w: Watcher | null = null;
      const wp = await node.spawn(() => (w = new Watcher()));
      const watcher = w! as Watcher;
      const d = deferred();
      Object.assign(watcher, { expected: k, done: d.resolve });
      const c0 = cpuMs();
      const t0 = performance.now();
      await node.call(wp, targets, { timeout: 120_000 });
      const t1 = performance.now();
      const c1 = cpuMs();
      if (peer === null) for (const p of targets) node.sendExit(p, new Error('done'));
      else peer.child.send({ cmd: 'end_targets' });
      await d.promise;
      const ms = performance.now() - t0;
      const c2 = cpuMs();
      createMs.push(t1 - t0);
      downMs.push(ms - (t1 - t0));
      // CPU µs per monitor of each process in each phase (the peer's from its own readings).
      cpu.create.push(((c1 - c0) * 1000) / k);
      cpu.down.push(((c2 - c1) * 1000) / k);
      if (peer !== null) {
        const ended = await peer.next('ended');
        peer.child.send({ cmd: 'cpu' });
        const after = await peer.next('cpu');
        cpu.peerCreate.push((((ended.cpu as number) - peerCpu0) * 1000) / k);
        cpu.peerDown.push((((after.cpu as number) - (ended.cpu as number)) * 1000) / k);
      }
      node.kill(wp);
      return rate(k, ms);
    });
    // The two phases of the measured rounds (median ms, and CPU µs per monitor of each side):
    // where a remote row loses to the local one.
    const last = (xs: number[]): string => median(xs.slice(-s.length)).toFixed(1);
    const phases =
      `create + confirm ${last(createMs)} ms (CPU ${last(cpu.create)} µs/monitor` +
      (peer !== null ? ` here + ${last(cpu.peerCreate)} on the targets' node` : '') +
      `), end + downs ${last(downMs)} ms (CPU ${last(cpu.down)} µs/monitor` +
      (peer !== null ? ` here + ${last(cpu.peerDown)} there` : '') +
      `) (medians)`;
    reportSamples(
      report,
      {
        group: G_DIST,
        name: N_MONITOR,
        unit: 'pairs/s',
        peer: c.peer === 'local' ? 'local' : undefined,
        note: `${k / 1e3}K monitors by one watcher, then every target ends; ${phases}`,
      },
      s,
    );
  } finally {
    await node.stopForce();
    peer?.child.disconnect();
  }
}

/** CPU milliseconds (user + system) this process used so far. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function goPeerBinary(): string | null {
  const p = process.env.ERGO_PEER ?? resolve(here, '..', '..', '..', '..', 'shared', 'peers', 'ergo-peer', 'ergo-peer');
  return existsSync(p) ? p : null;
}

async function spawns(report: Report, c: SuiteContext): Promise<void> {
  if (c.peer === 'local') {
    const node = await startNode(`distlocal${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
    const total = c.quick ? SPAWNS / 2 : SPAWNS;
    const s = await runRounds(c, async () => {
      const t0 = performance.now();
      for (let i = 0; i < total; i++) await node.spawn(() => new Idle());
      return rate(total, performance.now() - t0);
    });
    reportSamples(
      report,
      {
        group: G_DIST,
        name: N_SPAWN,
        unit: 'spawns/s',
        peer: 'local',
        note: `${total / 1e3}K node.spawn, one at a time`,
      },
      s,
    );
    await node.stopForce();
    return;
  }
  let name: string;
  let port: number;
  let stopPeer: () => void;
  let factory = 'w';
  let total = c.quick ? SPAWNS / 2 : SPAWNS;
  if (c.peer === 'ts-go') {
    const bin = goPeerBinary();
    if (bin === null) return;
    name = `gobench${process.pid}@localhost`;
    const child = spawn(
      bin,
      ['-name', name, '-registrar', 'none', '-cookie', 'bench', '-loglevel', 'error', '-log-stdout', 'disabled'],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    const rl = readline.createInterface({ input: child.stdout! });
    port = await new Promise<number>((res, rej) => {
      rl.once('line', (l) => {
        const j = JSON.parse(l) as { kind: string; port: number };
        if (j.kind === 'ready') res(j.port);
        else rej(new Error(l));
      });
    });
    rl.on('line', () => undefined);
    stopPeer = () => {
      child.stdin!.end();
      child.kill();
    };
    factory = 'peer_worker';
    total = GO_SPAWNS;
  } else {
    const p = await forkPeer();
    name = p.name;
    port = p.port;
    stopPeer = () => p.child.disconnect();
  }
  const node = await mainNode([{ name, port }]);
  try {
    const remote = await node.network().getNode(name);
    const s = await runRounds(c, async () => {
      const t0 = performance.now();
      let started = 0;
      const lane = async (): Promise<void> => {
        while (started < total) {
          started++;
          await remote.spawn(factory);
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, lane));
      return rate(total, performance.now() - t0);
    });
    const note =
      c.peer === 'ts-go'
        ? `${total / 1e3}K RemoteNode.spawn of Go's peer_worker (ergo-peer prints a JSON line per spawn: lower bound), ≤ ${WINDOW} in flight`
        : `${total / 1e3}K RemoteNode.spawn of an idle actor, ≤ ${WINDOW} in flight`;
    reportSamples(
      report,
      { group: G_DIST, name: N_SPAWN, unit: 'spawns/s', peer: c.peer === 'ts-go' ? 'ts-go' : undefined, note },
      s,
    );
  } finally {
    await node.stopForce();
    stopPeer();
  }
}

export async function distributedSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 3, warmup: 1, quick: true };
  const want = (id: string): boolean => c.scenario === undefined || c.scenario === id;
  if (want('dist-pubsub') && c.peer !== 'ts-go') await pubsub(report, c);
  if (want('dist-monitor') && c.peer !== 'ts-go') await monitors(report, c);
  if (want('dist-spawn')) await spawns(report, c);
}
