// Local messaging: one-way send 1→1 (windowed and burst), send with 8 actor classes, N→N, and
// sequential call, for ergo-ts and nact; the memory a receiver keeps after a burst; the spread of
// the windowed send over fresh processes. The Erlang peer lives in bench/erlang/bench_messaging.erl
// and the Go Ergo peer in ergo-bench (../shared/peers/ergo-bench), with the same shapes.
//
// Windowed send (every peer): a sender process sends `total` small integers to a receiver, in
// chunks of CHUNK messages with at most WINDOW chunks in flight: the receiver acks every CHUNK
// messages and each ack releases the next chunk, so mailboxes stay bounded (≤ CHUNK × WINDOW)
// whatever the scheduler's batch size. The receiver counts; the clock stops when it has counted
// `total`. The pair is spawned before the clock starts; the clock starts when the sender is told
// "go".
//
// Burst send: on "go" the sender sends `total` messages (the constant 1) back to back, no acks;
// the receiver counts (the shape of Ergo's own ping benchmark and of many real producers; the
// mailbox is unbounded and holds up to `total` messages). Clock as above.
//
// 8 actor classes: 8 windowed pairs at once, each pair of its own two classes (lib/classes8.ts),
// BURST_TOTAL / 8 messages each; figure = total msg/s. The warm-up rounds run all 8 classes.
//
// Retained after a burst: heap in use (V8 heapUsed after a forced full GC) with the pair spawned
// and idle, then after a burst has been drained, with the pair still alive: what the idle
// receiver keeps (mailbox storage grown for the burst, ...). Erlang: process_info(R, memory) of
// the receiver after garbage_collect, same before/after.
//
// Call shape: a caller process calls an echo process `total` times in a row, awaiting each reply
// (ergo-ts: this.call → handleCall; nact: query → dispatch to the temporary reference; Erlang:
// gen_server:call → handle_call; Go: Process.Call → HandleCall).

import { Actor, startNode, type Node, type PID, type Ref } from 'ergo-ts';
import { ACK, CLASS_PAIRS, GO } from '../lib/classes8.js';
import {
  G_MESSAGING,
  N_CALL,
  N_RETAINED,
  N_SEND_1,
  N_SEND_8,
  N_SEND_BURST,
  N_SEND_N,
  N_SEND_SPREAD,
  N_CALL_SPREAD,
  N_CONTROL_SEND_SPREAD,
  N_CONTROL_CALL_SPREAD,
} from '../lib/figures.js';
import {
  deferred,
  hasGC,
  heapAfterGC,
  median,
  now,
  rate,
  reportSamples,
  reportSpreadWithControl,
  runRounds,
  settle,
} from '../lib/measure.js';
import { ringWindowedRound } from '../lib/jsring.js';
import { nact, type NactRef } from '../lib/nact.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const CHUNK = 1000;
const WINDOW = 2;
const SEND_1_TOTAL = 3_000_000;
const BURST_TOTAL = 3_000_000;
const CLASSES_TOTAL = 3_000_000; // over the 8 pairs
const SEND_N_PAIRS = 2;
const SEND_N_TOTAL = 1_000_000; // per pair
const CALL_TOTAL = 300_000;
/** Fresh processes of the spread row (`--spread=N` overrides). */
const SPREAD_PROCESSES = 10;
// nact handles one message per setImmediate turn (~0.4 M msg/s): a tenth of the messages keeps
// the run short and is still ~1 s per round.
const NACT_SEND_1_TOTAL = 300_000;
const NACT_BURST_TOTAL = 300_000;
const NACT_SEND_N_TOTAL = 150_000;

export const scenarios: ScenarioSpec[] = [
  {
    id: 'send-1to1-windowed',
    // js-ring: the raw JS ring (lib/jsring.ts), the floor the "vs raw JS ring" ratio compares with.
    peers: ['ergo-ts', 'nact', 'js-ring'],
    erlang: {
      module: 'bench_messaging',
      fun: 'send_1to1',
      args: [SEND_1_TOTAL, CHUNK, WINDOW],
      rows: { send_1to1: { group: G_MESSAGING, name: N_SEND_1, unit: 'msg/s' } },
    },
    go: { scenario: 'send-1to1', group: G_MESSAGING, name: N_SEND_1, unit: 'msg/s' },
  },
  {
    id: 'send-1to1-burst',
    peers: ['ergo-ts', 'nact'],
    erlang: {
      module: 'bench_messaging',
      fun: 'send_burst',
      args: [BURST_TOTAL],
      rows: { send_burst: { group: G_MESSAGING, name: N_SEND_BURST, unit: 'msg/s' } },
    },
    go: { scenario: 'send-1to1-burst', group: G_MESSAGING, name: N_SEND_BURST, unit: 'msg/s' },
  },
  { id: 'send-8classes', peers: ['ergo-ts'] },
  {
    id: 'burst-retained',
    peers: ['ergo-ts'],
    erlang: {
      module: 'bench_messaging',
      fun: 'burst_retained',
      args: [BURST_TOTAL],
      rows: { burst_retained: { group: G_MESSAGING, name: N_RETAINED, unit: 'B', better: 'lower' } },
    },
  },
  { id: 'windowed-spread', peers: ['ergo-ts'], processes: SPREAD_PROCESSES },
  { id: 'call-spread', peers: ['ergo-ts'], processes: SPREAD_PROCESSES },
  {
    id: 'send-NtoN',
    peers: ['ergo-ts', 'nact'],
    erlang: {
      module: 'bench_messaging',
      fun: 'send_nn',
      args: [SEND_N_PAIRS, SEND_N_TOTAL, CHUNK, WINDOW],
      rows: { send_nn: { group: G_MESSAGING, name: N_SEND_N, unit: 'msg/s' } },
    },
    go: { scenario: 'send-NtoN', group: G_MESSAGING, name: N_SEND_N, unit: 'msg/s' },
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
    go: { scenario: 'call', group: G_MESSAGING, name: N_CALL, unit: 'calls/s' },
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

/** Counts messages and calls `done` at `total` (burst: no acks). */
class BurstReceiver extends Actor {
  private n = 0;
  private total = 0;
  private done: () => void = () => {};

  override init(total: number, done: () => void): void {
    this.total = total;
    this.done = done;
  }

  override handleMessage(_from: PID, _message: unknown): void {
    if (++this.n === this.total) this.done();
  }
}

/** On "go" sends `total` messages (the constant 1) back to back. */
class BurstSender extends Actor {
  private to!: PID;
  private total = 0;

  override init(to: PID, total: number): void {
    this.to = to;
    this.total = total;
  }

  override handleMessage(_from: PID, _message: unknown): void {
    const to = this.to;
    for (let i = 0; i < this.total; i++) this.send(to, 1);
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

/** A receiver class (init: total, every, done) and its sender class (init: to, total, chunk, window). */
type PairClasses = readonly [
  new () => Actor & { init(total: number, every: number, done: () => void): void },
  new () => Actor & { init(to: PID, total: number, chunk: number, window: number): void },
];

/** A round's rate and the share of its wall time the processes' `runningTime` accounts for. */
interface SendRound {
  rate: number;
  /** Σ ProcessInfo.runningTime of the round's processes ÷ the round's wall time. */
  running: number;
}

/**
 * One round of windowed pairs running at once, one per entry of `classes` (receiver class, sender
 * class), `perPair` messages each; returns total msg/s and the runningTime share.
 */
async function ergoSendRound(node: Node, classes: readonly PairClasses[], perPair: number): Promise<SendRound> {
  let left = classes.length;
  const all = deferred();
  const done = (): void => {
    if (--left === 0) all.resolve();
  };
  const senders: PID[] = [];
  const spawned: PID[] = [];
  for (const [R, S] of classes) {
    const r = await node.spawn(R, {}, perPair, CHUNK, done);
    const s = await node.spawn(S, {}, r, perPair, CHUNK, WINDOW);
    senders.push(s);
    spawned.push(r, s);
  }
  const t0 = now();
  for (const s of senders) node.send(s, GO);
  await all.promise;
  const ms = now() - t0;
  const running = runningShare(node, spawned, ms);
  for (const pid of spawned) node.kill(pid);
  return { rate: rate(classes.length * perPair, ms), running };
}

/** Σ runningTime (ns) of `pids` ÷ `ms` of wall time. */
function runningShare(node: Node, pids: readonly PID[], ms: number): number {
  let ns = 0;
  for (const pid of pids) ns += node.processInfo(pid).runningTime;
  return ns / 1e6 / ms;
}

/** One burst round: the sender sends `total` messages back to back; returns msg/s. */
async function ergoBurstRound(node: Node, total: number): Promise<SendRound> {
  const fin = deferred();
  const r = await node.spawn(BurstReceiver, {}, total, () => fin.resolve());
  const s = await node.spawn(BurstSender, {}, r, total);
  const t0 = now();
  node.send(s, GO);
  await fin.promise;
  const ms = now() - t0;
  const running = runningShare(node, [r, s], ms);
  node.kill(s);
  node.kill(r);
  return { rate: rate(total, ms), running };
}

/**
 * Heap (bytes, after a full GC) the idle pair keeps after a burst of `total` has been drained,
 * minus the same pair's heap before the burst.
 */
async function ergoRetainedRound(node: Node, total: number): Promise<number> {
  const fin = deferred();
  const r = await node.spawn(BurstReceiver, {}, total, () => fin.resolve());
  const s = await node.spawn(BurstSender, {}, r, total);
  await settle();
  const before = heapAfterGC();
  node.send(s, GO);
  await fin.promise;
  await settle(); // the receiver's last batch returns to the scheduler: both processes idle
  const after = heapAfterGC();
  node.kill(s);
  node.kill(r);
  return after - before;
}

async function ergoCallRound(node: Node, total: number): Promise<number> {
  const fin = deferred();
  const echo = await node.spawn(Echo, {});
  const caller = await node.spawn(Caller, {}, echo, total, () => fin.resolve());
  const t0 = now();
  node.send(caller, GO);
  await fin.promise;
  const ms = now() - t0;
  node.kill(caller);
  node.kill(echo);
  return rate(total, ms);
}

// --- nact ---------------------------------------------------------------------------------------

/** One nact burst round: the sender dispatches `total` messages back to back; returns msg/s. */
async function nactBurstRound(total: number): Promise<number> {
  const system = nact.start();
  const fin = deferred();
  const receiver = nact.spawn(
    system,
    (n: number, _msg: unknown) => {
      if (++n === total) fin.resolve();
      return n;
    },
    'receiver',
    { initialState: 0 },
  );
  const sender = nact.spawnStateless(
    system,
    () => {
      for (let i = 0; i < total; i++) nact.dispatch(receiver, 1);
    },
    'sender',
  );
  const t0 = now();
  nact.dispatch(sender, GO);
  await fin.promise;
  const ms = now() - t0;
  nact.stop(system);
  return rate(total, ms);
}

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
  const t0 = now();
  for (const s of senders) nact.dispatch(s, GO);
  await all.promise;
  const ms = now() - t0;
  nact.stop(system);
  return rate(pairs * perPair, ms);
}

async function nactCallRound(total: number): Promise<number> {
  const system = nact.start();
  const fin = deferred();
  const echo = nact.spawnStateless(
    system,
    (msg: { sender: NactRef; value: number }) => nact.dispatch(msg.sender, msg.value),
    'echo',
  );
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
  const t0 = now();
  nact.dispatch(caller, GO);
  await fin.promise;
  const ms = now() - t0;
  nact.stop(system);
  return rate(total, ms);
}

// --- suite --------------------------------------------------------------------------------------

/** Runs the rounds of `one`; returns the measured rates and the runningTime shares of those rounds. */
async function sendRounds(
  c: SuiteContext,
  one: () => Promise<SendRound>,
): Promise<{ rates: number[]; running: number[] }> {
  const running: number[] = [];
  const rates = await runRounds(c, async () => {
    const r = await one();
    running.push(r.running);
    return r.rate;
  });
  return { rates, running: running.slice(running.length - rates.length) };
}

const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;

export async function messagingSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 1, quick: false };
  const want = (id: string): boolean => c.scenario === undefined || c.scenario === id;
  const chunking = `chunks of ${CHUNK}, ≤ ${WINDOW} chunks in flight`;

  if (c.peer === 'ergo-ts') {
    const node = await startBenchNode();
    const one: PairClasses[] = [[Receiver, Sender]];
    try {
      if (want('send-1to1-windowed')) {
        const s = await sendRounds(c, () => ergoSendRound(node, one, SEND_1_TOTAL));
        const note = `${SEND_1_TOTAL / 1e6}M msgs, ${chunking}; Σ runningTime of the pair = ${pct(median(s.running))} of wall time`;
        reportSamples(report, { group: G_MESSAGING, name: N_SEND_1, unit: 'msg/s', note }, s.rates);
      }
      if (c.scenario === 'windowed-spread') {
        // One process of the spread: the runner starts this scenario in many fresh processes.
        // A control round (no framework code) before each round shows the machine's state.
        await reportSpreadWithControl(
          c,
          report,
          { group: G_MESSAGING, name: N_SEND_SPREAD, unit: 'msg/s', note: 'the windowed row, one fresh process each' },
          N_CONTROL_SEND_SPREAD,
          async () => (await ergoSendRound(node, one, SEND_1_TOTAL)).rate,
        );
      }
      if (want('send-1to1-burst')) {
        const s = await sendRounds(c, () => ergoBurstRound(node, BURST_TOTAL));
        const note = `${BURST_TOTAL / 1e6}M msgs back to back; Σ runningTime of the pair = ${pct(median(s.running))} of wall time`;
        reportSamples(report, { group: G_MESSAGING, name: N_SEND_BURST, unit: 'msg/s', note }, s.rates);
      }
      if (want('send-8classes')) {
        const s = await sendRounds(c, () => ergoSendRound(node, CLASS_PAIRS, CLASSES_TOTAL / CLASS_PAIRS.length));
        const note = `${CLASS_PAIRS.length} pairs at once, each its own 2 classes, ${CLASSES_TOTAL / CLASS_PAIRS.length / 1e3}K msgs each, ${chunking}`;
        reportSamples(report, { group: G_MESSAGING, name: N_SEND_8, unit: 'msg/s', note }, s.rates);
      }
      if (want('burst-retained')) {
        if (!hasGC()) throw new Error('the retained-heap row needs --expose-gc');
        // Deterministic to within a few KB: at most one warm-up and three rounds (as heap per process).
        const s = await runRounds({ ...c, rounds: Math.min(c.rounds, 3), warmup: Math.min(c.warmup, 1) }, () =>
          ergoRetainedRound(node, BURST_TOTAL),
        );
        const note = `V8 heapUsed after GC, idle pair after ${BURST_TOTAL / 1e6}M msgs − before`;
        reportSamples(report, { group: G_MESSAGING, name: N_RETAINED, unit: 'B', better: 'lower', note }, s);
      }
      if (want('send-NtoN')) {
        const s = await sendRounds(c, () =>
          ergoSendRound(
            node,
            Array.from({ length: SEND_N_PAIRS }, () => one[0]!),
            SEND_N_TOTAL,
          ),
        );
        reportSamples(
          report,
          {
            group: G_MESSAGING,
            name: N_SEND_N,
            unit: 'msg/s',
            note: `${SEND_N_PAIRS}×${SEND_N_TOTAL / 1e6}M msgs, one thread`,
          },
          s.rates,
        );
      }
      if (want('call')) {
        const s = await runRounds(c, () => ergoCallRound(node, CALL_TOTAL));
        reportSamples(
          report,
          { group: G_MESSAGING, name: N_CALL, unit: 'calls/s', note: `${CALL_TOTAL / 1e3}K calls, actor → actor` },
          s,
        );
      }
      if (c.scenario === 'call-spread') {
        // One process of the call spread (as windowed-spread), with the control before each round.
        await reportSpreadWithControl(
          c,
          report,
          { group: G_MESSAGING, name: N_CALL_SPREAD, unit: 'calls/s', note: 'the call row, one fresh process each' },
          N_CONTROL_CALL_SPREAD,
          () => ergoCallRound(node, CALL_TOTAL),
        );
      }
    } finally {
      await node.stopForce();
    }
    return;
  }

  if (c.peer === 'js-ring') {
    if (want('send-1to1-windowed')) {
      const s = await runRounds(c, async () =>
        rate(SEND_1_TOTAL, await ringWindowedRound(SEND_1_TOTAL, CHUNK, WINDOW, now)),
      );
      const note = `${SEND_1_TOTAL / 1e6}M msgs, ${chunking}; plain objects with array mailboxes, one run queue, batches of 64, no framework`;
      reportSamples(report, { group: G_MESSAGING, name: N_SEND_1, unit: 'msg/s', peer: 'js-ring', note }, s);
    }
    return;
  }

  if (c.peer === 'nact') {
    if (want('send-1to1-windowed')) {
      const s = await runRounds(c, () => nactSendRound(1, NACT_SEND_1_TOTAL));
      reportSamples(
        report,
        {
          group: G_MESSAGING,
          name: N_SEND_1,
          unit: 'msg/s',
          peer: 'nact',
          note: `${NACT_SEND_1_TOTAL / 1e3}K msgs (fewer: nact is slow), same chunking`,
        },
        s,
      );
    }
    if (want('send-1to1-burst')) {
      const s = await runRounds(c, () => nactBurstRound(NACT_BURST_TOTAL));
      reportSamples(
        report,
        {
          group: G_MESSAGING,
          name: N_SEND_BURST,
          unit: 'msg/s',
          peer: 'nact',
          note: `${NACT_BURST_TOTAL / 1e3}K msgs back to back (fewer: nact is slow)`,
        },
        s,
      );
    }
    if (want('send-NtoN')) {
      const s = await runRounds(c, () => nactSendRound(SEND_N_PAIRS, NACT_SEND_N_TOTAL));
      reportSamples(
        report,
        {
          group: G_MESSAGING,
          name: N_SEND_N,
          unit: 'msg/s',
          peer: 'nact',
          note: `${SEND_N_PAIRS}×${NACT_SEND_N_TOTAL / 1e3}K msgs, same chunking`,
        },
        s,
      );
    }
    if (want('call')) {
      const s = await runRounds(c, () => nactCallRound(CALL_TOTAL));
      reportSamples(
        report,
        { group: G_MESSAGING, name: N_CALL, unit: 'calls/s', peer: 'nact', note: 'query (one timer per query)' },
        s,
      );
    }
  }
}
