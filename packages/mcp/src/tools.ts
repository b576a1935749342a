// The read-only tools: each turns its arguments into one question to the inspector of the node
// it names (`node`, default this one; Go Ergo nodes too) and answers with JSON. Names follow Go
// Ergo's MCP application where the tool means the same.

import {
  MessageInspectApplicationList,
  MessageInspectApplicationTree,
  MessageInspectConnection,
  MessageInspectConnectionList,
  MessageInspectEventList,
  MessageInspectNetwork,
  MessageInspectNode,
  MessageInspectProcess,
  MessageInspectProcessList,
  MessageInspectProcessPage,
  MessageInspectProcessState,
  RequestInspectApplicationList,
  RequestInspectApplicationTree,
  RequestInspectConnection,
  RequestInspectConnectionList,
  RequestInspectEventList,
  RequestInspectNetwork,
  RequestInspectNode,
  RequestInspectProcess,
  RequestInspectProcessList,
  RequestInspectProcessPage,
  RequestInspectProcessState,
  applicationModeString,
  applicationStateString,
  processStateString,
  type ApplicationMode,
  type ApplicationState,
  type Atom,
  type InspectProcessShortInfo,
  type PID,
  type ProcessState,
} from 'ergo-ts';
import { z } from 'zod';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { snapshot, type Target } from './inspect.js';
import { parsePID } from './json.js';
import { LogTail, type LogTailAnswer } from './logring.js';

/** One tool: its schema (a zod shape), whether it acts, and what it does. */
export interface ToolSpec {
  /** The tool's name (Go Ergo's where the tool means the same). */
  name: string;
  /** A short human title. */
  title: string;
  /** What the tool answers, for the model. */
  description: string;
  /** An action tool changes the node; it runs only with `actions: true`. */
  action: boolean;
  /** Its arguments (a zod shape; the SDK checks calls against it and lists it as JSON Schema). */
  shape: z.ZodRawShape;
  /** Answers a call: a JSON-able value, or throws (an McpToolError names the problem). */
  run(ctx: ToolContext, args: Record<string, unknown>): Promise<unknown>;
}

/** Arguments every tool takes. */
export const common = {
  node: z
    .string()
    .optional()
    .describe('Node to inspect (name@host): this node when absent; another one is reached through this one'),
  timeout: z.number().int().min(1).max(60).optional().describe('Seconds to wait for the node (default 5)'),
};

/** Milliseconds a call of `args` may take. */
export function timeoutOf(ctx: ToolContext, args: Record<string, unknown>): number {
  return typeof args.timeout === 'number' ? args.timeout * 1000 : ctx.timeout;
}

async function target(ctx: ToolContext, args: Record<string, unknown>): Promise<Target> {
  return ctx.reach(args.node as string | undefined);
}

/** The first snapshot of `request` on `t`, which must be a `cls` (ERR_MCP_REFUSED: "no <what> snapshot"). */
async function snapshotOf<T>(
  ctx: ToolContext,
  t: Target,
  request: unknown,
  tool: string,
  timeout: number,
  cls: new (...a: never[]) => T,
  what: string,
): Promise<T> {
  const m = await snapshot(ctx.node, t, request, tool, timeout);
  if (!(m instanceof cls)) throw new McpToolError('ERR_MCP_REFUSED', `${t.node} sent no ${what} snapshot`);
  return m;
}

/** Ergo's names of a short process row (state, a readable running time). */
function row(p: InspectProcessShortInfo): Record<string, unknown> {
  return {
    pid: p.pid,
    name: p.name === '' ? undefined : p.name,
    application: p.application === '' ? undefined : p.application,
    behavior: p.behavior,
    state: processStateString(p.state as ProcessState),
    mailbox: p.messagesMailbox,
    messagesIn: p.messagesIn,
    messagesOut: p.messagesOut,
    runningTimeMs: Math.round(Number(p.runningTime) / 1e6),
    uptimeSec: Number(p.uptime),
    parent: p.parent,
    leader: p.leader,
  };
}

/**
 * A process argument: Ergo's printed PID (`<CRC.0.1001>`) or a registered name, resolved on the
 * node it belongs to.
 */
export async function pidOf(ctx: ToolContext, t: Target, text: unknown, timeout: number): Promise<PID> {
  if (typeof text !== 'string' || text.trim() === '')
    throw new McpToolError('ERR_MCP_BAD_ARGUMENT', 'pid: a PID (<CRC.0.1001>) or a registered name is required');
  const s = text.trim();
  if (s.startsWith('<')) {
    const pid = parsePID(s, t.node, t.creation);
    if (pid === null) throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `pid: ${s} is not a PID of ${t.node}`);
    if (t.local && !ctx.alive(pid)) throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no process ${s}`);
    return pid;
  }
  if (t.local) {
    try {
      return ctx.node.processPID(s);
    } catch {
      throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no process registered as ${s}`);
    }
  }
  // Another node: its process list (ergo-ts filters by name itself; Go lists its first 10 000).
  const rows = (await ctx.isErgoTS(t, timeout))
    ? ((
        await snapshotOf(
          ctx,
          t,
          new RequestInspectProcessPage({ name: s, limit: 100 }),
          'process_list',
          timeout,
          MessageInspectProcessPage,
          'process page',
        )
      ).processes ?? [])
    : ((
        await snapshotOf(
          ctx,
          t,
          new RequestInspectProcessList({ start: 1000, limit: 10_000 }),
          'process_list',
          timeout,
          MessageInspectProcessList,
          'process list',
        )
      ).processes ?? []);
  const found = rows.find((p) => p.name === s);
  if (found === undefined) throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no process registered as ${s}`);
  return found.pid;
}

/** Throws ERR_MCP_REFUSED when `t` has no application `name` (loaded or running). */
async function knownApplication(ctx: ToolContext, t: Target, name: string, timeout: number): Promise<void> {
  const m = await snapshotOf(
    ctx,
    t,
    new RequestInspectApplicationList(),
    'app_list',
    timeout,
    MessageInspectApplicationList,
    'application list',
  );
  if (!(m.applications?.has(name as Atom) ?? false))
    throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no application ${name}`);
}

const SORTS = ['pid', 'running', 'messages', 'mailbox', 'uptime'] as const;

function sortKey(sort: string): (p: InspectProcessShortInfo) => number {
  switch (sort) {
    case 'running':
      return (p) => -Number(p.runningTime);
    case 'messages':
      return (p) => -(Number(p.messagesIn) + Number(p.messagesOut));
    case 'mailbox':
      return (p) => -Number(p.messagesMailbox);
    case 'uptime':
      return (p) => -Number(p.uptime);
    default:
      return (p) => p.pid.id;
  }
}

/** The read-only tools. */
export const readTools: ToolSpec[] = [
  {
    name: 'node_info',
    title: 'Node info',
    description:
      'A node: name, framework and version, OS, CPU cores, uptime, process counts, memory, CPU time, registered names/aliases/events, applications, loggers and log level',
    action: false,
    shape: { ...common },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectNode(),
        'node_info',
        timeout,
        MessageInspectNode,
        'node info',
      );
      ctx.noteFramework(t.node, m.info.framework.name);
      return { node: t.node, local: t.local, creation: t.creation, ...m.info };
    },
  },
  {
    name: 'process_list',
    title: 'Process list',
    description:
      'Processes of a node with their name, application, behavior, state, mailbox, messages in/out, running time and uptime; ' +
      'filters (substring name/behavior/application, state, minMailbox), sort (pid ascending; running, messages, mailbox, uptime descending), offset and limit',
    action: false,
    shape: {
      ...common,
      name: z.string().optional().describe('Registered names containing this (case-insensitive)'),
      behavior: z.string().optional().describe('Behaviors containing this (case-insensitive)'),
      application: z.string().optional().describe('Applications containing this (case-insensitive)'),
      state: z.string().optional().describe('A state: sleep, running, wait response, init, terminated, zombee'),
      minMailbox: z
        .number()
        .int()
        .min(0)
        .optional()
        .describe('Only processes with at least this many waiting messages'),
      sort: z.enum(SORTS).optional().describe('Order (default pid)'),
      offset: z.number().int().min(0).optional().describe('Rows to skip (default 0)'),
      limit: z.number().int().min(1).max(1000).optional().describe('Rows to return (default 100, at most 1000)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const f = {
        name: (args.name as string | undefined) ?? '',
        behavior: (args.behavior as string | undefined) ?? '',
        application: (args.application as string | undefined) ?? '',
        state: (args.state as string | undefined) ?? '',
        minMailbox: (args.minMailbox as number | undefined) ?? 0,
      };
      const sort = (args.sort as string | undefined) ?? 'pid';
      const offset = (args.offset as number | undefined) ?? 0;
      const limit = (args.limit as number | undefined) ?? 100;
      if (await ctx.isErgoTS(t, timeout)) {
        const m = await snapshotOf(
          ctx,
          t,
          new RequestInspectProcessPage({ ...f, sort, offset, limit }),
          'process_list',
          timeout,
          MessageInspectProcessPage,
          'process page',
        );
        return { node: t.node, total: m.total, offset: m.offset, processes: (m.processes ?? []).map(row) };
      }
      // A Go node: its PID-ordered list of the first 10 000 processes, filtered and sorted here.
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectProcessList({ start: 1000, limit: 10_000 }),
        'process_list',
        timeout,
        MessageInspectProcessList,
        'process list',
      );
      const has = (v: string, part: string): boolean => part === '' || v.toLowerCase().includes(part.toLowerCase());
      const state = f.state.toLowerCase();
      const all = (m.processes ?? []).filter(
        (p) =>
          has(p.name, f.name) &&
          has(p.behavior, f.behavior) &&
          has(p.application, f.application) &&
          (state === '' || processStateString(p.state as ProcessState).toLowerCase() === state) &&
          Number(p.messagesMailbox) >= f.minMailbox,
      );
      const key = sortKey(sort);
      all.sort((a, b) => key(a) - key(b) || a.pid.id - b.pid.id);
      return {
        node: t.node,
        total: all.length,
        offset,
        processes: all.slice(offset, offset + limit).map(row),
        note: 'a Go node: its first 10 000 processes by PID, filtered and sorted by the MCP server',
      };
    },
  },
  {
    name: 'process_info',
    title: 'Process info',
    description:
      'One process in detail: name, behavior, application, state, mailbox queues, message counts, running time, links, monitors, aliases, events, meta processes, parent, leader, log level, environment (when the node exposes it)',
    action: false,
    shape: { ...common, pid: z.string().describe('The PID (<CRC.0.1001>) or registered name') },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const pid = await pidOf(ctx, t, args.pid, timeout);
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectProcess({ pid }),
        'process_info',
        timeout,
        MessageInspectProcess,
        'process info',
      );
      // The inspector's last word about a process that ended (it may come before or instead of a
      // plain end of the inspector, whichever the race gives): the same answer either way.
      if (m.terminated) throw new McpToolError('ERR_MCP_REFUSED', `${t.node}: process ${String(pid)} has ended`);
      return { node: t.node, ...m.info };
    },
  },
  {
    name: 'process_state',
    title: 'Process state',
    description: "What a process reports about itself (its handleInspect / Go's HandleInspect): key-value pairs",
    action: false,
    shape: { ...common, pid: z.string().describe('The PID (<CRC.0.1001>) or registered name') },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const pid = await pidOf(ctx, t, args.pid, timeout);
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectProcessState({ pid }),
        'process_state',
        timeout,
        MessageInspectProcessState,
        'process state',
      );
      return { node: t.node, pid: m.pid, state: m.state ?? {} };
    },
  },
  {
    name: 'app_list',
    title: 'Applications',
    description:
      'Applications of a node: state, mode, version, description, dependencies, weight, uptime, group processes',
    action: false,
    shape: { ...common },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectApplicationList(),
        'app_list',
        timeoutOf(ctx, args),
        MessageInspectApplicationList,
        'application list',
      );
      const apps = [...(m.applications?.values() ?? [])].map((a) => ({
        ...a,
        state: applicationStateString(a.state as ApplicationState),
        mode: applicationModeString(a.mode as ApplicationMode),
      }));
      return { node: t.node, applications: apps };
    },
  },
  {
    name: 'app_processes',
    title: 'Application processes',
    description: "The processes of one application (its supervision tree: draw it from each row's parent)",
    action: false,
    shape: {
      ...common,
      application: z.string().min(1).describe('The application name'),
      limit: z.number().int().min(1).max(10_000).optional().describe('Rows (default 1000)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const request = new RequestInspectApplicationTree({
        application: args.application as Atom,
        limit: (args.limit as number | undefined) ?? 1000,
      });
      const m = await snapshotOf(
        ctx,
        t,
        request,
        'app_processes',
        timeoutOf(ctx, args),
        MessageInspectApplicationTree,
        'application tree',
      );
      // The tree of an unknown application is empty, as a stopped one's: the list tells them apart.
      if ((m.processes ?? []).length === 0)
        await knownApplication(ctx, t, args.application as string, timeoutOf(ctx, args));
      return { node: t.node, application: m.application, processes: (m.processes ?? []).map(row) };
    },
  },
  {
    name: 'event_list',
    title: 'Events',
    description:
      'Registered events of a node: producer, notify, buffer, subscribers, messages published (ergo-ts nodes; a Go Ergo 3.2 node has no such query)',
    action: false,
    shape: {
      ...common,
      name: z.string().optional().describe('Event names containing this'),
      limit: z.number().int().min(1).max(100_000).optional().describe('Rows (default 500)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      if (!(await ctx.isErgoTS(t, timeout)))
        throw new McpToolError('ERR_MCP_UNSUPPORTED', `${t.node} is a Go Ergo node: it has no event-list query`);
      const request = new RequestInspectEventList({
        name: (args.name as string | undefined) ?? '',
        limit: (args.limit as number | undefined) ?? 500,
      });
      const m = await snapshotOf(ctx, t, request, 'event_list', timeout, MessageInspectEventList, 'event list');
      return { node: t.node, events: m.events ?? [] };
    },
  },
  {
    name: 'network_info',
    title: 'Network',
    description:
      'The network of a node: mode, registrar, acceptors (listening ports), static and proxy routes, connected nodes, flags, handshake and protocol versions',
    action: false,
    shape: { ...common },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectNetwork(),
        'network_info',
        timeoutOf(ctx, args),
        MessageInspectNetwork,
        'network',
      );
      return { node: t.node, stopped: m.stopped, ...(m.info ?? {}) };
    },
  },
  {
    name: 'network_nodes',
    title: 'Connected nodes',
    description:
      'The nodes a node is connected to, with traffic (messages and bytes in/out), pool size and uptime (on a Go Ergo node: their names)',
    action: false,
    shape: { ...common, name: z.string().optional().describe('Node names containing this') },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const part = (args.name as string | undefined) ?? '';
      if (await ctx.isErgoTS(t, timeout)) {
        const m = await snapshotOf(
          ctx,
          t,
          new RequestInspectConnectionList({ limit: -1, name: part }),
          'network_nodes',
          timeout,
          MessageInspectConnectionList,
          'connection list',
        );
        return { node: t.node, connections: m.connections ?? [] };
      }
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectNetwork(),
        'network_nodes',
        timeout,
        MessageInspectNetwork,
        'network',
      );
      const nodes = (m.info?.nodes ?? []).filter((n) => n.includes(part));
      return { node: t.node, nodes, note: 'a Go node: ask network_node_info for the traffic of one' };
    },
  },
  {
    name: 'network_node_info',
    title: 'Connection',
    description:
      'The connection of a node to one remote node: versions, flags, pool, messages and bytes in/out, uptime',
    action: false,
    shape: { ...common, remote: z.string().min(1).describe('The remote node (name@host) the connection goes to') },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const request = new RequestInspectConnection({ remoteNode: args.remote as Atom });
      const m = await snapshotOf(
        ctx,
        t,
        request,
        'network_node_info',
        timeoutOf(ctx, args),
        MessageInspectConnection,
        'connection',
      );
      return { node: t.node, disconnected: m.disconnected, connection: m.info ?? null };
    },
  },
  {
    name: 'log_tail',
    title: 'Log tail',
    description:
      "The newest log records of a node (node, process, meta and network records). This node's log is kept from the start; " +
      "another node's from the first time it is asked (ask again, or wait, for what comes next). `since` gives only records after that sequence number",
    action: false,
    shape: {
      ...common,
      levels: z
        .array(z.enum(['trace', 'debug', 'info', 'warning', 'error', 'panic']))
        .optional()
        .describe('Levels to show (all when absent)'),
      limit: z.number().int().min(1).max(1000).optional().describe('Newest records to return (default 100)'),
      since: z
        .number()
        .int()
        .min(0)
        .optional()
        .describe('Only records with a larger sequence number (from `last` of an earlier answer)'),
      wait: z
        .number()
        .int()
        .min(0)
        .max(30)
        .optional()
        .describe('Seconds to wait for a first record when there is none (default 0)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const ring = await ctx.ring(t, timeout);
      const levels = Array.isArray(args.levels) ? new Set(args.levels as string[]) : null;
      const waitMs = ((args.wait as number | undefined) ?? 0) * 1000;
      const ask = new LogTail(
        levels,
        (args.limit as number | undefined) ?? 100,
        (args.since as number | undefined) ?? 0,
        waitMs,
      );
      const answer = (await ctx.node.call(ring, ask, { timeout: waitMs + 5000 })) as LogTailAnswer;
      return answer;
    },
  },
];
