// The base metrics of a node under Ergo's names (EXTRAS §6), plus Node.js' own, in one
// prom-client registry. Every Ergo metric is a Gauge (the `*_total` ones too), as in Ergo, so
// dashboards written for Go nodes (ergo-cluster.json) work unchanged.

import diagnostics from 'node:diagnostics_channel';
import os from 'node:os';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { DIAGNOSTICS, LogLevel, logLevelString, type MessageLog, type Node, type ProcessShortInfo } from 'ergo-ts';
import { TopN } from './topn.js';

/** Options of {@link ErgoCollector}. */
export interface ErgoCollectorOptions {
  /** How many processes each `*_top` family lists (Ergo's TopN, default 50). */
  topN?: number;
  /** Register prom-client's default Node.js metrics (event-loop lag, heap, GC, ...). Default true. */
  nodejs?: boolean;
}

/** Ergo's default TopN. */
export const DEFAULT_TOP_N = 50;

const DEPTH_RANGES: [number, string][] = [
  [1, '1'],
  [5, '5'],
  [10, '10'],
  [50, '50'],
  [100, '100'],
  [500, '500'],
  [1000, '1K'],
  [5000, '5K'],
  [10000, '10K'],
];
const UTIL_RANGES: [number, string][] = [
  [0.01, '1%'],
  [0.05, '5%'],
  [0.1, '10%'],
  [0.25, '25%'],
  [0.5, '50%'],
  [0.75, '75%'],
  [0.9, '90%'],
];
const PROCESS_LABELS = ['pid', 'name', 'application', 'behavior'] as const;

/** Index of the first range whose bound holds `v`; ranges.length for the overflow range. */
function rangeIndex(ranges: [number, string][], v: number): number {
  let i = 0;
  while (i < ranges.length && v > ranges[i]![0]) i++;
  return i;
}

/**
 * Collects a node's figures into `registry` on each {@link ErgoCollector.collect} (the Metrics
 * actor calls it right before a scrape is rendered). Counters Ergo keeps in the core that
 * ergo-ts does not (spawned, terminated, connections established/lost, log messages) are counted
 * here from the node's diagnostics channels and a logger, from the collector's creation on.
 *
 * Lifecycle: create once per node; {@link ErgoCollector.close} unsubscribes the channels and
 * removes the logger (the Metrics actor does it when it terminates). The registry's default
 * label `node` is set to the node's name.
 */
export class ErgoCollector {
  readonly registry: Registry;
  private readonly g = new Map<string, Gauge>();
  private readonly counts = { spawned: 0, terminated: 0, established: 0, lost: 0 };
  private readonly logCounts = new Map<string, number>();
  private readonly subs: [string, (msg: unknown) => void][] = [];
  private readonly loggerName: string;
  private elu: EventLoopUtilization;
  private closed = false;
  /** Duration of the last collect() in milliseconds. */
  lastCollectMs = 0;

  constructor(
    private readonly node: Node,
    registry?: Registry,
    private readonly options: ErgoCollectorOptions = {},
  ) {
    const topN = options.topN ?? DEFAULT_TOP_N;
    if (!Number.isInteger(topN) || topN < 0)
      throw new RangeError(`ErgoCollector: topN must be an integer ≥ 0 (got ${topN})`);
    this.registry = registry ?? new Registry();
    this.registry.setDefaultLabels({ node: node.name });
    for (const [name, help] of NODE_GAUGES) this.gauge(name, help);
    this.gauge('ergo_log_messages_total', 'Log messages by level (since metrics start)', ['level']);
    this.gauge('ergo_remote_node_uptime_seconds', 'Uptime of a connected remote node', ['remote_node']);
    for (const [name, help] of REMOTE_GAUGES) this.gauge(name, help, ['remote_node']);
    this.gauge('ergo_mailbox_depth_distribution', 'Processes by mailbox depth (empty ones not counted)', ['range']);
    this.gauge('ergo_mailbox_depth_max', 'Deepest mailbox');
    this.gauge('ergo_mailbox_depth_top', 'Processes with the deepest mailboxes', PROCESS_LABELS);
    this.gauge('ergo_process_utilization_distribution', 'Processes by running time / uptime', ['range']);
    this.gauge('ergo_process_utilization_max', 'Highest running time / uptime');
    this.gauge('ergo_process_utilization_top', 'Processes with the highest running time / uptime', PROCESS_LABELS);
    this.gauge('ergo_process_running_time_top_seconds', 'Processes with the most running time', PROCESS_LABELS);
    this.gauge('ergo_process_messages_in_top', 'Processes that received the most messages', PROCESS_LABELS);
    this.gauge('ergo_process_messages_out_top', 'Processes that sent the most messages', PROCESS_LABELS);
    this.gauge('ergo_process_messages_in', 'Messages received by all processes');
    this.gauge('ergo_process_messages_out', 'Messages sent by all processes');
    this.gauge('ergo_process_running_time_seconds', 'Running time of all processes');
    this.gauge('nodejs_eventloop_utilization', 'Event-loop utilisation (0..1) since the previous scrape');
    this.gauge('ergo_metrics_collect_seconds', 'Duration of the previous collection');
    if (options.nodejs !== false) collectDefaultMetrics({ register: this.registry });
    this.elu = performance.eventLoopUtilization();

    const mine = (m: unknown): boolean => (m as { node?: unknown }).node === node.name;
    this.subscribe(DIAGNOSTICS.spawn, (m) => mine(m) && this.counts.spawned++);
    this.subscribe(DIAGNOSTICS.terminate, (m) => mine(m) && this.counts.terminated++);
    this.subscribe(DIAGNOSTICS.networkConnect, (m) => mine(m) && this.counts.established++);
    this.subscribe(DIAGNOSTICS.networkDisconnect, (m) => mine(m) && this.counts.lost++);
    this.loggerName = `metrics_log_counter_${loggerSeq++}`;
    const levels = [LogLevel.Trace, LogLevel.Debug, LogLevel.Info, LogLevel.Warning, LogLevel.Error, LogLevel.Panic];
    node.loggerAdd(this.loggerName, { log: (m: MessageLog) => this.countLog(m) }, ...levels);
  }

  /** Reads the node and updates every gauge. Throws nothing once closed (no-op). */
  collect(): void {
    if (this.closed || !this.node.isAlive()) return;
    const t0 = performance.now();
    const info = this.node.info();
    const set = (name: string, v: number): void => this.g.get(name)!.set(v);
    set('ergo_node_uptime_seconds', info.uptime);
    set('ergo_processes_total', info.processesTotal);
    set('ergo_processes_running', info.processesRunning);
    set('ergo_processes_zombie', info.processesZombee);
    set('ergo_processes_spawned_total', this.counts.spawned);
    set('ergo_processes_terminated_total', this.counts.terminated);
    set('ergo_memory_used_bytes', info.memoryUsed);
    set('ergo_memory_alloc_bytes', info.memoryAlloc);
    set('ergo_cpu_user_seconds', info.userTime / 1e6);
    set('ergo_cpu_system_seconds', info.systemTime / 1e6);
    set('ergo_cpu_cores', cores());
    set('ergo_applications_total', info.applicationsTotal);
    set('ergo_applications_running', info.applicationsRunning);
    set('ergo_registered_names_total', info.registeredNames);
    set('ergo_registered_aliases_total', info.registeredAliases);
    set('ergo_registered_events_total', info.registeredEvents);
    set('ergo_connected_nodes_total', info.connections);
    set('ergo_connections_established_total', this.counts.established);
    set('ergo_connections_lost_total', this.counts.lost);
    const logs = this.g.get('ergo_log_messages_total')!;
    for (const [level, n] of this.logCounts) logs.set({ level }, n);
    this.collectRemotes();
    this.collectProcesses();
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    set('nodejs_eventloop_utilization', elu.utilization);
    this.lastCollectMs = performance.now() - t0;
    set('ergo_metrics_collect_seconds', this.lastCollectMs / 1000);
  }

  /** Stops counting (channels, logger). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [name, fn] of this.subs) diagnostics.unsubscribe(name, fn);
    if (this.node.isAlive()) {
      try {
        this.node.loggerDelete(this.loggerName);
      } catch {
        // already gone with the node's loggers
      }
    }
  }

  private gauge(name: string, help: string, labelNames: readonly string[] = []): void {
    this.g.set(name, new Gauge({ name, help, labelNames, registers: [this.registry] }));
  }

  private subscribe(name: string, fn: (msg: unknown) => void): void {
    diagnostics.subscribe(name, fn);
    this.subs.push([name, fn]);
  }

  private countLog(m: MessageLog): void {
    const level = logLevelString(m.level);
    this.logCounts.set(level, (this.logCounts.get(level) ?? 0) + 1);
  }

  private collectRemotes(): void {
    const gauges = REMOTE_GAUGES.map(([name]) => this.g.get(name)!);
    const uptime = this.g.get('ergo_remote_node_uptime_seconds')!;
    uptime.reset();
    for (const g of gauges) g.reset();
    let names: string[];
    try {
      names = this.node.network().nodes();
    } catch {
      return; // no network
    }
    for (const remote of names) {
      let ri;
      try {
        ri = this.node.network().node(remote).info();
      } catch {
        continue; // went away meanwhile
      }
      const l = { remote_node: remote };
      uptime.set(l, ri.uptime);
      const values = [ri.messagesIn, ri.messagesOut, ri.bytesIn, ri.bytesOut];
      gauges.forEach((g, i) => g.set(l, values[i]!));
    }
  }

  // One pass over the process table: distributions, sums and four bounded top-N heaps. No sort
  // of all processes (O(total · log N)).
  private collectProcesses(): void {
    const topN = this.options.topN ?? DEFAULT_TOP_N;
    const depth = new TopN<ProcessShortInfo>(topN);
    const util = new TopN<ProcessShortInfo>(topN);
    const running = new TopN<ProcessShortInfo>(topN);
    const mIn = new TopN<ProcessShortInfo>(topN);
    const mOut = new TopN<ProcessShortInfo>(topN);
    // Counts per range, the last slot for the overflow range (no string keys in the hot loop).
    const depthDist = new Array<number>(DEPTH_RANGES.length + 1).fill(0);
    const utilDist = new Array<number>(UTIL_RANGES.length + 1).fill(0);
    let depthMax = 0;
    let utilMax = 0;
    let sumIn = 0;
    let sumOut = 0;
    let sumRun = 0;
    this.node.processRangeShortInfo((p) => {
      const runSec = p.runningTime / 1e9;
      sumIn += p.messagesIn;
      sumOut += p.messagesOut;
      sumRun += runSec;
      if (p.messagesMailbox > 0) {
        depthDist[rangeIndex(DEPTH_RANGES, p.messagesMailbox)]!++;
        if (p.messagesMailbox > depthMax) depthMax = p.messagesMailbox;
        depth.offer(p.messagesMailbox, p);
      }
      if (p.uptime > 0 && runSec > 0) {
        const u = runSec / p.uptime;
        utilDist[rangeIndex(UTIL_RANGES, u)]!++;
        if (u > utilMax) utilMax = u;
        util.offer(u, p);
      }
      if (runSec > 0) running.offer(runSec, p);
      if (p.messagesIn > 0) mIn.offer(p.messagesIn, p);
      if (p.messagesOut > 0) mOut.offer(p.messagesOut, p);
    });
    const dist = (name: string, ranges: [number, string][], over: string, counts: number[]): void => {
      const g = this.g.get(name)!;
      ranges.forEach(([, label], i) => g.set({ range: label }, counts[i]!));
      g.set({ range: over }, counts[ranges.length]!);
    };
    dist('ergo_mailbox_depth_distribution', DEPTH_RANGES, '10K+', depthDist);
    dist('ergo_process_utilization_distribution', UTIL_RANGES, '90%+', utilDist);
    this.g.get('ergo_mailbox_depth_max')!.set(depthMax);
    this.g.get('ergo_process_utilization_max')!.set(utilMax);
    this.g.get('ergo_process_messages_in')!.set(sumIn);
    this.g.get('ergo_process_messages_out')!.set(sumOut);
    this.g.get('ergo_process_running_time_seconds')!.set(sumRun);
    this.top('ergo_mailbox_depth_top', depth);
    this.top('ergo_process_utilization_top', util);
    this.top('ergo_process_running_time_top_seconds', running);
    this.top('ergo_process_messages_in_top', mIn);
    this.top('ergo_process_messages_out_top', mOut);
  }

  private top(name: string, heap: TopN<ProcessShortInfo>): void {
    const g = this.g.get(name)!;
    g.reset(); // processes that left the top (or the node) leave the family
    for (const { score, item } of heap.sorted()) {
      g.set(
        { pid: item.pid.toString(), name: item.name, application: item.application, behavior: item.behavior },
        score,
      );
    }
  }
}

let loggerSeq = 0;

function cores(): number {
  return os.availableParallelism();
}

const NODE_GAUGES: [string, string][] = [
  ['ergo_node_uptime_seconds', 'Node uptime'],
  ['ergo_processes_total', 'Processes on the node'],
  ['ergo_processes_running', 'Processes running a handler now'],
  ['ergo_processes_zombie', 'Killed processes still running their handler'],
  ['ergo_processes_spawned_total', 'Processes spawned (since metrics start)'],
  ['ergo_processes_terminated_total', 'Processes terminated (since metrics start)'],
  ['ergo_memory_used_bytes', 'Resident set size'],
  ['ergo_memory_alloc_bytes', 'V8 heap used'],
  ['ergo_cpu_user_seconds', 'User CPU time of the OS process'],
  ['ergo_cpu_system_seconds', 'System CPU time of the OS process'],
  ['ergo_cpu_cores', 'CPU cores available'],
  ['ergo_applications_total', 'Applications loaded'],
  ['ergo_applications_running', 'Applications running'],
  ['ergo_registered_names_total', 'Registered process names'],
  ['ergo_registered_aliases_total', 'Registered aliases'],
  ['ergo_registered_events_total', 'Registered events'],
  ['ergo_connected_nodes_total', 'Remote nodes connected'],
  ['ergo_connections_established_total', 'Connections established (since metrics start)'],
  ['ergo_connections_lost_total', 'Connections lost (since metrics start)'],
];

const REMOTE_GAUGES: [string, string][] = [
  ['ergo_remote_messages_in_total', 'Messages received from a remote node'],
  ['ergo_remote_messages_out_total', 'Messages sent to a remote node'],
  ['ergo_remote_bytes_in_total', 'Bytes received from a remote node'],
  ['ergo_remote_bytes_out_total', 'Bytes sent to a remote node'],
];
