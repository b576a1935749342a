// Go Ergo's `debug` tool group, with Node's counterparts: pprof_cpu from V8's CPU profiler and
// pprof_heap from its sampling heap profiler (node:inspector, in this process), pprof_goroutines
// as what each process is doing (running a handler, awaiting a call's response, asleep), and
// runtime_stats from the event loop, the heap and the garbage collector. Nothing runs until a
// tool is called: the CPU profiler only for the duration asked; the heap sampler and the GC
// observer from the first pprof_heap / runtime_stats call on (their figures count from then),
// until the last MCP server of this process stops.

import { Session } from 'node:inspector/promises';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import v8 from 'node:v8';

import { z } from 'zod';

import type { ToolContext } from './context.js';
import { onClose } from './closing.js';
import { detach } from './detach.js';
import { McpToolError } from './errors.js';
import { common, pidOf, rowsOf, stateName, target, timeoutOf, type ToolSpec } from './tools.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** A function's name as the profiles show it: `name (file:line)`. */
function frameName(f: CallFrame): string {
  const name = f.functionName === '' ? '(anonymous)' : f.functionName;
  if (f.url === '') return name;
  const file = f.url.replace(/^file:\/\//, '');
  return `${name} (${file}:${f.lineNumber + 1})`;
}

/** Rows whose name contains `filter` and not `exclude` (substrings), the first `limit`. */
function pick<T extends { function: string }>(rows: T[], args: Record<string, unknown>, limit: number): T[] {
  const f = typeof args.filter === 'string' ? args.filter : '';
  const x = typeof args.exclude === 'string' && args.exclude !== '' ? args.exclude : null;
  return rows.filter((r) => r.function.includes(f) && (x === null || !r.function.includes(x))).slice(0, limit);
}

let cpuBusy = false;

interface CpuNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

/** A V8 CPU profile, as `Profiler.stop` returns it (times in microseconds). */
interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * Self and total (self plus callees) milliseconds by function, from the samples of the last
 * `windowMs` of a V8 CPU profile (the whole profile when it is shorter). The profile starts
 * before `Profiler.start` returns — V8 first records every function already compiled, which takes
 * from a tenth of a second to seconds in a large process — so its own window is longer than the
 * time asked; the last `windowMs` is the time asked, measured by the profile's own clock.
 */
function cpuTop(profile: CpuProfile, windowMs: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const from = Math.max(profile.startTime, profile.endTime - windowMs * 1000);
  const hits = new Map<number, number>();
  let samples = 0;
  let at = profile.startTime;
  const ids = profile.samples ?? [];
  for (let i = 0; i < ids.length; i++) {
    at += profile.timeDeltas?.[i] ?? 0;
    if (at < from) continue;
    hits.set(ids[i]!, (hits.get(ids[i]!) ?? 0) + 1);
    samples++;
  }
  const sampledMs = (profile.endTime - from) / 1000;
  const perSample = samples === 0 ? 0 : sampledMs / samples;
  const total = new Map<number, number>();
  const totalOf = (id: number): number => {
    const known = total.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id)!;
    let t = hits.get(id) ?? 0;
    for (const c of n.children ?? []) t += totalOf(c);
    total.set(id, t);
    return t;
  };
  const byFn = new Map<string, { self: number; total: number }>();
  for (const n of profile.nodes) {
    const name = frameName(n.callFrame);
    const e = byFn.get(name) ?? { self: 0, total: 0 };
    e.self += hits.get(n.id) ?? 0;
    e.total = Math.max(e.total, totalOf(n.id)); // recursion: the outermost frame's total
    byFn.set(name, e);
  }
  return {
    samples,
    sampledMs,
    profiledMs: (profile.endTime - profile.startTime) / 1000,
    rows: [...byFn.entries()]
      .filter(([name, e]) => name !== '(root)' && e.total > 0)
      .map(([name, e]) => ({
        function: name,
        self_ms: +(e.self * perSample).toFixed(2),
        self_pct: samples === 0 ? 0 : +((100 * e.self) / samples).toFixed(1),
        total_ms: +(e.total * perSample).toFixed(2),
        total_pct: samples === 0 ? 0 : +((100 * e.total) / samples).toFixed(1),
      }))
      .sort((a, b) => b.self_ms - a.self_ms || b.total_ms - a.total_ms),
  };
}

/** The process-wide sampling heap profiler, started by the first pprof_heap. */
const heap = { session: null as Session | null, since: 0, users: new Set<ToolContext>() };
/** The GC observer, started by the first runtime_stats. */
const gc = {
  observer: null as PerformanceObserver | null,
  since: 0,
  count: 0,
  pauseMs: 0,
  users: new Set<ToolContext>(),
};

/** Ends the heap sampler and the GC observer when `ctx` was the last server using them (run when `ctx` closes). */
function releaseDebug(ctx: ToolContext): void {
  if (heap.users.delete(ctx) && heap.users.size === 0 && heap.session !== null) {
    const s = heap.session;
    heap.session = null;
    detach(() => s.post('HeapProfiler.stopSampling'), 'stopping the heap sampler', undefined, {
      error: () => undefined, // the session has gone already
      always: () => s.disconnect(),
    });
  }
  if (gc.users.delete(ctx) && gc.users.size === 0 && gc.observer !== null) {
    gc.observer.disconnect();
    gc.observer = null;
  }
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** Go's default `limit` of pprof_goroutines. */
const GOROUTINES_LIMIT = 50;

/** What a process in each state is doing, as pprof_goroutines says it. */
const DOING: Record<string, string> = {
  Init: 'in init',
  Running: 'running a handler',
  WaitResponse: "awaiting a call's response in a handler",
  Sleep: 'asleep, waiting for mail',
  Terminated: 'terminated',
  Zombee: 'killed while in a handler (zombee)',
};

const limitArg = z.number().int().min(1).max(1000).optional().describe('Rows (default 20)');
const filterArg = z.string().optional().describe('Only functions whose name contains this');
const excludeArg = z.string().optional().describe('Leave out functions whose name contains this');

/** The debug tools. */
export const debugTools: ToolSpec[] = [
  {
    name: 'pprof_cpu',
    title: 'CPU profile',
    description:
      "V8's CPU profile of this Node process for `duration` seconds (default 5, at most 30): the top functions by self time (ms, % of samples) with their total time (self plus callees)",
    action: false,
    remote: 'none',
    shape: {
      ...common,
      duration: z.number().int().min(1).max(30).optional().describe('Seconds to profile (default 5, at most 30)'),
      filter: filterArg,
      exclude: excludeArg,
      limit: limitArg,
    },
    async run(ctx, args) {
      if (cpuBusy) throw new McpToolError('ERR_MCP_REFUSED', 'a CPU profile is already being taken in this process');
      cpuBusy = true;
      const seconds = Number(args.duration ?? 5);
      const session = new Session();
      session.connect();
      try {
        await session.post('Profiler.enable');
        const asked = performance.now();
        await session.post('Profiler.start');
        const started = performance.now();
        await new Promise((r) => setTimeout(r, seconds * 1000));
        const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
        const top = cpuTop(profile, seconds * 1000);
        const rows = pick(top.rows, args, Number(args.limit ?? 20));
        return {
          node: ctx.node.name,
          duration_sec: seconds,
          // The window the figures cover, by the profile's clock: the duration asked.
          sampled_ms: +top.sampledMs.toFixed(3),
          // What V8 took to start profiling (left out of the figures).
          profiler_start_ms: +(started - asked).toFixed(1),
          samples: top.samples,
          functions: rows,
        };
      } finally {
        cpuBusy = false;
        session.disconnect();
      }
    },
  },
  {
    name: 'pprof_heap',
    title: 'Heap profile',
    description:
      "V8's sampling heap profile of this Node process: the top allocating functions by bytes still live (inuse), sampled from the first pprof_heap call on (the first call starts it and samples for a second)",
    action: false,
    remote: 'none',
    shape: { ...common, filter: filterArg, exclude: excludeArg, limit: limitArg },
    async run(ctx, args) {
      if (!heap.users.has(ctx)) onClose(ctx, () => releaseDebug(ctx));
      heap.users.add(ctx);
      if (heap.session === null) {
        const s = new Session();
        s.connect();
        heap.session = s;
        await s.post('HeapProfiler.enable');
        await s.post('HeapProfiler.startSampling', { samplingInterval: 16_384 });
        heap.since = Date.now();
        await new Promise((r) => setTimeout(r, 1000));
      }
      const { profile } = (await heap.session!.post('HeapProfiler.getSamplingProfile')) as unknown as {
        profile: { head: HeapNode };
      };
      const byFn = new Map<string, number>();
      let totalBytes = 0;
      const walk = (n: HeapNode): void => {
        if (n.selfSize > 0) {
          const name = frameName(n.callFrame);
          byFn.set(name, (byFn.get(name) ?? 0) + n.selfSize);
          totalBytes += n.selfSize;
        }
        for (const c of n.children) walk(c);
      };
      walk(profile.head);
      const rows = [...byFn.entries()]
        .map(([name, bytes]) => ({
          function: name,
          inuse_bytes: bytes,
          inuse_pct: totalBytes === 0 ? 0 : +((100 * bytes) / totalBytes).toFixed(1),
        }))
        .sort((a, b) => b.inuse_bytes - a.inuse_bytes);
      return {
        node: ctx.node.name,
        sampling_since: new Date(heap.since).toISOString(),
        inuse_bytes: totalBytes,
        functions: pick(rows, args, Number(args.limit ?? 20)),
      };
    },
  },
  {
    name: 'pprof_goroutines',
    title: 'What each process is doing',
    description:
      "Node's counterpart of Go's goroutine dump: what each process is doing (running a handler, awaiting a call's response, in init, asleep) with its mailbox. " +
      'debug 2 (default): a line per process; debug 1: a summary, how many processes of each behavior are doing each thing. ' +
      '`pid`: one process with its queues. filter/exclude match the lines; header: total N (every process), matched M (with filter/exclude), showing K',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      pid: z.string().optional().describe('One process (PID or registered name)'),
      filter: z.string().optional().describe('Only lines containing this'),
      exclude: z.string().optional().describe('Leave out lines containing this (after filter)'),
      limit: z.number().int().optional().describe('Lines after filtering (default 50; below 1: the default)'),
      debug: z
        .number()
        .int()
        .optional()
        .describe('1: summary (a count per behavior and state), 2: a line per process (default 2; below 1: 2)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      if (typeof args.pid === 'string' && args.pid !== '') {
        const pid = await pidOf(ctx, t, args.pid, timeout);
        const p = (await rowsOf(ctx, t, timeout)).find((r) => r.pid.equals(pid));
        if (p === undefined) throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no process ${args.pid}`);
        const state = stateName(p.state);
        const queues = t.local ? ctx.node.processInfo(pid).mailboxQueues : undefined;
        return {
          node: t.node,
          pid,
          name: p.name === '' ? null : p.name,
          behavior: p.behavior,
          state,
          doing: DOING[state] ?? state,
          mailbox: Number(p.messagesMailbox),
          ...(queues === undefined ? {} : { queues }),
          running_time_ms: Math.round(Number(p.runningTime) / 1e6),
        };
      }
      // Go's defaults: debug below 1 is 2, limit below 1 is 50.
      const debug = typeof args.debug === 'number' && args.debug >= 1 ? args.debug : 2;
      const limit = typeof args.limit === 'number' && args.limit >= 1 ? args.limit : GOROUTINES_LIMIT;
      const rows = await rowsOf(ctx, t, timeout);
      const doing = (state: number): string => DOING[stateName(state)] ?? stateName(state);
      let lines: string[];
      if (debug === 1) {
        // Go's debug 1 counts goroutines per stack; here processes per behavior and state.
        const groups = new Map<string, number>();
        for (const p of rows) {
          const key = `${p.behavior}: ${doing(p.state)}`;
          groups.set(key, (groups.get(key) ?? 0) + 1);
        }
        lines = [...groups.entries()]
          .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
          .map(([key, n]) => `${n} @ ${key}`);
      } else {
        lines = rows.map(
          (p) =>
            `${String(p.pid)} ${p.name === '' ? '-' : p.name} ${p.behavior}: ${doing(p.state)}, mailbox ${Number(p.messagesMailbox)}`,
        );
      }
      const f = typeof args.filter === 'string' ? args.filter : '';
      const x = typeof args.exclude === 'string' && args.exclude !== '' ? args.exclude : null;
      const matched = lines.filter((l) => l.includes(f) && (x === null || !l.includes(x)));
      const shown = matched.slice(0, limit);
      const filtered = f !== '' || x !== null;
      return {
        node: t.node,
        header: `total ${rows.length}${filtered ? `, matched ${matched.length}` : ''}, showing ${shown.length}`,
        processes: shown,
        ...(shown.length < matched.length ? { not_shown: matched.length - shown.length } : {}),
      };
    },
  },
  {
    name: 'runtime_stats',
    title: 'Runtime stats',
    description:
      'This Node process: processes, heap (used, total, limit, external, array buffers), RSS, event loop utilization, CPU time, and garbage collections (count and pause time since the first runtime_stats call)',
    action: false,
    remote: 'none',
    shape: { ...common },
    async run(ctx) {
      if (!gc.users.has(ctx)) onClose(ctx, () => releaseDebug(ctx));
      gc.users.add(ctx);
      if (gc.observer === null) {
        gc.since = Date.now();
        gc.count = 0;
        gc.pauseMs = 0;
        gc.observer = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) {
            gc.count++;
            gc.pauseMs += e.duration;
          }
        });
        gc.observer.observe({ entryTypes: ['gc'] });
      }
      const mem = process.memoryUsage();
      const h = v8.getHeapStatistics();
      const elu = performance.eventLoopUtilization();
      const cpu = process.cpuUsage();
      return {
        node: ctx.node.name,
        node_version: process.version,
        processes: ctx.node.processList().length,
        uptime_sec: Math.round(process.uptime()),
        heap_used_bytes: h.used_heap_size,
        heap_total_bytes: h.total_heap_size,
        heap_limit_bytes: h.heap_size_limit,
        external_bytes: mem.external,
        array_buffers_bytes: mem.arrayBuffers,
        rss_bytes: mem.rss,
        event_loop_utilization: +elu.utilization.toFixed(4),
        cpu_user_ms: Math.round(cpu.user / 1000),
        cpu_system_ms: Math.round(cpu.system / 1000),
        gc_count: gc.count,
        gc_pause_total_ms: +gc.pauseMs.toFixed(2),
        gc_since: new Date(gc.since).toISOString(),
      };
    },
  },
];
