// Local messaging: one-way send 1→1 and N→N, and sequential call, for ergo-ts and nact (the
// Erlang peer lives in bench/erlang/bench_messaging.erl and has the same shape).
//
// Send shape (every peer): a sender process sends `total` small integers to a receiver, in chunks
// of CHUNK messages with at most WINDOW chunks in flight: the receiver acks every CHUNK messages
// and each ack releases the next chunk, so mailboxes stay bounded (≤ CHUNK × WINDOW) whatever the
// scheduler's batch size. The receiver counts; the clock stops when it has counted `total`.
// The pair is spawned before the clock starts; the clock starts when the sender is told "go".
//
// Call shape: a caller process calls an echo process `total` times in a row, awaiting each reply
// (ergo-ts: this.call → handleCall; nact: query → dispatch to the temporary reference; Erlang:
// gen_server:call → handle_call).

import { Actor, startNode, type Node, type PID, type Ref } from 'ergo-ts';
import { G_MESSAGING, N_CALL, N_SEND_1, N_SEND_N } from '../lib/figures.js';
import { deferred, rate, reportSamples, runRounds } from '../lib/measure.js';
import { nact, type NactRef } from '../lib/nact.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const CHUNK = 1000;
const WINDOW = 2;
const SEND_1_TOTAL = 3_000_000;
const SEND_N_PAIRS = 2;
const SEND_N_TOTAL = 1_000_000; // per pair
const CALL_TOTAL = 300_000;
// nact handles one message per setImmediate turn (~0.4 M msg/s): a tenth of the messages keeps
// the run short and is still ~1 s per round.
const NACT_SEND_1_TOTAL = 300_000;
const NACT_SEND_N_TOTAL = 150_000;

const GO = 'go';
const ACK = 'ack';

export const scenarios: ScenarioSpec[] = [
  {
    id: 'send-1to1',
    peers: ['ergo-ts', 'nact'],
    erlang: {
      module: 'bench_messaging',
      fun: 'send_1to1',
      args: [SEND_1_TOTAL, CHUNK, WINDOW],
      rows: { send_1to1: { group: G_MESSAGING, name: N_SEND_1, unit: 'msg/s' } },
    },
  },
  {
    id: 'send-NtoN',
    peers: ['ergo-ts', 'nact'],
    erlang: {
      module: 'bench_messaging',
      fun: 'send_nn',
      args: [SEND_N_PAIRS, SEND_N_TOTAL, CHUNK, WINDOW],
      rows: { send_nn: { group: G_MESSAGING, name: N_SEND_N, unit: 'msg/s' } },
    },
  },
  {
    id: 'call',
    peers: ['ergo-ts', 'nact'],
    erlang: {
      module: 'bench_messaging',
      fun: 'call_seq',
      args: [CALL_TOTAL],
      rows: { call_seq: { group: G_MESSAGING, name: N_CALL, unit: 'calls/s' } },
    },
  },
];

// --- ergo-ts ------------------------------------------------------------------------------------

/** Counts messages, acks every `every`, calls `done` at `total`. */
class Receiver extends Actor {
  private n = 0;
  private total = 0;
  private every = 0;
  private done: () => void = () => {};

  override init(total: number, every: number, done: () => void): void {
    this.total = total;
    this.every = every;
    this.done = done;
  }

  override handleMessage(from: PID, _message: unknown): void {
    const n = ++this.n;
    if (n === this.total) this.done();
    else if (n % this.every === 0) this.send(from, ACK);
  }
}

/** On "go" sends `window` chunks, then one chunk per ack, until `total` messages are out. */
class Sender extends Actor {
  private to!: PID;
  private sent = 0;
  private total = 0;
  private chunk = 0;
  private window = 0;

  override init(to: PID, total: number, chunk: number, window: number): void {
    this.to = to;
    this.total = total;
    this.chunk = chunk;
    this.window = window;
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message === GO) for (let w = 0; w < this.window; w++) this.burst();
    else this.burst();
  }

  private burst(): void {
    const to = this.to;
    const end = Math.min(this.sent + this.chunk, this.total);
    for (let i = this.sent; i < end; i++) this.send(to, i);
    this.sent = end;
  }
}

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

/** On "go" calls `echo` `total` times in a row, then calls `done`. */
class Caller extends Actor {
  private echo!: PID;
  private total = 0;
  private done: () => void = () => {};

  override init(echo: PID, total: number, done: () => void): void {
    this.echo = echo;
    this.total = total;
    this.done = done;
  }

  override async handleMessage(_from: PID, _message: unknown): Promise<void> {
    const echo = this.echo;
    for (let i = 0; i < this.total; i++) {
      const r = await this.call(echo, i);
      if (r !== i) throw new Error(`echo answered ${String(r)} to ${i}`);
    }
    this.done();
  }
}

function startBenchNode(): Promise<Node> {
  return startNode('bench@localhost', { log: { defaultLogger: { disable: true } } });
}

/** One round of `pairs` concurrent sender→receiver pairs; returns total msg/s. */
async function ergoSendRound(node: Node, pairs: number, perPair: number): Promise<number> {
  let left = pairs;
  const all = deferred();
  const done = (): void => {
    if (--left === 0) all.resolve();
  };
  const senders: PID[] = [];
  const spawned: PID[] = [];
  for (let p = 0; p < pairs; p++) {
    const r = await node.spawn(Receiver, {}, perPair, CHUNK, done);
    const s = await node.spawn(Sender, {}, r, perPair, CHUNK, WINDOW);
    senders.push(s);
    spawned.push(r, s);
  }
  const t0 = performance.now();
  for (const s of senders) node.send(s, GO);
  await all.promise;
  const ms = performance.now() - t0;
  for (const pid of spawned) node.kill(pid);
  return rate(pairs * perPair, ms);
}

async function ergoCallRound(node: Node, total: number): Promise<number> {
  const fin = deferred();
  const echo = await node.spawn(Echo, {});
  const caller = await node.spawn(Caller, {}, echo, total, () => fin.resolve());
  const t0 = performance.now();
  node.send(caller, GO);
  await fin.promise;
  const ms = performance.now() - t0;
  node.kill(caller);
  node.kill(echo);
  return rate(total, ms);
}

// --- nact ---------------------------------------------------------------------------------------

/** One round of `pairs` concurrent nact sender→receiver pairs; returns total msg/s. */
async function nactSendRound(pairs: number, perPair: number): Promise<number> {
  const system = nact.start();
  let left = pairs;
  const all = deferred();
  const senders: NactRef[] = [];
  for (let p = 0; p < pairs; p++) {
    let sender: NactRef | undefined;
    const receiver = nact.spawn(
      system,
      (n: number, _msg: unknown) => {
        n++;
        if (n === perPair) {
          if (--left === 0) all.resolve();
        } else if (n % CHUNK === 0) nact.dispatch(sender!, ACK);
        return n;
      },
      `receiver-${p}`,
      { initialState: 0 },
    );
    sender = nact.spawn(
      system,
      (sent: number, msg: unknown) => {
        const bursts = msg === GO ? WINDOW : 1;
        for (let b = 0; b < bursts; b++) {
          const end = Math.min(sent + CHUNK, perPair);
          for (let i = sent; i < end; i++) nact.dispatch(receiver, i);
          sent = end;
        }
        return sent;
      },
      `sender-${p}`,
      { initialState: 0 },
    );
    senders.push(sender);
  }
  const t0 = performance.now();
  for (const s of senders) nact.dispatch(s, GO);
  await all.promise;
  const ms = performance.now() - t0;
  nact.stop(system);
  return rate(pairs * perPair, ms);
}

async function nactCallRound(total: number): Promise<number> {
  const system = nact.start();
  const fin = deferred();
  const echo = nact.spawnStateless(system, (msg: { sender: NactRef; value: number }) => nact.dispatch(msg.sender, msg.value), 'echo');
  const caller = nact.spawnStateless(
    system,
    async () => {
      for (let i = 0; i < total; i++) {
        const r = await nact.query(echo, (sender: NactRef) => ({ sender, value: i }), 5000);
        if (r !== i) throw new Error(`echo answered ${String(r)} to ${i}`);
      }
      fin.resolve();
    },
    'caller',
  );
  const t0 = performance.now();
  nact.dispatch(caller, GO);
  await fin.promise;
  const ms = performance.now() - t0;
  nact.stop(system);
  return rate(total, ms);
}

// --- suite --------------------------------------------------------------------------------------

export async function messagingSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 1, quick: false };
  const want = (id: string): boolean => c.scenario === undefined || c.scenario === id;
  const chunking = `chunks of ${CHUNK}, ≤ ${WINDOW} chunks in flight`;

  if (c.peer === 'ergo-ts') {
    const node = await startBenchNode();
    try {
      if (want('send-1to1')) {
        const s = await runRounds(c, () => ergoSendRound(node, 1, SEND_1_TOTAL));
        reportSamples(report, { group: G_MESSAGING, name: N_SEND_1, unit: 'msg/s', note: `${SEND_1_TOTAL / 1e6}M msgs, ${chunking}` }, s);
      }
      if (want('send-NtoN')) {
        const s = await runRounds(c, () => ergoSendRound(node, SEND_N_PAIRS, SEND_N_TOTAL));
        reportSamples(report, { group: G_MESSAGING, name: N_SEND_N, unit: 'msg/s', note: `${SEND_N_PAIRS}×${SEND_N_TOTAL / 1e6}M msgs, one thread` }, s);
      }
      if (want('call')) {
        const s = await runRounds(c, () => ergoCallRound(node, CALL_TOTAL));
        reportSamples(report, { group: G_MESSAGING, name: N_CALL, unit: 'calls/s', note: `${CALL_TOTAL / 1e3}K calls, actor → actor` }, s);
      }
    } finally {
      await node.stopForce();
    }
    return;
  }

  if (c.peer === 'nact') {
    if (want('send-1to1')) {
      const s = await runRounds(c, () => nactSendRound(1, NACT_SEND_1_TOTAL));
      reportSamples(report, { group: G_MESSAGING, name: N_SEND_1, unit: 'msg/s', peer: 'nact', note: `${NACT_SEND_1_TOTAL / 1e3}K msgs (fewer: nact is slow), same chunking` }, s);
    }
    if (want('send-NtoN')) {
      const s = await runRounds(c, () => nactSendRound(SEND_N_PAIRS, NACT_SEND_N_TOTAL));
      reportSamples(report, { group: G_MESSAGING, name: N_SEND_N, unit: 'msg/s', peer: 'nact', note: `${SEND_N_PAIRS}×${NACT_SEND_N_TOTAL / 1e3}K msgs, same chunking` }, s);
    }
    if (want('call')) {
      const s = await runRounds(c, () => nactCallRound(CALL_TOTAL));
      reportSamples(report, { group: G_MESSAGING, name: N_CALL, unit: 'calls/s', peer: 'nact', note: 'query (one timer per query)' }, s);
    }
  }
}
