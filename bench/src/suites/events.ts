// Events, links and monitors (Erlang peer: bench/erlang/bench_events.erl; Go Ergo peer: ergo-bench's
// fanout, the same shape as ergo-ts: node.SendEvent to MonitorEvent subscribers).
//
// Event fan-out: SUBSCRIBERS local processes subscribe (monitorEvent) to one event; the producer
// publishes PUBLISHES messages back to back; every subscriber counts its deliveries in a shared
// counter and the clock stops at SUBSCRIBERS × PUBLISHES deliveries. Figure: deliveries/s.
// Subscribing happens before the clock. ergo-ts: the node is the producer (node.sendEvent); nact
// has no pub/sub: the producer dispatches to every subscriber; Erlang: the producer sends to every
// subscriber pid in a loop (what pg does underneath), subscribers count in an atomics counter.
//
// Link/monitor pair: a watcher process creates a monitor (or a link, with trap-exit on) to each of
// RELATIONS_N live processes and tells each to stop; the clock stops when the watcher has received
// all RELATIONS_N down (or exit) messages. Figure: pairs/s (create + notify, including the target's
// termination). A baseline row measures the stops alone (no relation; completion counted in the
// targets' terminate), so the relation's own cost is the difference. Targets are spawned before
// the clock, a fresh set each round. nact has neither links nor monitors.

import {
  Actor,
  Event,
  MessageDownPID,
  MessageExitPID,
  startNode,
  TerminateReasonNormal,
  type MessageEvent,
  type Node,
  type PID,
} from 'ergo-ts';
import { G_EVENTS, N_FANOUT, N_LINK, N_MONITOR, N_STOP } from '../lib/figures.js';
import { deferred, gc, now, rate, reportSamples, runRounds, settle } from '../lib/measure.js';
import { nact, type NactRef } from '../lib/nact.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const SUBSCRIBERS = 100_000;
const PUBLISHES = 10;
const NACT_PUBLISHES = 2; // nact: one setImmediate per delivery
const RELATIONS_N = 50_000;

const EVENT_NAME = 'bench.fanout';
const SUB = 'sub';
const GO = 'go';
const STOP = 'stop';

export const scenarios: ScenarioSpec[] = [
  {
    id: 'fanout',
    peers: ['ergo-ts', 'nact'],
    erlang: {
      module: 'bench_events',
      fun: 'fanout',
      args: [SUBSCRIBERS, PUBLISHES],
      rows: { fanout: { group: G_EVENTS, name: N_FANOUT, unit: 'deliveries/s' } },
    },
    go: { scenario: 'fanout', group: G_EVENTS, name: N_FANOUT, unit: 'deliveries/s' },
  },
  {
    id: 'relations',
    peers: ['ergo-ts'],
    // V8 needs ~6 rounds of 50 K spawn/monitor/terminate to reach steady state (131 K → 260 K pairs/s).
    minWarmup: 6,
    erlang: {
      module: 'bench_events',
      fun: 'relations',
      args: [RELATIONS_N],
      rows: {
        monitor: { group: G_EVENTS, name: N_MONITOR, unit: 'pairs/s' },
        link: { group: G_EVENTS, name: N_LINK, unit: 'pairs/s' },
        stop: { group: G_EVENTS, name: N_STOP, unit: 'stops/s' },
      },
    },
  },
];

function startBenchNode(): Promise<Node> {
  return startNode('bench@localhost', { log: { defaultLogger: { disable: true } } });
}

/** A countdown shared by many processes; `done` fires when it reaches zero. */
class Countdown {
  left = 0;
  private fin = deferred();
  reset(n: number): Promise<void> {
    this.left = n;
    this.fin = deferred();
    return this.fin.promise;
  }
  tick(): void {
    if (--this.left === 0) this.fin.resolve();
  }
}

// --- fan-out --------------------------------------------------------------------------------------

class Subscriber extends Actor {
  private event!: Event;
  private count!: Countdown;
  private subscribed!: Countdown;

  override init(event: Event, count: Countdown, subscribed: Countdown): void {
    this.event = event;
    this.count = count;
    this.subscribed = subscribed;
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message === SUB) {
      // monitor(event) subscribes synchronously (monitorEvent would also hand back the buffer).
      this.monitor(this.event);
      this.subscribed.tick();
    }
  }

  override handleEvent(_message: MessageEvent): void {
    this.count.tick();
  }
}

async function ergoFanout(report: Report, c: SuiteContext): Promise<void> {
  const node = await startBenchNode();
  try {
    const token = node.registerEvent(EVENT_NAME);
    const event = new Event(EVENT_NAME as Event['name'], node.name);
    const count = new Countdown();
    const subscribed = new Countdown();
    const ready = subscribed.reset(SUBSCRIBERS);
    for (let i = 0; i < SUBSCRIBERS; i++) node.send(await node.spawn(Subscriber, {}, event, count, subscribed), SUB);
    await ready;
    const s = await runRounds(c, async () => {
      const all = count.reset(SUBSCRIBERS * PUBLISHES);
      const t0 = now();
      for (let i = 0; i < PUBLISHES; i++) node.sendEvent(EVENT_NAME, token, i);
      await all;
      return rate(SUBSCRIBERS * PUBLISHES, now() - t0);
    });
    reportSamples(
      report,
      {
        group: G_EVENTS,
        name: N_FANOUT,
        unit: 'deliveries/s',
        note: `${PUBLISHES} events × ${SUBSCRIBERS / 1e3}K, node.sendEvent`,
      },
      s,
    );
  } finally {
    await node.stopForce();
  }
}

async function nactFanout(report: Report, c: SuiteContext): Promise<void> {
  const system = nact.start();
  const count = new Countdown();
  const subs: NactRef[] = new Array(SUBSCRIBERS);
  for (let i = 0; i < SUBSCRIBERS; i++) subs[i] = nact.spawnStateless(system, () => count.tick(), `s${i}`);
  const s = await runRounds(c, async () => {
    const all = count.reset(SUBSCRIBERS * NACT_PUBLISHES);
    const t0 = now();
    for (let i = 0; i < NACT_PUBLISHES; i++) {
      const m = { event: EVENT_NAME, message: i };
      for (let k = 0; k < SUBSCRIBERS; k++) nact.dispatch(subs[k]!, m);
    }
    await all;
    return rate(SUBSCRIBERS * NACT_PUBLISHES, now() - t0);
  });
  nact.stop(system);
  reportSamples(
    report,
    {
      group: G_EVENTS,
      name: N_FANOUT,
      unit: 'deliveries/s',
      peer: 'nact',
      note: `${NACT_PUBLISHES} × ${SUBSCRIBERS / 1e3}K, dispatch loop (no pub/sub)`,
    },
    s,
  );
}

// --- links and monitors -----------------------------------------------------------------------

type Mode = 'monitor' | 'link' | 'stop';

/** Stops on STOP; in baseline mode counts its own termination. */
class Target extends Actor {
  private count: Countdown | null = null;

  override init(count: Countdown | null): void {
    this.count = count;
  }

  override handleMessage(_from: PID, message: unknown): Error | undefined {
    if (message === STOP) return TerminateReasonNormal;
    return undefined;
  }

  override terminate(_reason: Error): void {
    this.count?.tick();
  }
}

/** On GO: for each target, monitor/link it and tell it to stop; counts the notifications. */
class Watcher extends Actor {
  private targets: PID[] = [];
  private mode: Mode = 'monitor';
  private count!: Countdown;

  override init(targets: PID[], mode: Mode, count: Countdown): void {
    this.targets = targets;
    this.mode = mode;
    this.count = count;
    if (mode === 'link') this.setTrapExit(true);
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message === GO) {
      const mode = this.mode;
      for (const t of this.targets) {
        if (mode === 'monitor') this.monitorPID(t);
        else if (mode === 'link') this.linkPID(t);
        this.send(t, STOP);
      }
      return;
    }
    if (message instanceof MessageDownPID || message instanceof MessageExitPID) this.count.tick();
  }
}

async function relationsRound(node: Node, mode: Mode, n: number): Promise<number> {
  const count = new Countdown();
  const targets: PID[] = new Array(n);
  for (let i = 0; i < n; i++) targets[i] = await node.spawn(Target, {}, mode === 'stop' ? count : null);
  const watcher = await node.spawn(Watcher, {}, targets, mode, count);
  const all = count.reset(n);
  // Spawning the targets leaves garbage whose collection would land in the measured interval:
  // collect it now (one forced GC after the set-up, none between rounds).
  gc();
  await settle();
  const t0 = now();
  node.send(watcher, GO);
  await all;
  const ms = now() - t0;
  node.kill(watcher);
  return rate(n, ms);
}

async function ergoRelations(report: Report, c: SuiteContext): Promise<void> {
  const node = await startBenchNode();
  try {
    const rows: [Mode, string, string, string][] = [
      ['monitor', N_MONITOR, 'pairs/s', 'monitorPID + stop → MessageDownPID'],
      ['link', N_LINK, 'pairs/s', 'linkPID (trap exit) + stop → MessageExitPID'],
      ['stop', N_STOP, 'stops/s', 'stop message → terminate()'],
    ];
    for (const [mode, name, unit, note] of rows) {
      const s = await runRounds(c, () => relationsRound(node, mode, RELATIONS_N));
      reportSamples(report, { group: G_EVENTS, name, unit, note: `${RELATIONS_N / 1e3}K, ${note}` }, s);
    }
  } finally {
    await node.stopForce();
  }
}

export async function eventsSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 1, quick: false };
  const want = (id: string): boolean => c.scenario === undefined || c.scenario === id;
  if (c.peer === 'ergo-ts') {
    if (want('fanout')) await ergoFanout(report, c);
    if (want('relations')) await ergoRelations(report, c);
  } else if (c.peer === 'nact') {
    if (want('fanout')) await nactFanout(report, c);
  }
}
