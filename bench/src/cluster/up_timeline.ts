// Where the cluster-scale run's "all nodes up" goes (issue 64, item 1; run.ts `--timeline`): per
// wave of starts, when the harness spawned each node, when the node's process began (`ip netns
// exec` and the exec before it), what its imports and `startNode` took in wall and CPU time (an
// ergo-ts node reports its own timeline with `ready`), and when the harness heard of it. Erlang
// nodes report only `ready`: their lines have the spawn-to-ready span alone.

import type { ScaleMember, StartTimeline } from './members.js';

/** Median of `xs` (NaN for none). */
function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** What {@link upTimeline} sums over every node (medians and totals, ms). */
export interface UpTimelineFigures {
  /** Per wave: from its first spawn until its last node's ready report reached the harness. */
  waveMs: number[];
  /** Medians over the nodes: spawn → process start, Node's own start, imports, startNode, the rest until ready, report → harness. */
  execMs: number;
  bootMs: number;
  importMs: number;
  startNodeMs: number;
  afterStartMs: number;
  reportMs: number;
  spawnToReadyMs: number;
  /** CPU medians: before the imports (Node's own start and the preload), the imports, startNode. */
  cpuBootMs: number;
  cpuImportMs: number;
  cpuStartNodeMs: number;
  /** CPU median from startNode's end until ready (the harness's two actors). */
  cpuAfterStartMs: number;
  /** Sum of every node's CPU until ready (ergo-ts), ms. */
  cpuTotalMs: number;
}

interface Mark {
  spawned: number;
  received: number;
  t: StartTimeline | undefined;
}

/**
 * Summarises the join's timeline of `members` (in start order, `wave` at a time), logging a line
 * per wave and one for the whole; `t0` is the join's start (wall-clock ms).
 */
export function upTimeline(
  members: readonly ScaleMember[],
  wave: number,
  t0: number,
  log: (line: string) => void,
): UpTimelineFigures {
  const marks: Mark[] = members.map((m) => ({
    spawned: m.spawnedAt,
    received: m.readyReceivedAt ?? NaN,
    t: m.startTimeline,
  }));
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '–');
  const s = (x: number): string => (x / 1000).toFixed(2);
  const waveMs: number[] = [];
  const per = (ms: Mark[]): Omit<UpTimelineFigures, 'waveMs' | 'cpuTotalMs'> => {
    const timed = ms.flatMap((m) => (m.t === undefined ? [] : [{ ...m, t: m.t }]));
    return {
      execMs: median(timed.map((m) => m.t.origin - m.spawned)),
      bootMs: median(timed.map((m) => m.t.booted - m.t.origin)),
      importMs: median(timed.map((m) => m.t.imported - m.t.booted)),
      startNodeMs: median(timed.map((m) => m.t.started - m.t.imported)),
      afterStartMs: median(timed.map((m) => m.t.ready - m.t.started)),
      reportMs: median(timed.map((m) => m.received - m.t.ready)),
      spawnToReadyMs: median(ms.map((m) => m.received - m.spawned)),
      cpuBootMs: median(timed.map((m) => m.t.cpuBooted)),
      cpuImportMs: median(timed.map((m) => m.t.cpuImported - m.t.cpuBooted)),
      cpuStartNodeMs: median(timed.map((m) => m.t.cpuStarted - m.t.cpuImported)),
      cpuAfterStartMs: median(timed.map((m) => m.t.cpuReady - m.t.cpuStarted)),
    };
  };
  const line = (p: ReturnType<typeof per>): string =>
    `spawn→ready ${f(p.spawnToReadyMs)} ms (exec ${f(p.execMs)}, boot ${f(p.bootMs)}, imports ${f(p.importMs)}, ` +
    `startNode ${f(p.startNodeMs)}, to ready ${f(p.afterStartMs)}, report ${f(p.reportMs)}); CPU boot ${f(p.cpuBootMs)}, ` +
    `imports ${f(p.cpuImportMs)}, startNode ${f(p.cpuStartNodeMs)}, to ready ${f(p.cpuAfterStartMs)} ms (medians)`;
  for (let i = 0; i < marks.length; i += wave) {
    const w = marks.slice(i, i + wave);
    const first = Math.min(...w.map((m) => m.spawned));
    const last = Math.max(...w.map((m) => m.received));
    waveMs.push(last - first);
    log(
      `wave ${i / wave + 1}: spawned at +${s(first - t0)} s (over ${f(Math.max(...w.map((m) => m.spawned)) - first)} ms), ` +
        `all up after ${f(last - first)} ms; ${line(per(w))}`,
    );
  }
  const all = per(marks);
  const cpuTotalMs = marks.reduce((sum, m) => sum + (m.t?.cpuReady ?? 0), 0);
  log(`all ${marks.length}: ${line(all)}; CPU until ready, summed: ${s(cpuTotalMs)} s`);
  return { waveMs, ...all, cpuTotalMs };
}
