// Processes: spawn rate and heap per idle process, for ergo-ts and nact (Erlang peer:
// bench/erlang/bench_processes.erl; Go Ergo peer: ergo-bench's spawn and heap).
//
// Spawn rate: spawn SPAWN_N idle processes and wait until every spawn has completed (ergo-ts:
// `node.spawn` N times, then await all the promises; nact: `spawnStateless` N times, synchronous;
// Erlang: `spawn/3` N times, synchronous). Each round uses a fresh node / actor system, started
// before the clock and stopped after it.
//
// Heap per idle process: (heap after spawning HEAP_N idle processes − heap before) / N, both
// measured after a full GC (V8 heapUsed; Erlang: erlang:memory(processes)). Nothing but the
// framework holds the processes (their PIDs/references are dropped).

import { Actor, startNode, type Node, type PID } from 'ergo-ts';
import { G_PROCESSES, N_CONTROL_SPAWN_SPREAD, N_HEAP, N_SPAWN, N_SPAWN_SPREAD } from '../lib/figures.js';
import {
  hasGC,
  heapAfterGC,
  now,
  rate,
  reportSamples,
  reportSpreadWithControl,
  runRounds,
  settle,
} from '../lib/measure.js';
import { nact } from '../lib/nact.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const SPAWN_N = 100_000;
const HEAP_N = 100_000;
/** Fresh processes of the spawn spread row (`--spread=N` overrides). */
const SPREAD_PROCESSES = 10;

export const scenarios: ScenarioSpec[] = [
  {
    id: 'spawn',
    peers: ['ergo-ts', 'nact'],
    erlang: {
      module: 'bench_processes',
      fun: 'spawn_rate',
      args: [SPAWN_N],
      rows: { spawn_rate: { group: G_PROCESSES, name: N_SPAWN, unit: 'spawns/s' } },
    },
    go: { scenario: 'spawn', group: G_PROCESSES, name: N_SPAWN, unit: 'spawns/s' },
  },
  {
    id: 'heap',
    peers: ['ergo-ts', 'nact'],
    erlang: {
      module: 'bench_processes',
      fun: 'heap_idle',
      args: [HEAP_N],
      rows: { heap_idle: { group: G_PROCESSES, name: N_HEAP, unit: 'B/process', better: 'lower' } },
    },
    // Deterministic, as in the JS peers: at most one warm-up and three rounds.
    go: {
      scenario: 'heap',
      group: G_PROCESSES,
      name: N_HEAP,
      unit: 'B/process',
      better: 'lower',
      maxRounds: 3,
      maxWarmup: 1,
    },
  },
  // The spawn row in SPREAD_PROCESSES fresh processes (see messaging's windowed-spread).
  { id: 'spawn-spread', peers: ['ergo-ts'], processes: SPREAD_PROCESSES },
];

/** An actor that does nothing: it sleeps until it is killed. */
class Idle extends Actor {}

function startBenchNode(): Promise<Node> {
  return startNode('bench@localhost', { log: { defaultLogger: { disable: true } } });
}

async function ergoSpawnN(node: Node, n: number): Promise<void> {
  const pending: Promise<PID>[] = new Array(n);
  for (let i = 0; i < n; i++) pending[i] = node.spawn(Idle);
  await Promise.all(pending);
}

async function ergoSpawnRound(n: number): Promise<number> {
  const node = await startBenchNode();
  const t0 = now();
  await ergoSpawnN(node, n);
  const ms = now() - t0;
  await node.stopForce();
  return rate(n, ms);
}

async function ergoHeapRound(n: number): Promise<number> {
  const node = await startBenchNode();
  await ergoSpawnN(node, 1000); // first process-table growth, shapes and JIT out of the way
  await settle();
  const before = heapAfterGC();
  await ergoSpawnN(node, n);
  await settle();
  const after = heapAfterGC();
  await node.stopForce();
  return (after - before) / n;
}

function noop(): void {}

// nact's anonymous names are 31-bit random numbers and collide (it throws) within 100K spawns,
// so the nact actors get names; the strings are built once, outside the measured loops (in the
// heap test they are retained before the first reading, so they do not count either).
const NAMES: string[] = Array.from({ length: Math.max(SPAWN_N, HEAP_N) }, (_, i) => `a${i}`);

async function nactSpawnRound(n: number): Promise<number> {
  const system = nact.start();
  const t0 = now();
  for (let i = 0; i < n; i++) nact.spawnStateless(system, noop, NAMES[i]);
  const ms = now() - t0;
  nact.stop(system);
  await settle();
  return rate(n, ms);
}

async function nactHeapRound(n: number): Promise<number> {
  const system = nact.start();
  for (let i = 0; i < 1000; i++) nact.spawnStateless(system, noop, `w${i}`);
  await settle();
  const before = heapAfterGC();
  for (let i = 0; i < n; i++) nact.spawnStateless(system, noop, NAMES[i]);
  await settle();
  const after = heapAfterGC();
  nact.stop(system);
  await settle();
  return (after - before) / n;
}

export async function processesSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 1, quick: false };
  const want = (id: string): boolean => c.scenario === undefined || c.scenario === id;
  const peer = c.peer;
  if (peer !== 'ergo-ts' && peer !== 'nact') return;
  const spawnRound = peer === 'ergo-ts' ? ergoSpawnRound : nactSpawnRound;
  const heapRound = peer === 'ergo-ts' ? ergoHeapRound : nactHeapRound;
  const how = peer === 'ergo-ts' ? 'node.spawn ×N, await all' : 'spawnStateless ×N, named';

  if (want('spawn')) {
    const s = await runRounds(c, () => spawnRound(SPAWN_N));
    reportSamples(
      report,
      { group: G_PROCESSES, name: N_SPAWN, unit: 'spawns/s', peer, note: `${SPAWN_N / 1e3}K idle, ${how}` },
      s,
    );
  }
  if (c.scenario === 'spawn-spread' && peer === 'ergo-ts') {
    // A control round (no framework code) before each round shows the machine's state.
    await reportSpreadWithControl(
      c,
      report,
      {
        group: G_PROCESSES,
        name: N_SPAWN_SPREAD,
        unit: 'spawns/s',
        peer,
        note: 'the spawn row, one fresh process each',
      },
      N_CONTROL_SPAWN_SPREAD,
      () => spawnRound(SPAWN_N),
    );
  }
  if (want('heap')) {
    if (!hasGC()) throw new Error('heap per process needs --expose-gc');
    // Deterministic (±0.5 %): at most one warm-up and three rounds.
    const s = await runRounds({ ...c, rounds: Math.min(c.rounds, 3), warmup: Math.min(c.warmup, 1) }, () =>
      heapRound(HEAP_N),
    );
    reportSamples(
      report,
      {
        group: G_PROCESSES,
        name: N_HEAP,
        unit: 'B/process',
        peer,
        better: 'lower',
        note: `${HEAP_N / 1e3}K idle, V8 heapUsed delta after GC`,
      },
      s,
    );
  }
}
