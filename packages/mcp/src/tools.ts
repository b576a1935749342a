// The read-only tools: each turns its arguments into one question to the inspector of the node
// it names (`node`, default this one; Go Ergo nodes too) and answers with JSON. Names follow Go
// Ergo's MCP application where the tool means the same.

import {
  MessageInspectApplicationList,
  MessageInspectNode,
  MessageInspectProcess,
  MessageInspectProcessList,
  MessageInspectProcessPage,
  MessageInspectProcessState,
  RequestInspectApplicationList,
  RequestInspectNode,
  RequestInspectProcess,
  RequestInspectProcessList,
  RequestInspectProcessPage,
  RequestInspectProcessState,
  processStateString,
  type Alias,
  type Atom,
  type InspectProcessShortInfo,
  type PID,
  type ProcessState,
} from 'ergo-ts';
import { z } from 'zod';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { deadline, message, seconds, snapshot, type Target } from './inspect.js';
import { parsePID } from './json.js';

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
  /**
   * How it reaches another node when that node runs no MCP application (the cluster proxy is
   * tried first): `inspector`, its own questions to that node's system_inspect (Go nodes
   * answer them too); `none`, it cannot (ERR_MCP_UNSUPPORTED).
   */
  remote: 'inspector' | 'none';
  /** Answers a call: a JSON-able value, or throws (an McpToolError names the problem). */
  run(ctx: ToolContext, args: Record<string, unknown>): Promise<unknown>;
}

/** Arguments every tool takes. */
export const common = {
  node: z
    .string()
    .optional()
    .describe('Node to inspect (name@host): this node when absent; another one is reached through this one'),
  timeout: z
    .number()
    .int()
    .min(1)
    .max(120)
    .optional()
    .describe("Seconds to wait for the node (default 30, at most 120), as Go Ergo's proxy timeout"),
};

/** When each call's time runs out (Date.now() ms), by its arguments object: see {@link withDeadline}. */
const deadlines = new WeakMap<object, number>();

/**
 * `args` bound to end by `until` (Date.now() ms): {@link timeoutOf} then gives what is left of the
 * call's time, so what a tool does after connecting to its node (the dial, the proxy's try) waits
 * no longer than the call as a whole may take.
 */
export function withDeadline(args: Record<string, unknown>, until: number): Record<string, unknown> {
  const bound = { ...args };
  deadlines.set(bound, until);
  return bound;
}

/** Milliseconds a call of `args` may take (what is left of it, after {@link withDeadline}). */
export function timeoutOf(ctx: ToolContext, args: Record<string, unknown>): number {
  const whole = typeof args.timeout === 'number' ? args.timeout * 1000 : ctx.timeout;
  const until = deadlines.get(args);
  return until === undefined ? whole : Math.min(whole, Math.max(1, until - Date.now()));
}

/** The node `args.node` names, connected to within the call's time. */
export async function target(ctx: ToolContext, args: Record<string, unknown>): Promise<Target> {
  return ctx.reach(args.node as string | undefined, timeoutOf(ctx, args));
}

/** The first snapshot of `request` on `t`, which must be a `cls` (ERR_MCP_REFUSED: "no <what> snapshot"). */
export async function snapshotOf<T>(
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

/** The process list snapshot of `t` (the first 10,000 process ids, as Go's inspector pages). */
export function processListOf(ctx: ToolContext, t: Target, timeout: number): Promise<MessageInspectProcessList> {
  const request = new RequestInspectProcessList({ start: 1000, limit: 10_000 });
  return snapshotOf(ctx, t, request, 'process_list', timeout, MessageInspectProcessList, 'process list');
}

/** The application list snapshot of `t`. */
export function applicationListOf(
  ctx: ToolContext,
  t: Target,
  timeout: number,
): Promise<MessageInspectApplicationList> {
  const request = new RequestInspectApplicationList();
  return snapshotOf(ctx, t, request, 'app_list', timeout, MessageInspectApplicationList, 'application list');
}

/** Ergo's names of a short process row (state, a readable running time). */
export function row(p: InspectProcessShortInfo): Record<string, unknown> {
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
    : ((await processListOf(ctx, t, timeout)).processes ?? []);
  const found = rows.find((p) => p.name === s);
  if (found === undefined) throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no process registered as ${s}`);
  return found.pid;
}

/** Throws ERR_MCP_REFUSED when `t` has no application `name` (loaded or running). */
export async function knownApplication(ctx: ToolContext, t: Target, name: string, timeout: number): Promise<void> {
  const known = t.local
    ? ctx.node.applications().includes(name as Atom)
    : [...((await applicationListOf(ctx, t, timeout)).applications?.values() ?? [])].some((a) => a.name === name);
  if (!known) throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no application ${name}`);
}

/**
 * What process `pid` of `t` reports about itself (its handleInspect): asked directly on this
 * node, through the inspector on another (whose snapshot has every key: `items` filters it).
 */
export async function inspectStateOf(
  ctx: ToolContext,
  t: Target,
  pid: PID,
  items: string[],
  timeout: number,
): Promise<{ pid: PID; state: Record<string, string> }> {
  if (t.local) {
    try {
      const state = await deadline(
        ctx.node.inspect(pid, ...items),
        timeout,
        `${t.node}: ${String(pid)} did not answer its inspect request within ${seconds(timeout)} s (busy in a handler?)`,
      );
      return { pid, state };
    } catch (err) {
      if (err instanceof McpToolError) throw err;
      throw new McpToolError('ERR_MCP_REFUSED', `${t.node} refused the process_inspect request: ${message(err)}`);
    }
  }
  const m = await snapshotOf(
    ctx,
    t,
    new RequestInspectProcessState({ pid }),
    'process_inspect',
    timeout,
    MessageInspectProcessState,
    'process state',
  );
  const all = m.state ?? new Map<string, string>();
  const state: Record<string, string> = {};
  for (const [k, v] of all) if (items.length === 0 || items.includes(k)) state[k] = v;
  return { pid: m.pid, state };
}

/** Go's state names (`process_list` `state`, `process_state`'s answer). */
const STATE_NAMES: Record<number, string> = {
  1: 'Init',
  2: 'Sleep',
  4: 'Running',
  8: 'WaitResponse',
  16: 'Terminated',
  32: 'Zombee',
};

/** A process state as Go Ergo names it (`Sleep`, `WaitResponse`…). */
export function stateName(state: number): string {
  return STATE_NAMES[state] ?? processStateString(state as ProcessState);
}

/**
 * Every process row of `t`: this node's own table; another node's through its inspector (an
 * ergo-ts node's pages, a Go node's first 10 000 by PID).
 */
export async function rowsOf(ctx: ToolContext, t: Target, timeout: number): Promise<InspectProcessShortInfo[]> {
  if (t.local) {
    const out: InspectProcessShortInfo[] = [];
    ctx.node.processRangeShortInfo((p) => void out.push(p as unknown as InspectProcessShortInfo));
    return out;
  }
  if (await ctx.isErgoTS(t, timeout)) {
    const out: InspectProcessShortInfo[] = [];
    for (let offset = 0; out.length < 100_000;) {
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectProcessPage({ sort: 'pid', offset, limit: 1000 }),
        'process_list',
        timeout,
        MessageInspectProcessPage,
        'process page',
      );
      const page = m.processes ?? [];
      out.push(...page);
      offset += page.length;
      if (page.length < 1000 || offset >= Number(m.total)) break;
    }
    return out;
  }
  const m = await processListOf(ctx, t, timeout);
  return m.processes ?? [];
}

const SORT_BY = [
  'mailbox',
  'mailbox_latency',
  'running_time',
  'init_time',
  'wakeups',
  'uptime',
  'messages_in',
  'messages_out',
  'drain',
] as const;

/** Descending sort keys of Go's `sort_by` (the ones a Node process does not measure: none, so PID order). */
function sortKey(sort: string): ((p: InspectProcessShortInfo) => number) | null {
  switch (sort) {
    case 'mailbox':
      return (p) => Number(p.messagesMailbox);
    case 'running_time':
      return (p) => Number(p.runningTime);
    case 'uptime':
      return (p) => Number(p.uptime);
    case 'messages_in':
      return (p) => Number(p.messagesIn);
    case 'messages_out':
      return (p) => Number(p.messagesOut);
    case 'drain':
      // Go's drain: messages handled per message received; here what left the mailbox over what came in.
      return (p) => (Number(p.messagesIn) === 0 ? 0 : 1 - Number(p.messagesMailbox) / Number(p.messagesIn));
    default:
      return null;
  }
}

const num = (d: string) => z.number().min(0).optional().describe(d);
const int = (d: string) => z.number().int().min(0).optional().describe(d);
const pidArg = z.string().min(1).describe('Process PID (<CRC.0.1001>) or registered name');

/** The node and process tools (Go Ergo's `node` and `process` groups). */
export const processTools: ToolSpec[] = [
  {
    name: 'node_info',
    title: 'Node info',
    description:
      'A node: name, framework and version, OS, CPU cores, uptime, process counts, memory, CPU time, registered names/aliases/events, applications, loggers and log level',
    action: false,
    remote: 'inspector',
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
    name: 'node_env',
    title: 'Node environment',
    description: "The node's environment variables (name → value, as text), as Go's node_env",
    action: false,
    remote: 'none',
    shape: { ...common },
    async run(ctx) {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(ctx.node.envList())) env[k] = typeof v === 'string' ? v : JSON.stringify(v);
      return { node: ctx.node.name, env };
    },
  },
  {
    name: 'process_list',
    title: 'Process list',
    description:
      'Processes with short info (PID, name, behavior, application, state, mailbox, messages in/out, running time, uptime, parent, leader). ' +
      'Filters: application (exact), behavior and name (substring), state, minimum thresholds (min_*), max_uptime. ' +
      'sort_by sorts descending (mailbox, running_time, uptime, messages_in, messages_out, drain; mailbox_latency, init_time and wakeups are not measured on Node: PID order); default PID order. limit default 100, 0 = all',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      limit: int('Rows to return (default 100, 0 = all)'),
      application: z.string().optional().describe('Application name (exact)'),
      behavior: z.string().optional().describe('Behavior (substring)'),
      state: z.string().optional().describe('State: init, sleep, running, wait_response, terminated, zombee'),
      name: z.string().optional().describe('Registered name (substring)'),
      min_messages_in: int('Minimum messages received'),
      min_messages_out: int('Minimum messages sent'),
      min_mailbox: int('Minimum messages waiting in the mailbox'),
      min_mailbox_latency_ms: num('Minimum mailbox latency (ms): not measured on Node, matches none when above 0'),
      min_running_time_ms: num('Minimum time spent in handlers (ms)'),
      min_init_time_ms: num('Minimum init time (ms): not measured on Node, matches none when above 0'),
      min_wakeups: int('Minimum wakeups: not measured on Node, matches none when above 0'),
      min_uptime: int('Minimum uptime (s)'),
      max_uptime: int('Maximum uptime (s): recently spawned processes (restart loops)'),
      sort_by: z.enum(SORT_BY).optional().describe('Sort descending by this'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const a = args as Record<string, number | string | undefined>;
      const lower = (v: unknown): string => (typeof v === 'string' ? v.toLowerCase() : '');
      const state = lower(a.state).replace(/[ _]/g, '');
      const unmeasured =
        Number(a.min_mailbox_latency_ms ?? 0) > 0 ||
        Number(a.min_init_time_ms ?? 0) > 0 ||
        Number(a.min_wakeups ?? 0) > 0;
      const all = (await rowsOf(ctx, t, timeout)).filter(
        (p) =>
          !unmeasured &&
          (a.application === undefined || p.application === a.application) &&
          (a.behavior === undefined || p.behavior.toLowerCase().includes(lower(a.behavior))) &&
          (a.name === undefined || p.name.toLowerCase().includes(lower(a.name))) &&
          (state === '' || stateName(p.state).toLowerCase() === state) &&
          Number(p.messagesIn) >= Number(a.min_messages_in ?? 0) &&
          Number(p.messagesOut) >= Number(a.min_messages_out ?? 0) &&
          Number(p.messagesMailbox) >= Number(a.min_mailbox ?? 0) &&
          Number(p.runningTime) / 1e6 >= Number(a.min_running_time_ms ?? 0) &&
          Number(p.uptime) >= Number(a.min_uptime ?? 0) &&
          (a.max_uptime === undefined || Number(p.uptime) <= Number(a.max_uptime)),
      );
      const key = sortKey(String(a.sort_by ?? ''));
      all.sort(key === null ? (x, y) => x.pid.id - y.pid.id : (x, y) => key(y) - key(x) || x.pid.id - y.pid.id);
      const limit = Number(a.limit ?? 100);
      const shown = limit === 0 ? all : all.slice(0, limit);
      return { node: t.node, total: all.length, shown: shown.length, processes: shown.map(row) };
    },
  },
  {
    name: 'process_children',
    title: 'Process children',
    description:
      'The processes a parent spawned (by PID or registered name): its part of the supervision tree; recursive for the whole subtree',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      parent: z.string().min(1).describe('Parent process: registered name or PID'),
      recursive: z.boolean().optional().describe('The full subtree (default: direct children only)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const parent = await pidOf(ctx, t, args.parent, timeout);
      const rows = await rowsOf(ctx, t, timeout);
      const byParent = new Map<string, InspectProcessShortInfo[]>();
      for (const r of rows) {
        const k = String(r.parent);
        const list = byParent.get(k);
        if (list === undefined) byParent.set(k, [r]);
        else list.push(r);
      }
      const out: Record<string, unknown>[] = [];
      const walk = (pid: string, depth: number): void => {
        for (const c of byParent.get(pid) ?? []) {
          if (c.pid.equals(parent)) continue;
          out.push({ ...row(c), depth });
          if (args.recursive === true) walk(String(c.pid), depth + 1);
        }
      };
      walk(String(parent), 1);
      return { node: t.node, parent, recursive: args.recursive === true, children: out };
    },
  },
  {
    name: 'process_info',
    title: 'Process info',
    description:
      'One process in detail: name, behavior, application, state, mailbox queues, message counts, running time, links, monitors, aliases, events, meta processes, parent, leader, log level, environment (when the node exposes it)',
    action: false,
    remote: 'inspector',
    shape: { ...common, pid: pidArg },
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
    description: 'The state of a process: Init, Sleep, Running, WaitResponse, Terminated or Zombee',
    action: false,
    remote: 'inspector',
    shape: { ...common, pid: pidArg },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const pid = await pidOf(ctx, t, args.pid, timeout);
      if (t.local) return { node: t.node, pid, state: stateName(ctx.node.processInfo(pid).state) };
      const m = await snapshotOf(
        ctx,
        t,
        new RequestInspectProcess({ pid }),
        'process_state',
        timeout,
        MessageInspectProcess,
        'process info',
      );
      if (m.terminated) return { node: t.node, pid, state: 'Terminated' };
      return { node: t.node, pid, state: stateName(Number(m.info.state)) };
    },
  },
  {
    name: 'process_lookup',
    title: 'Process lookup',
    description: 'Resolves a registered name to its PID, or a PID to its registered name',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      name: z.string().optional().describe('Registered name to resolve to a PID'),
      pid: z.string().optional().describe('PID to resolve to its registered name'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      if (typeof args.name === 'string' && args.name !== '') {
        const pid = await pidOf(ctx, t, args.name, timeout);
        return { node: t.node, name: args.name, pid };
      }
      if (typeof args.pid !== 'string' || !args.pid.startsWith('<'))
        throw new McpToolError('ERR_MCP_BAD_ARGUMENT', 'name or pid: one of them is required');
      const pid = await pidOf(ctx, t, args.pid, timeout);
      const found = (await rowsOf(ctx, t, timeout)).find((p) => p.pid.equals(pid));
      if (found === undefined) throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no process ${args.pid}`);
      return { node: t.node, pid, name: found.name === '' ? null : found.name };
    },
  },
  {
    name: 'process_inspect',
    title: 'Process inspect',
    description:
      "What a process reports about itself (its handleInspect, Go's HandleInspect): key-value pairs; `items` asks for some keys only",
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      pid: pidArg,
      items: z.array(z.string()).optional().describe('Keys to ask for (default: all)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const pid = await pidOf(ctx, t, args.pid, timeout);
      const items = Array.isArray(args.items) ? (args.items as string[]) : [];
      return { node: t.node, ...(await inspectStateOf(ctx, t, pid, items, timeout)) };
    },
  },
  {
    name: 'meta_inspect',
    title: 'Meta process inspect',
    description:
      'What a meta process (a web server, a socket, a port…) reports about itself (its handleInspect), by its alias',
    action: false,
    remote: 'none',
    shape: {
      ...common,
      alias: z.string().min(1).describe('The meta process alias as printed (Alias#<…>)'),
      items: z.array(z.string()).optional().describe('Keys to ask for (default: all)'),
    },
    async run(ctx, args) {
      const node = ctx.node;
      const text = String(args.alias).trim();
      let found: Alias | undefined;
      for (const pid of node.processList()) {
        try {
          found = node.processInfo(pid).metas.find((m) => String(m) === text);
        } catch {
          continue; // ended meanwhile
        }
        if (found !== undefined) break;
      }
      if (found === undefined) throw new McpToolError('ERR_MCP_REFUSED', `${node.name} has no meta process ${text}`);
      const items = Array.isArray(args.items) ? (args.items as string[]) : [];
      const timeout = timeoutOf(ctx, args);
      try {
        const state = await deadline(
          node.inspectMeta(found, ...items),
          timeout,
          `${text} did not answer within ${seconds(timeout)} s`,
        );
        return { node: node.name, alias: text, state };
      } catch (err) {
        if (err instanceof McpToolError) throw err;
        throw new McpToolError('ERR_MCP_REFUSED', `${node.name} refused the meta_inspect request: ${message(err)}`);
      }
    },
  },
];
