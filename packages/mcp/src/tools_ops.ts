// The operator's views that Erlang's observer and Phoenix LiveDashboard have and Go Ergo's MCP
// application has not (issue 63 item 4), named in Go's style (group_verb): `process_top`
// (processes by time in handlers, mailbox or messages, over an interval), `supervisor_history`
// (a supervisor's child exits and restarts, a panicked child's error with them), `process_crashes`
// (the node's recent crashes, kept after the processes ended), `log_search` (text, level, process, time range over
// the log ring), `process_trace` / `app_trace` (the message trace of several processes, or of an
// application, under caps) and `meta_overview` (every meta process and connection with its
// traffic). The Observer shows the same views (docs/observer.md).

import {
  GROUP_TRACE_COUNT,
  GROUP_TRACE_PROCESSES,
  GROUP_TRACE_RATE,
  GroupTrace,
  META_OVERVIEW_LIMIT,
  ProcessID,
  RequestInspectCrashes,
  RequestInspectMailboxPeek,
  ResponseInspectCrashes,
  CRASH_HISTORY_SIZE,
  SYSTEM_INSPECT,
  applicationPIDs,
  socketOverview,
  type GroupTraceRecord,
  type InspectProcessShortInfo,
  type PID,
  type RestartRecord,
} from 'ergo-ts';
import { z } from 'zod';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { message, responseError, type Target } from './inspect.js';
import { parsePID } from './json.js';
import { LogSearch, type LogSearchAnswer } from './logring.js';
import { common, inspectStateOf, pidOf, row, rowsOf, target, timeoutOf, type ToolSpec } from './tools.js';

/** Longest `process_trace` / `app_trace` run (seconds): the call waits for it. */
export const TRACE_TOOL_SECONDS = { default: 5, max: 30 };
/** Default and largest `process_top` interval (ms). */
export const TOP_INTERVAL = { default: 1000, max: 10_000 };

const TOP_SORT = ['running_time', 'mailbox', 'messages_in', 'messages_out'] as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A `process_top` row: the process, and its rates over the interval when there was one. */
function topRow(p: InspectProcessShortInfo, before: InspectProcessShortInfo | undefined, seconds: number) {
  const base = row(p);
  if (seconds <= 0) return base;
  const ran = before === undefined ? 0 : Math.max(0, Number(p.runningTime) - Number(before.runningTime));
  const inDelta = before === undefined ? 0 : Math.max(0, Number(p.messagesIn) - Number(before.messagesIn));
  const outDelta = before === undefined ? 0 : Math.max(0, Number(p.messagesOut) - Number(before.messagesOut));
  return {
    ...base,
    // Milliseconds of handler time per second of the interval (10 = 1 % of a core).
    runningMsPerSec: Math.round((ran / 1e6 / seconds) * 100) / 100,
    messagesInPerSec: Math.round((inDelta / seconds) * 10) / 10,
    messagesOutPerSec: Math.round((outDelta / seconds) * 10) / 10,
  };
}

/** A time argument (ISO 8601) in ms since the epoch; 0 when absent. */
function timeArg(v: unknown, name: string): number {
  if (v === undefined || v === '') return 0;
  const t = Date.parse(String(v));
  if (!Number.isFinite(t))
    throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `${name}: not a time (ISO 8601, e.g. 2026-11-26T12:00:00Z)`);
  return t;
}

/** Refuses when the node hides message contents (`security.inspectMessages: false`): its system_inspect says. */
async function checkMessagesShown(ctx: ToolContext, t: Target, timeout: number): Promise<void> {
  let r: unknown;
  try {
    r = await ctx.node.call(
      new ProcessID(SYSTEM_INSPECT, t.node),
      new RequestInspectMailboxPeek({ pid: ctx.node.processPID(SYSTEM_INSPECT), limit: 1 }),
      { timeout },
    );
  } catch (err) {
    // No system_inspect (systemApp: false): nothing says whether messages may be shown.
    throw new McpToolError(
      'ERR_MCP_UNSUPPORTED',
      `${t.node}: its system_inspect cannot tell whether message contents may be shown: ${message(err)}`,
    );
  }
  const failed = responseError(r);
  if (failed !== null && failed.includes('inspectMessages'))
    throw new McpToolError('ERR_MCP_REFUSED', `${t.node}: ${failed}`);
}

/** Traces `pids` of this node under the group's caps until its count or time is up. */
async function traceGroup(ctx: ToolContext, t: Target, pids: PID[], args: Record<string, unknown>, named: number) {
  await checkMessagesShown(ctx, t, timeoutOf(ctx, args));
  const seconds = Number(args.duration ?? TRACE_TOOL_SECONDS.default);
  const g = new GroupTrace(ctx.node, pids, {
    maxProcesses: Number(args.max_processes ?? GROUP_TRACE_PROCESSES.default),
    rate: Number(args.rate ?? GROUP_TRACE_RATE.default),
    count: Number(args.count ?? GROUP_TRACE_COUNT.default),
    seconds,
  });
  const records: GroupTraceRecord[] = [];
  try {
    while (g.end === null) {
      await sleep(100);
      records.push(...g.drain());
    }
    records.push(...g.drain());
  } finally {
    g.stop('closed');
  }
  const names = new Map<string, string>();
  for (const tr of g.traces) {
    try {
      const name = String(ctx.node.processName(tr.pid));
      if (name !== '') names.set(String(tr.pid), name);
    } catch {
      // no name, or ended
    }
  }
  return {
    node: t.node,
    processes_named: named,
    processes_traced: g.traces.length,
    per_process_rate: g.perProcess,
    limits: g.limits,
    end: g.end,
    kept: records.length,
    dropped: g.dropped,
    skipped: g.skipped,
    processes: g.summary().map((s) => ({ ...s, name: names.get(s.pid) })),
    records: records.map((r) => ({
      pid: r.pid,
      name: names.get(r.pid),
      time: new Date(r.at).toISOString(),
      dir: r.dir,
      queue: r.queue === '' ? undefined : r.queue,
      kind: r.kind,
      peer: r.peer,
      text: r.text,
    })),
  };
}

const traceCaps = {
  max_processes: z
    .number()
    .int()
    .min(1)
    .max(GROUP_TRACE_PROCESSES.max)
    .optional()
    .describe(`Most processes traced (default ${GROUP_TRACE_PROCESSES.default}, at most ${GROUP_TRACE_PROCESSES.max})`),
  rate: z
    .number()
    .int()
    .min(1)
    .max(GROUP_TRACE_RATE.max)
    .optional()
    .describe(
      `Most records a second over all processes (default ${GROUP_TRACE_RATE.default}, at most ${GROUP_TRACE_RATE.max}); each process keeps rate ÷ processes a second, the rest are counted as dropped`,
    ),
  count: z
    .number()
    .int()
    .min(1)
    .max(GROUP_TRACE_COUNT.max)
    .optional()
    .describe(`Stop after this many records in all (default ${GROUP_TRACE_COUNT.default})`),
  duration: z
    .number()
    .int()
    .min(1)
    .max(TRACE_TOOL_SECONDS.max)
    .optional()
    .describe(
      `Seconds to trace (default ${TRACE_TOOL_SECONDS.default}, at most ${TRACE_TOOL_SECONDS.max}); the call waits`,
    ),
};

/** The operator's views (see the file comment). */
export const opsTools: ToolSpec[] = [
  {
    name: 'process_top',
    title: 'Process top',
    description:
      "The busiest processes, as Erlang's observer's top: sort_by running_time (time in handlers, Erlang's reductions), mailbox (the nearest to memory a Node process has), messages_in or messages_out. " +
      'With interval_ms > 0 (default 1000) it reads the processes twice and sorts running_time and messages by their rate over the interval (runningMsPerSec: ms of handler time per second); interval_ms 0 sorts by the totals since spawn. limit default 10',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      sort_by: z.enum(TOP_SORT).optional().describe('Sort descending by this (default running_time)'),
      interval_ms: z
        .number()
        .int()
        .min(0)
        .max(TOP_INTERVAL.max)
        .optional()
        .describe(`Milliseconds between the two readings (default ${TOP_INTERVAL.default}; 0: totals since spawn)`),
      limit: z.number().int().min(1).max(1000).optional().describe('Rows to return (default 10)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const interval = Number(args.interval_ms ?? TOP_INTERVAL.default);
      const sort = String(args.sort_by ?? 'running_time');
      const limit = Number(args.limit ?? 10);
      const startedAt = Date.now();
      const first = interval > 0 ? await rowsOf(ctx, t, timeout) : [];
      if (interval > 0) await sleep(interval);
      const now = await rowsOf(ctx, t, timeout);
      const seconds = interval > 0 ? (Date.now() - startedAt) / 1000 : 0;
      const before = new Map(first.map((p) => [String(p.pid), p]));
      const rows = now.map((p) => topRow(p, before.get(String(p.pid)), seconds) as Record<string, number>);
      const key: Record<string, string> =
        seconds > 0
          ? {
              running_time: 'runningMsPerSec',
              mailbox: 'mailbox',
              messages_in: 'messagesInPerSec',
              messages_out: 'messagesOutPerSec',
            }
          : {
              running_time: 'runningTimeMs',
              mailbox: 'mailbox',
              messages_in: 'messagesIn',
              messages_out: 'messagesOut',
            };
      const k = key[sort]!;
      rows.sort((a, b) => (b[k] ?? 0) - (a[k] ?? 0) || (b.runningTimeMs ?? 0) - (a.runningTimeMs ?? 0));
      return {
        node: t.node,
        sort_by: sort,
        interval_ms: interval,
        measured_ms: Math.round(seconds * 1000),
        total: rows.length,
        processes: rows.slice(0, limit),
      };
    },
  },
  {
    name: 'supervisor_history',
    title: 'Supervisor history',
    description:
      "A supervisor's crash and restart history: each child exit it handled (child, PID, reason, error: what a panicked child threw, time, what it did: restart, shutdown when the restart intensity was exceeded, none) with the restarts counted in the intensity window then; " +
      'its strategy, intensity and period. An ergo-ts Supervisor keeps its last 32 exits (its handleInspect reports them as restart_history)',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      pid: z.string().min(1).describe('The supervisor: PID (<CRC.0.1001>) or registered name'),
      limit: z.number().int().min(1).max(32).optional().describe('Newest exits to return (default 32, all kept)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const pid = await pidOf(ctx, t, args.pid, timeout);
      const { state } = await inspectStateOf(ctx, t, pid, [], timeout);
      const text = state.restart_history;
      if (text === undefined)
        throw new McpToolError(
          'ERR_MCP_REFUSED',
          `${t.node}: ${String(pid)} reports no restart_history (not an ergo-ts Supervisor, or its handleInspect leaves it out)`,
        );
      let history: RestartRecord[];
      try {
        history = JSON.parse(text) as RestartRecord[];
        if (!Array.isArray(history)) throw new TypeError('not a list');
      } catch (err) {
        throw new McpToolError(
          'ERR_MCP_REFUSED',
          `${t.node}: ${String(pid)} reports a malformed restart_history: ${message(err)}`,
        );
      }
      const limit = Number(args.limit ?? 32);
      return {
        node: t.node,
        pid,
        type: state.type,
        strategy: state.strategy,
        intensity: Number(state.intensity),
        period_sec: Number(state.period),
        restarts_in_window: Number(state.restarts),
        exits_recorded: Number(state.exits ?? history.length),
        history: history.slice(-limit).map((r) => ({ ...r, time: new Date(r.at).toISOString() })),
      };
    },
  },
  {
    name: 'process_crashes',
    title: 'Recent crashes',
    description:
      'The node’s recent crashes, newest first, kept after the processes ended (supervised or not): PID, registered name, behavior, parent, the exit reason (panic for a callback that threw), the error it threw and where, its stack, and when. ' +
      `An ergo-ts node keeps its last ${CRASH_HISTORY_SIZE}; pid narrows to one process (a printed PID: an ended process has no name)`,
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      pid: z.string().min(1).optional().describe('Only this process: a printed PID (<CRC.0.1001>)'),
      limit: z
        .number()
        .int()
        .min(1)
        .max(CRASH_HISTORY_SIZE)
        .optional()
        .describe(`Newest crashes to return (default ${CRASH_HISTORY_SIZE}, all kept)`),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      let pid: PID | undefined;
      if (typeof args.pid === 'string') {
        const parsed = parsePID(args.pid.trim(), t.node, t.creation);
        if (parsed === null)
          throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `pid: ${args.pid} is not a PID of ${t.node}`);
        pid = parsed;
      }
      let r: unknown;
      try {
        r = await ctx.node.call(
          new ProcessID(SYSTEM_INSPECT, t.node),
          new RequestInspectCrashes({ ...(pid === undefined ? {} : { pid }), limit: Number(args.limit ?? 0) }),
          { timeout },
        );
      } catch (err) {
        throw new McpToolError(
          'ERR_MCP_UNSUPPORTED',
          `${t.node}: its system_inspect keeps no crashes: ${message(err)}`,
        );
      }
      if (!(r instanceof ResponseInspectCrashes))
        throw new McpToolError(
          'ERR_MCP_UNSUPPORTED',
          `${t.node} keeps no crashes (not an ergo-ts node): ${responseError(r) ?? 'an odd answer'}`,
        );
      return {
        node: t.node,
        kept: r.total,
        crashes: (r.crashes ?? []).map((c) => ({
          ...c,
          at: Number(c.at),
          time: new Date(Number(c.at)).toISOString(),
          name: c.name === '' ? undefined : c.name,
          error: c.error === '' ? undefined : c.error,
          where: c.where === '' ? undefined : c.where,
          stack: c.stack === '' ? undefined : c.stack,
        })),
      };
    },
  },
  {
    name: 'log_search',
    title: 'Log search',
    description:
      "Searches the log records kept for a node (log_tail's ring: this node's from the server's start, another node's from the first time it is asked): " +
      'text in the message (case-insensitive), levels, a process (PID or registered name), a time range (from / to, ISO 8601, or last_sec). The newest `limit` matches, oldest first',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      text: z.string().max(1000).optional().describe('Text the message contains (case-insensitive; default: any)'),
      levels: z
        .array(z.enum(['trace', 'debug', 'info', 'warning', 'error', 'panic']))
        .optional()
        .describe('Levels (default: all)'),
      process: z
        .string()
        .max(200)
        .optional()
        .describe('Records of this process only: PID (<CRC.0.1001>) or registered name'),
      from: z.string().max(64).optional().describe('Records logged at or after this time (ISO 8601)'),
      to: z.string().max(64).optional().describe('Records logged at or before this time (ISO 8601)'),
      last_sec: z
        .number()
        .int()
        .min(1)
        .max(86_400)
        .optional()
        .describe('Records of the last N seconds (instead of from)'),
      limit: z.number().int().min(1).max(1000).optional().describe('Newest matches to return (default 100)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      if (args.last_sec !== undefined && args.from !== undefined)
        throw new McpToolError('ERR_MCP_BAD_ARGUMENT', 'from and last_sec: give one of them');
      const from = args.last_sec !== undefined ? Date.now() - Number(args.last_sec) * 1000 : timeArg(args.from, 'from');
      const to = timeArg(args.to, 'to');
      if (from > 0 && to > 0 && to < from) throw new McpToolError('ERR_MCP_BAD_ARGUMENT', 'to: before from');
      const ring = await ctx.ring(t, timeout);
      const ask = new LogSearch(
        typeof args.text === 'string' ? args.text : '',
        Array.isArray(args.levels) ? new Set(args.levels as string[]) : null,
        typeof args.process === 'string' ? args.process.trim() : '',
        from,
        to,
        Number(args.limit ?? 100),
      );
      const answer = (await ctx.node.call(ring, ask, { timeout: 5000 })) as LogSearchAnswer;
      return {
        ...answer,
        from: from > 0 ? new Date(from).toISOString() : undefined,
        to: to > 0 ? new Date(to).toISOString() : undefined,
      };
    },
  },
  {
    name: 'process_trace',
    title: 'Trace processes',
    description:
      'The message trace of several processes at once (what each receives and sends, with time, peer and the message as text), for `duration` seconds, under caps: max_processes, rate (records a second over all), count. ' +
      'Shows message contents: refused where the node sets security.inspectMessages false',
    action: false,
    remote: 'none',
    shape: {
      ...common,
      pids: z
        .array(z.string().min(1).max(200))
        .min(1)
        .max(GROUP_TRACE_PROCESSES.max)
        .describe('Processes: PIDs (<CRC.0.1001>) or registered names'),
      ...traceCaps,
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const names = args.pids as string[];
      const max = Number(args.max_processes ?? GROUP_TRACE_PROCESSES.default);
      if (names.length > max)
        throw new McpToolError(
          'ERR_MCP_BAD_ARGUMENT',
          `pids: ${names.length} processes named, over max_processes ${max} (raise it, up to ${GROUP_TRACE_PROCESSES.max})`,
        );
      const pids: PID[] = [];
      for (const n of names) pids.push(await pidOf(ctx, t, n, timeout));
      return traceGroup(ctx, t, pids, args, names.length);
    },
  },
  {
    name: 'app_trace',
    title: 'Trace an application',
    description:
      "The message trace of an application's processes (its members first), as process_trace: the first max_processes of them (the others are listed as skipped), under the same caps",
    action: false,
    remote: 'none',
    shape: {
      ...common,
      application: z.string().min(1).max(200).describe('Application name'),
      ...traceCaps,
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const name = String(args.application);
      let pids: PID[];
      try {
        pids = applicationPIDs(ctx.node, name);
      } catch (err) {
        throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no running application ${name}: ${message(err)}`);
      }
      if (pids.length === 0)
        throw new McpToolError('ERR_MCP_REFUSED', `${t.node}: application ${name} runs no process`);
      return { application: name, ...(await traceGroup(ctx, t, pids, args, pids.length)) };
    },
  },
  {
    name: 'meta_overview',
    title: 'Meta processes and sockets',
    description:
      'Every meta process of the node (TCP/UDP servers and connections, web servers, ports, SSE clients) with owner, state, messages in/out, mailbox, uptime, bytes in/out and address where it reports them (sorted by bytes), ' +
      'and every connection to another node with messages and bytes in/out and age',
    action: false,
    remote: 'none',
    shape: {
      ...common,
      limit: z
        .number()
        .int()
        .min(1)
        .max(META_OVERVIEW_LIMIT.max)
        .optional()
        .describe(`Meta rows to return (default ${META_OVERVIEW_LIMIT.default}); connections are all listed`),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      return socketOverview(ctx.node, Number(args.limit ?? META_OVERVIEW_LIMIT.default)).then((o) => ({
        ...o,
        node: t.node,
      }));
    },
  },
];
