// Broker: ergo-ts events as a message broker, beside NATS and Redis pub/sub on the same machine.
//
// One publisher (this process) and S subscriber nodes, each its own OS process
// (bench/src/net/broker_sub.ts), ~100 B messages:
// - ergo-ts: the publisher is an actor on this process' node that registered the event `broker`
//   and publishes with `sendEvent`; each subscriber node runs one actor that monitors the event
//   (MonitorEvent). The publisher's node sends each event once per subscribing node.
// - NATS: `nats-server` (Debian's, /usr/sbin/nats-server or $NATS_SERVER) on a free port; the
//   publisher PUBs on subject `broker`, each subscriber process SUBs it.
// - Redis: `redis-server` (/usr/bin/redis-server or $REDIS_SERVER) on a free port with
//   `--save '' --appendonly no`; PUBLISH / SUBSCRIBE on channel `broker`.
// The NATS and Redis clients speak the text protocols over a raw socket (net/broker_proto.ts): no
// client library, one socket write per chunk of messages, as the ergo-ts publisher's node writes
// one batch per event-loop turn. A peer whose server is missing is skipped with the reason printed.
//
// The same flow control for every peer: the publisher publishes chunks of CHUNK messages in one
// go (one turn of this process), with at most WINDOW chunks not yet acknowledged by every
// subscriber (each subscriber acks every CHUNK messages over IPC to this process). A round
// publishes MSGS messages and ends when every subscriber got them all: delivered/s = MSGS × S /
// round time. Latency: each payload starts with its publish time (µs of the machine's monotonic
// clock), each subscriber records arrival − publish in its handler into a 10 µs histogram; the
// row is the p99 over every delivery of the round (median over the rounds). With the window
// always full, latency ≈ messages in flight ÷ rate: a faster peer also shows a lower p99.
// The note gives the CPU time per delivered message of the publisher, of the subscribers (all
// together) and of the broker server: the cost, which a busy machine does not distort as much as
// the rate ($BROKER_CPU=1 prints it as the rounds end).

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Actor, startNode, type Node, type PID, type Ref } from 'ergo-ts';
import { deferred, median, rate, reportSamples, runRounds } from '../lib/measure.js';
import { acceptorPort } from '../lib/routes.js';
import type { FigureSpec, Report, ScenarioSpec, SuiteContext } from '../lib/types.js';
import {
  Latencies,
  NATS_BIN,
  NatsConn,
  REDIS_BIN,
  RedisConn,
  TOPIC,
  missing,
  payloadString,
  startServer,
  type Server,
} from '../net/broker_proto.js';

const here = dirname(fileURLToPath(import.meta.url));
const SUB_SCRIPT = join(here, '..', 'net', 'broker_sub.js');
/** Message size in bytes (the payload string; ~100 B as the issue's acceptance set-up). */
const SIZE = 100;
const CHUNK = Number(process.env.BROKER_CHUNK ?? 500);
const WINDOW = Number(process.env.BROKER_WINDOW ?? 4);
/**
 * ergo-ts only: with R > 0 ($BROKER_RELAY=R), the publisher's node serves R subscriber nodes, and
 * each of those re-publishes every message on its own node to its share of the others (a relay
 * tree built on the public API; issue 47's measurement). 0: every subscriber node subscribes to
 * the publisher (the row as reported).
 */
const RELAYS = Number(process.env.BROKER_RELAY ?? 0);
/**
 * $BROKER_PAYLOAD=bytes: every subscriber takes the payload as bytes (net/broker_sub.ts); the
 * ergo-ts publisher then publishes a Uint8Array (the NATS and Redis wire is the same text).
 */
const BYTES = process.env.BROKER_PAYLOAD === 'bytes';
/** The payload as bytes: Latin-1 of {@link payloadString} (ASCII). */
function payloadBytes(size: number): Uint8Array {
  return Buffer.from(payloadString(size), 'latin1');
}
/** Messages per round, by subscriber count ($BROKER_MSGS overrides). */
const MSGS: Record<number, number> = { 4: 300_000, 8: 100_000 };

export const G_BROKER = 'broker';
export const nDelivered = (s: number): string => `broker: 1 publisher → ${s} subscriber nodes, delivered`;
export const nP99 = (s: number): string => `broker: 1 publisher → ${s} subscriber nodes, p99 latency`;

const PEERS = ['ergo-ts', 'nats', 'redis'];
/** Issue 47: ahead of NATS as a broker, by a fifth, at 4 and 8 subscriber nodes. */
export const figures: FigureSpec[] = [4, 8].map((s) => ({
  group: G_BROKER,
  name: nDelivered(s),
  target: { better: 'higher', ratios: [{ peer: 'nats', value: 1.2 }] },
}));

export const scenarios: ScenarioSpec[] = [
  { id: 'broker-4', peers: PEERS, timeout: 300 },
  { id: 'broker-8', peers: PEERS, timeout: 300 },
];

/** Publishes `k` messages now (one chunk). */
type Publish = (k: number) => void;

class Producer extends Actor {
  token: Ref | undefined;
  override init(): void {
    this.token = this.registerEvent(TOPIC, {});
  }
  override handleMessage(_from: PID, k: unknown): void {
    if (BYTES) for (let i = 0; i < (k as number); i++) this.sendEvent(TOPIC, this.token!, payloadBytes(SIZE));
    else for (let i = 0; i < (k as number); i++) this.sendEvent(TOPIC, this.token!, payloadString(SIZE));
  }
}

interface Sub {
  child: ChildProcess;
  acked: number;
  /** CPU ms at the round's start and end (the subscriber's own report). */
  cpu0: number;
  cpu1: number;
  /** A relay's node name and acceptor port (from its `ready`). */
  node: string;
  port: number;
}

/** CPU ms of a process from /proc (utime + stime, 100 ticks/s); 0 off Linux. */
function procCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU µs per delivered message of one round: publisher, subscribers (all), server. */
interface Cpu {
  pub: number;
  subs: number;
  server: number;
}

/** S forked subscribers with a shared wait on their IPC messages. */
class Subs {
  readonly subs: Sub[] = [];
  private waiting: { test: () => boolean; resolve: () => void } | null = null;
  private armed = 0;
  private ready = 0;
  private hists: [number, number][][] = [];

  constructor(args: string[], s: number) {
    for (let i = 0; i < s; i++) this.fork(args);
  }

  /** Forks one more subscriber process with `args`. */
  fork(args: string[]): Sub {
    const child = fork(SUB_SCRIPT, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const sub: Sub = { child, acked: 0, cpu0: 0, cpu1: 0, node: '', port: 0 };
    child.on(
      'message',
      (m: { kind: string; n?: number; hist?: [number, number][]; cpu?: number; node?: string; port?: number }) => {
        if (m.kind === 'ack') sub.acked = m.n!;
        else if (m.kind === 'ready') {
          sub.node = m.node ?? '';
          sub.port = m.port ?? 0;
          this.ready++;
        } else if (m.kind === 'armed') {
          sub.cpu0 = m.cpu!;
          this.armed++;
        } else if (m.kind === 'done') {
          sub.cpu1 = m.cpu!;
          this.hists.push(m.hist!);
        }
        this.check();
      },
    );
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) this.fail(new Error(`broker subscriber exited with code ${code}`));
    });
    this.subs.push(sub);
    return sub;
  }

  private failed: Error | null = null;
  private reject: ((e: Error) => void) | null = null;
  private fail(e: Error): void {
    this.failed = e;
    this.reject?.(e);
  }

  private check(): void {
    const w = this.waiting;
    if (w !== null && w.test()) {
      this.waiting = null;
      w.resolve();
    }
  }

  /** Resolves when `test` holds (checked on every subscriber message), bounded by a hang guard. */
  until(test: () => boolean, what: string): Promise<void> {
    if (this.failed !== null) return Promise.reject(this.failed);
    if (test()) return Promise.resolve();
    const d = deferred();
    const guard = setTimeout(() => d.reject(new Error(`broker: no ${what} within 60 s`)), 60_000);
    this.reject = d.reject;
    this.waiting = { test, resolve: d.resolve };
    return d.promise.finally(() => clearTimeout(guard));
  }

  allReady(): Promise<void> {
    return this.until(() => this.ready === this.subs.length, 'subscription');
  }

  minAcked(): number {
    let m = Infinity;
    for (const s of this.subs) if (s.acked < m) m = s.acked;
    return m;
  }

  /**
   * One round: `n` published in chunks under the window; returns the round's ms, merged
   * latencies and CPU per delivery (`server`: the broker server's pid, if any).
   */
  async round(n: number, publish: Publish, server: number | undefined): Promise<[number, Latencies, Cpu]> {
    this.armed = 0;
    this.hists = [];
    for (const s of this.subs) {
      s.acked = 0;
      s.child.send({ cmd: 'round', n, chunk: CHUNK });
    }
    await this.until(() => this.armed === this.subs.length, 'round start');
    const srv0 = server === undefined ? 0 : procCpuMs(server);
    const own0 = ownCpuMs();
    const t0 = performance.now();
    let sent = 0;
    while (sent < n) {
      const floor = sent - WINDOW * CHUNK;
      if (this.minAcked() < floor) await this.until(() => this.minAcked() >= floor, 'acknowledgement');
      const k = Math.min(CHUNK, n - sent);
      publish(k);
      sent += k;
    }
    await this.until(() => this.hists.length === this.subs.length, 'end of round');
    const ms = performance.now() - t0;
    const deliveries = n * this.subs.length;
    let subs = 0;
    for (const s of this.subs) subs += s.cpu1 - s.cpu0;
    const cpu: Cpu = {
      pub: ((ownCpuMs() - own0) * 1000) / deliveries,
      subs: (subs * 1000) / deliveries,
      server: server === undefined ? 0 : ((procCpuMs(server) - srv0) * 1000) / deliveries,
    };
    const lat = new Latencies();
    for (const h of this.hists) lat.merge(h);
    return [ms, lat, cpu];
  }

  close(): void {
    for (const s of this.subs) if (s.child.connected) s.child.disconnect();
  }
}

async function ergoPublisher(): Promise<{ node: Node; port: number; publish: Publish }> {
  const node = await startNode(`brokerpub${process.pid}@localhost`, {
    network: { cookie: 'bench', acceptors: [{ port: 0 }], registrar: null },
    log: { defaultLogger: { disable: true } },
  });
  const prod = await node.spawn(() => new Producer());
  return { node, port: acceptorPort(node), publish: (k) => node.send(prod, k) };
}

async function broker(report: Report, c: SuiteContext, s: number): Promise<void> {
  // Whole messages: a fraction (100 K / 3 with --quick) was never reached and the round hung.
  const msgs = Math.round(Number(process.env.BROKER_MSGS ?? MSGS[s]) / (c.quick ? 3 : 1));
  let server: Server | null = null;
  let node: Node | null = null;
  let subs: Subs | null = null;
  let note: string;
  try {
    let publish: Publish;
    if (c.peer === 'ergo-ts') {
      const p = await ergoPublisher();
      node = p.node;
      publish = p.publish;
      if (RELAYS > 0 && RELAYS < s) {
        // Issue 47's relay tree on the public API: the publisher's node serves RELAYS nodes, each
        // re-publishes on its own event to its share of the rest.
        subs = new Subs([], 0);
        const top: Sub[] = [];
        for (let i = 0; i < RELAYS; i++) top.push(subs.fork(['ergo-relay', node.name, String(p.port)]));
        await subs.allReady();
        for (let j = RELAYS; j < s; j++) {
          const r = top[(j - RELAYS) % RELAYS]!;
          subs.fork(['ergo', r.node, String(r.port)]);
        }
        note = `sendEvent of a registered event to ${RELAYS} relay nodes ($BROKER_RELAY), each re-publishing to ${(s - RELAYS) / RELAYS} more`;
      } else {
        subs = new Subs(['ergo', node.name, String(p.port)], s);
        note = `sendEvent of a registered event${BYTES ? ' (a Uint8Array payload, $BROKER_PAYLOAD=bytes)' : ''}; one MonitorEvent subscriber per node`;
      }
    } else {
      const bin = c.peer === 'nats' ? NATS_BIN : REDIS_BIN;
      const why = missing(bin);
      if (why !== null) {
        console.log(`${c.peer === 'nats' ? 'NATS' : 'Redis'} skipped: ${why}`);
        return;
      }
      server = await startServer(c.peer as 'nats' | 'redis');
      subs = new Subs([c.peer, String(server.port)], s);
      if (c.peer === 'nats') {
        const conn = await NatsConn.connect(server.port);
        const head = `PUB ${TOPIC} ${SIZE}\r\n`;
        publish = (k) => {
          let out = '';
          for (let i = 0; i < k; i++) out += head + payloadString(SIZE) + '\r\n';
          conn.socket.write(out);
        };
        note = `nats-server 2.9 on loopback, raw-socket client (PUB/SUB, one write per chunk)${BYTES ? ', payload read as bytes' : ''}`;
      } else {
        const conn = await RedisConn.connect(server.port);
        publish = (k) => {
          let out = '';
          for (let i = 0; i < k; i++) out += RedisConn.publishCommand(TOPIC, payloadString(SIZE));
          conn.socket.write(out);
        };
        note = `redis-server 7 (--save '' --appendonly no), raw RESP client (pipelined PUBLISH)${BYTES ? ', payload read as bytes' : ''}`;
      }
    }
    await subs.allReady();
    const p99: number[] = [];
    const cpus: Cpu[] = [];
    const rates = await runRounds(c, async (r) => {
      const [ms, lat, cpu] = await subs!.round(msgs, publish, server?.proc.pid);
      if (r >= c.warmup) {
        p99.push(lat.quantileMs(0.99));
        cpus.push(cpu);
      }
      return rate(msgs * s, ms);
    });
    const mid = (k: keyof Cpu): string => median(cpus.map((x) => x[k])).toFixed(2);
    const cpuNote = `CPU µs per delivery: publisher ${mid('pub')}, subscribers ${mid('subs')}${server !== null ? `, server ${mid('server')}` : ''}`;
    if (process.env.BROKER_CPU === '1') console.log(`${c.peer} S=${s}: ${cpuNote}`);
    const tail = `${msgs / 1e3}K × ${SIZE} B messages per round, ${s} subscriber processes, ≤ ${WINDOW}×${CHUNK} unacknowledged; ${cpuNote}`;
    const peer = c.peer === 'ergo-ts' ? undefined : c.peer;
    reportSamples(
      report,
      { group: G_BROKER, name: nDelivered(s), unit: 'msg/s', peer, note: `${note}; ${tail}` },
      rates,
    );
    reportSamples(report, { group: G_BROKER, name: nP99(s), unit: 'ms', better: 'lower', peer }, p99);
  } finally {
    subs?.close();
    await node?.stopForce();
    server?.stop();
  }
}

export async function brokerSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 3, warmup: 1, quick: true };
  for (const s of [4, 8]) if (c.scenario === undefined || c.scenario === `broker-${s}`) await broker(report, c, s);
}
