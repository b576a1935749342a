// Go Ergo's `application` and `event` tool groups: applications (list with filters, one in
// detail, its processes) and events (list with filters and sorting, one in detail). Another node
// is asked through its inspector (the application list and tree; the event list of an ergo-ts
// node: a Go Ergo 3.2 node has no event-list query).

import {
  MessageInspectApplicationTree,
  MessageInspectEventList,
  RequestInspectApplicationTree,
  RequestInspectEventList,
  applicationModeString,
  applicationStateString,
  type ApplicationMode,
  type ApplicationState,
  type Atom,
  type InspectApplicationInfo,
  type InspectEventInfo,
  type InspectProcessShortInfo,
} from 'ergo-ts';
import { z } from 'zod';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import type { Target } from './inspect.js';
import {
  applicationListOf,
  common,
  knownApplication,
  row,
  snapshotOf,
  target,
  timeoutOf,
  type ToolSpec,
} from './tools.js';

/** One application of this node as app_info and app_list show it (readable state and mode). */
function localApplication(ctx: ToolContext, name: Atom): Record<string, unknown> {
  const a = ctx.node.applicationInfo(name);
  return { ...a, state: applicationStateString(a.state), mode: applicationModeString(a.mode) };
}

/**
 * The applications of `t`, with readable state and mode: this node's read from the node itself
 * (as app_info reads them: the two always agree), another node's from its inspector.
 */
async function applicationsOf(ctx: ToolContext, t: Target, timeout: number): Promise<Record<string, unknown>[]> {
  if (t.local) {
    const out: Record<string, unknown>[] = [];
    for (const name of ctx.node.applications())
      try {
        out.push(localApplication(ctx, name));
      } catch {
        // unloaded meanwhile
      }
    return out;
  }
  const m = await applicationListOf(ctx, t, timeout);
  return [...(m.applications?.values() ?? [])].map((a: InspectApplicationInfo) => ({
    ...a,
    state: applicationStateString(a.state as ApplicationState),
    mode: applicationModeString(a.mode as ApplicationMode),
  }));
}

/** The events of `t` (ergo-ts nodes only: Go Ergo 3.2 has no event-list query). */
async function eventsOf(ctx: ToolContext, t: Target, timeout: number, name: string): Promise<InspectEventInfo[]> {
  if (!(await ctx.isErgoTS(t, timeout)))
    throw new McpToolError('ERR_MCP_UNSUPPORTED', `${t.node} is a Go Ergo node: it has no event-list query`);
  const request = new RequestInspectEventList({ name, limit: 100_000 });
  const m = await snapshotOf(ctx, t, request, 'event_list', timeout, MessageInspectEventList, 'event list');
  return m.events ?? [];
}

/** Go's derived utilization state of an event. */
function utilization(e: InspectEventInfo): string {
  const published = Number(e.published);
  const subscribers = Number(e.subscribers);
  if (published > 0 && subscribers > 0) return 'active';
  if (e.notify) return 'on_demand';
  if (published > 0) return 'no_subscribers';
  if (subscribers > 0) return 'no_publishing';
  return 'idle';
}

const int = (d: string) => z.number().int().min(0).optional().describe(d);

/** Go's default `limit` of app_processes. */
const APP_PROCESSES_LIMIT = 100;

/** The application and event tools. */
export const appTools: ToolSpec[] = [
  {
    name: 'app_list',
    title: 'Applications',
    description:
      'Applications of a node: state, mode, version, description, dependencies, weight, uptime, group processes. Filters: state, mode, name (substring), min_uptime',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      state: z.string().optional().describe('loaded, running or stopping'),
      mode: z.string().optional().describe('temporary, transient or permanent'),
      name: z.string().optional().describe('Names containing this'),
      min_uptime: int('Minimum uptime (s)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const want = (v: unknown): string => (typeof v === 'string' ? v.toLowerCase() : '');
      const apps = (await applicationsOf(ctx, t, timeoutOf(ctx, args))).filter(
        (a) =>
          (want(args.state) === '' || String(a.state).toLowerCase() === want(args.state)) &&
          (want(args.mode) === '' || String(a.mode).toLowerCase() === want(args.mode)) &&
          String(a.name).toLowerCase().includes(want(args.name)) &&
          Number(a.uptime) >= Number(args.min_uptime ?? 0),
      );
      return { node: t.node, applications: apps };
    },
  },
  {
    name: 'app_info',
    title: 'Application info',
    description:
      'One application in detail: state, mode, version, description, dependencies, environment (when the node exposes it), group processes',
    action: false,
    remote: 'inspector',
    shape: { ...common, name: z.string().min(1).describe('The application name') },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const name = String(args.name);
      if (t.local) {
        try {
          return { node: t.node, ...localApplication(ctx, name as Atom) };
        } catch {
          throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no application ${name}`);
        }
      }
      const found = (await applicationsOf(ctx, t, timeoutOf(ctx, args))).find((a) => a.name === name);
      if (found === undefined) throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no application ${name}`);
      return { node: t.node, ...found };
    },
  },
  {
    name: 'app_processes',
    title: 'Application processes',
    description:
      "The processes of one application (its supervision tree: draw it from each row's parent); none while it is loaded but not running",
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      name: z.string().min(1).describe('The application name'),
      limit: z.number().int().optional().describe('Rows (default 100; below 1: the default)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const name = String(args.name);
      const limit = typeof args.limit === 'number' && args.limit >= 1 ? args.limit : APP_PROCESSES_LIMIT;
      const request = new RequestInspectApplicationTree({ application: name as Atom, limit });
      let processes: InspectProcessShortInfo[];
      try {
        const m = await snapshotOf(
          ctx,
          t,
          request,
          'app_processes',
          timeout,
          MessageInspectApplicationTree,
          'application tree',
        );
        processes = m.processes ?? [];
      } catch (err) {
        // A Go node's tree inspector of an application that is loaded but not running ends
        // without a snapshot: that application has no processes, as app_info shows it.
        if (!(err instanceof McpToolError) || err.code !== 'ERR_MCP_REFUSED') throw err;
        await knownApplication(ctx, t, name, timeout);
        processes = [];
      }
      // The tree of an unknown application is empty, as a stopped one's: the list tells them apart.
      if (processes.length === 0) await knownApplication(ctx, t, name, timeout);
      return { node: t.node, application: name, processes: processes.slice(0, limit).map(row) };
    },
  },
  {
    name: 'event_list',
    title: 'Events',
    description:
      'Registered events: producer, notify, buffer, subscribers, messages published, utilization state. Filters by name, producer, notify, has_buffer, ' +
      'subscriber and publish thresholds, utilization_state; sort_by subscribers or published (descending). ergo-ts nodes (Go Ergo 3.2 has no event-list query)',
    action: false,
    remote: 'inspector',
    shape: {
      ...common,
      name: z.string().optional().describe('Event names containing this'),
      producer: z.string().optional().describe('Producer: PID, or registered name (substring)'),
      notify: z.boolean().optional().describe('Only events with (true) or without (false) notify'),
      has_buffer: z.boolean().optional().describe('Only buffered (true) or unbuffered (false) events'),
      min_subscribers: int('Minimum subscribers'),
      max_subscribers: int('Maximum subscribers'),
      min_published: int('Minimum messages published'),
      max_published: int('Maximum messages published'),
      min_local_sent: int('Minimum messages delivered locally (not counted on Node: matches none above 0)'),
      min_remote_sent: int('Minimum messages sent to other nodes (not counted on Node: matches none above 0)'),
      utilization_state: z
        .enum(['active', 'on_demand', 'idle', 'no_subscribers', 'no_publishing'])
        .optional()
        .describe('Derived utilization state'),
      sort_by: z
        .enum(['subscribers', 'published', 'local_sent', 'remote_sent'])
        .optional()
        .describe('Sort descending by this (local_sent, remote_sent: not counted on Node, name order)'),
      limit: z.number().int().min(0).optional().describe('Rows (default 100, 0 = all)'),
    },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const timeout = timeoutOf(ctx, args);
      const a = args as Record<string, unknown>;
      const producer = typeof a.producer === 'string' ? a.producer : '';
      const unmeasured = Number(a.min_local_sent ?? 0) > 0 || Number(a.min_remote_sent ?? 0) > 0;
      const names = new Map<string, string>();
      if (producer !== '' && !producer.startsWith('<') && t.local)
        for (const pid of ctx.node.processList())
          try {
            names.set(String(pid), ctx.node.processName(pid));
          } catch {
            // no name, or ended
          }
      const all = (await eventsOf(ctx, t, timeout, typeof a.name === 'string' ? a.name : '')).filter((e) => {
        const subs = Number(e.subscribers);
        const pub = Number(e.published);
        const prod = String(e.producer);
        return (
          !unmeasured &&
          (producer === '' ||
            (producer.startsWith('<') ? prod === producer : (names.get(prod) ?? '').includes(producer))) &&
          (a.notify === undefined || e.notify === a.notify) &&
          (a.has_buffer === undefined || Number(e.buffer) > 0 === a.has_buffer) &&
          subs >= Number(a.min_subscribers ?? 0) &&
          (a.max_subscribers === undefined || subs <= Number(a.max_subscribers)) &&
          pub >= Number(a.min_published ?? 0) &&
          (a.max_published === undefined || pub <= Number(a.max_published)) &&
          (a.utilization_state === undefined || utilization(e) === a.utilization_state)
        );
      });
      if (a.sort_by === 'subscribers') all.sort((x, y) => Number(y.subscribers) - Number(x.subscribers));
      else if (a.sort_by === 'published') all.sort((x, y) => Number(y.published) - Number(x.published));
      const limit = Number(a.limit ?? 100);
      const shown = limit === 0 ? all : all.slice(0, limit);
      return {
        node: t.node,
        total: all.length,
        events: shown.map((e) => ({ ...e, utilization_state: utilization(e) })),
      };
    },
  },
  {
    name: 'event_info',
    title: 'Event info',
    description: 'One event in detail: producer, notify, buffer, subscribers, messages published, utilization state',
    action: false,
    remote: 'inspector',
    shape: { ...common, name: z.string().min(1).describe('The event name') },
    async run(ctx, args) {
      const t = await target(ctx, args);
      const name = String(args.name);
      const found = (await eventsOf(ctx, t, timeoutOf(ctx, args), name)).find((e) => e.event.name === name);
      if (found === undefined) throw new McpToolError('ERR_MCP_REFUSED', `${t.node} has no event ${name}`);
      return { node: t.node, ...found, utilization_state: utilization(found) };
    },
  },
];
