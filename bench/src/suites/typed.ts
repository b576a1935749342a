// Typed protocols (issue 20): the cost of the typed layer, typed beside untyped in the same child
// process. Local send / call / spawn: an Actor.of(protocol) actor against a plain Actor of the
// same code (local traffic is not validated by default, so any gap is the class hierarchy, not
// checks). Remote call: two nodes in one OS process, an echo answering `{ n }`, with and without a
// protocol whose request schema is a zod 4 object (validated on the receiving node per call).
//
// Shapes: send — a sender actor sends SEND_TOTAL messages back to back, the receiver counts and
// reports at the last; call — a caller actor calls an echo CALL_TOTAL times in a row; spawn —
// the node spawns SPAWN_TOTAL actors one after another (awaiting each), then stops them (not
// timed); remote call — as the network suite's one-process row, NET_CALL_TOTAL calls.

import {
  Actor,
  defineProtocol,
  ReplyLater,
  schema,
  startNode,
  type Node,
  type PID,
  type ProcessID,
  type Ref,
} from 'ergo-ts';
import { Go } from 'ergo-ts/net';
import { z } from 'zod';
import { deferred, now, rate, reportSamples, runPairRounds } from '../lib/measure.js';
import { acceptorPort } from '../lib/routes.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const G_TYPED = 'typed protocols (typed vs untyped, same process)';
const SEND_TOTAL = 2_000_000;
const CALL_TOTAL = 300_000;
const SPAWN_TOTAL = 50_000;
const NET_CALL_TOTAL = 30_000;

export const scenarios: ScenarioSpec[] = [
  { id: 'typed-send', peers: ['ergo-ts'] },
  { id: 'typed-call', peers: ['ergo-ts'] },
  { id: 'typed-spawn', peers: ['ergo-ts'] },
  { id: 'typed-net-call', peers: ['ergo-ts'] },
];

const Counter = defineProtocol('bench-counter', {
  messages: { n: schema.number(), done: schema.object({ done: schema.type<() => void>() }) },
  calls: { echo: { request: schema.number(), reply: schema.number() } },
});

type Done = { done: () => void };

class UntypedReceiver extends Actor {
  count = 0;
  override handleMessage(_from: PID, msg: unknown): void {
    if (typeof msg === 'number') this.count++;
    else (msg as Done).done();
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    return req;
  }
}

class TypedReceiver extends Actor.of(Counter) {
  count = 0;
  override handleMessage(_from: PID, msg: number | Done): void {
    if (typeof msg === 'number') this.count++;
    else msg.done();
  }
  override handleCall(_from: PID, _ref: Ref, req: number): number {
    return req;
  }
}

/** Sends `total` numbers then the done marker to `to` on "go" (untyped sender: the typed API is compile-time only). */
class Sender extends Actor {
  override handleMessage(_from: PID, msg: unknown): void {
    const { to, total, done } = msg as { to: PID; total: number; done: () => void };
    for (let i = 0; i < total; i++) this.send(to, 1);
    this.send(to, { done });
  }
}

class Caller extends Actor {
  override async handleCall(_from: PID, _ref: Ref, req: unknown): Promise<number> {
    const { to, total } = req as { to: PID | ProcessID; total: number };
    for (let i = 0; i < total; i++)
      if ((await this.call(to, i, { timeout: 60_000 })) !== i) throw new Error('bad reply');
    return total;
  }
}

class Idle extends Actor {}
class TypedIdle extends Actor.of(Counter) {
  override handleMessage(): void {}
  override handleCall(): ReplyLater {
    return ReplyLater;
  }
}

async function sendRound(node: Node, sender: PID, to: PID): Promise<number> {
  const d = deferred();
  const t0 = now();
  node.send(sender, { to, total: SEND_TOTAL, done: d.resolve });
  await d.promise;
  return rate(SEND_TOTAL, now() - t0);
}

async function callRound(node: Node, caller: PID, to: PID | ProcessID, total: number): Promise<number> {
  const t0 = now();
  await node.call(caller, { to, total }, { timeout: 600_000 });
  return rate(total, now() - t0);
}

async function spawnRound(node: Node, factory: new () => Actor | Actor<typeof Counter>): Promise<number> {
  const pids: PID[] = [];
  const t0 = now();
  for (let i = 0; i < SPAWN_TOTAL; i++) pids.push(await node.spawn(factory as new () => Actor, {}));
  const r = rate(SPAWN_TOTAL, now() - t0);
  for (const p of pids) node.kill(p);
  return r;
}

export async function typedSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 1, quick: false };
  const want = (id: string): boolean => c.scenario === undefined || c.scenario === id;
  const row = (name: string, unit: string, note: string, samples: number[]): void =>
    reportSamples(report, { group: G_TYPED, name, unit, note }, samples);

  const node = await startNode(`benchtyped${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
  try {
    if (want('typed-send')) {
      const sender = await node.spawn(Sender, {});
      const u = await node.spawn(UntypedReceiver, {});
      const t = await node.spawn(TypedReceiver, {});
      // Interleaved ABBA in each round, so both see the same machine and the same GC phase.
      const [us, ts] = await runPairRounds(
        c,
        () => sendRound(node, sender, u),
        () => sendRound(node, sender, t as PID),
      );
      row('local send burst, untyped', 'msg/s', `${SEND_TOTAL / 1e6}M msgs, plain Actor`, us);
      row('local send burst, typed', 'msg/s', `${SEND_TOTAL / 1e6}M msgs, Actor.of(protocol), not validated`, ts);
    }
    if (want('typed-call')) {
      const caller = await node.spawn(Caller, {});
      const u = await node.spawn(UntypedReceiver, {});
      const t = await node.spawn(TypedReceiver, {});
      const [us, ts] = await runPairRounds(
        c,
        () => callRound(node, caller, u, CALL_TOTAL),
        () => callRound(node, caller, t as PID, CALL_TOTAL),
      );
      row('local sequential call, untyped', 'calls/s', `${CALL_TOTAL / 1e3}K calls`, us);
      row('local sequential call, typed', 'calls/s', `${CALL_TOTAL / 1e3}K calls to Actor.of(protocol)`, ts);
    }
    if (want('typed-spawn')) {
      const [us, ts] = await runPairRounds(
        c,
        () => spawnRound(node, Idle),
        () => spawnRound(node, TypedIdle),
      );
      row('spawn, untyped', 'spawns/s', `${SPAWN_TOTAL / 1e3}K sequential node.spawn`, us);
      row('spawn, typed', 'spawns/s', `${SPAWN_TOTAL / 1e3}K sequential node.spawn of Actor.of(protocol)`, ts);
    }
    if (want('typed-net-call')) await netCall(c, row);
  } finally {
    await node.stop();
  }
}

/** The request of the remote rows: an EDF struct (registered through the protocol's `types`). */
class EchoReq {
  n = 0;
  tag = '';
}

const ZEcho = defineProtocol('bench-zod-echo', {
  calls: { echo: { request: z.object({ n: z.number().int(), tag: z.string() }), reply: z.number() } },
  types: [{ name: '#ergo-ts/bench/EchoReq', class: EchoReq, fields: { n: Go.float64, tag: Go.string } }],
});

class PlainEcho extends Actor {
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    return (req as { n: number }).n;
  }
}
class ZodEcho extends Actor.of(ZEcho) {
  override handleCall(_from: PID, _ref: Ref, req: { n: number; tag: string }): number {
    return req.n;
  }
}

/** Asks `total` calls of `{ n, tag }` (a plain object) and checks each reply. */
class ObjCaller extends Actor {
  override async handleCall(_from: PID, _ref: Ref, req: unknown): Promise<number> {
    const { to, total } = req as { to: ProcessID; total: number };
    for (let i = 0; i < total; i++) {
      const r = await this.call(to, Object.assign(new EchoReq(), { n: i, tag: 'x' }), { timeout: 60_000 });
      if (r !== i) throw new Error(`bad reply ${String(r)}`);
    }
    return total;
  }
}

async function netCall(
  c: SuiteContext,
  row: (name: string, unit: string, note: string, s: number[]) => void,
): Promise<void> {
  const b = await startNode(`benchtb${process.pid}@localhost`, {
    network: { cookie: 'bench', acceptors: [{ port: 0 }], registrar: null },
    log: { defaultLogger: { disable: true } },
  });
  const port = acceptorPort(b);
  const v = { name: '', release: '' };
  const a = await startNode(`bencht${process.pid}@localhost`, {
    network: {
      cookie: 'bench',
      mode: 1,
      registrar: null,
      routes: [
        {
          match: b.name.replace(/\./g, '\\.'),
          route: { route: { host: '127.0.0.1', port, tls: false, handshakeVersion: v, protoVersion: v } },
        },
      ],
    },
    log: { defaultLogger: { disable: true } },
  });
  try {
    await b.spawnRegister('plain', PlainEcho, {});
    await b.spawnRegister('zod', ZodEcho, {});
    const caller = await a.spawn(ObjCaller, {});
    const plain = { name: 'plain', node: b.name };
    const zod = { name: 'zod', node: b.name };
    const { ProcessID } = await import('ergo-ts');
    const [us, ts] = await runPairRounds(
      c,
      () => callRound(a, caller, new ProcessID(plain.name as never, plain.node), NET_CALL_TOTAL),
      () => callRound(a, caller, new ProcessID(zod.name as never, zod.node), NET_CALL_TOTAL),
    );
    const note = `${NET_CALL_TOTAL / 1e3}K calls, two nodes in one OS process, request { n, tag }`;
    row('network sequential call, untyped', 'calls/s', note, us);
    row('network sequential call, zod-validated', 'calls/s', `${note}, zod 4 object schema checked per call`, ts);
  } finally {
    await a.stop();
    await b.stop();
  }
}
