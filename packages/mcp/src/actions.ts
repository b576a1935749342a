// The action tools: they change the node (end a process, send it a message or a request, set a
// log level, start or stop an application), so they run only on a server started with
// `actions: true` (Go Ergo: not ReadOnly). Each is logged on the node the MCP server runs on.
// process_kill, send_exit, log_level_set and send_message reach another node through its MCP
// application (the cluster proxy), or else through the inspector protocol's RequestDo* (a Go
// node answers those too); the others need the MCP application there. message_types and
// message_type_info list the EDF registry (Go lists them among the actions too).

import {
  MessagePriority,
  RequestDoKill,
  RequestDoSend,
  RequestDoSendExit,
  RequestDoSetLogLevel,
  RequestDoSetLogLevelProcess,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  parseLogLevel,
  type LogLevel,
  type PID,
} from 'ergo-ts';
import { defaultRegistry } from 'ergo-ts/net';
import { z } from 'zod';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { ask, message, seconds, type Target } from './inspect.js';
import { toJSONValue } from './json.js';
import { logTarget } from './tools_log.js';
import { common, pidOf, timeoutOf, type ToolSpec } from './tools.js';

const pidArg = z.string().min(1).describe('The PID (<CRC.0.1001>) or registered name');

/** Go's default time limit of call_process (gen.DefaultRequestTimeout), ms. */
const CALL_PROCESS_TIMEOUT = 5000;

function logAction(ctx: ToolContext, what: string, t: Target): void {
  ctx.node.log.info('mcp: action %s on %s', what, t.node);
}

async function doRequest(
  ctx: ToolContext,
  t: Target,
  request: unknown,
  what: string,
  timeout: number,
): Promise<unknown> {
  logAction(ctx, what, t);
  await ask(ctx.node, t, request, what, timeout);
  return { node: t.node, done: what };
}

function reasonOf(v: unknown): Error {
  if (v === undefined || v === 'normal') return TerminateReasonNormal;
  if (v === 'shutdown') return TerminateReasonShutdown;
  if (v === 'kill') return TerminateReasonKill;
  return new Error(String(v));
}

/** The registered type `name` names (its full `#path/Type` name or its short one). */
function typeOf(name: string) {
  const t =
    defaultRegistry.type(name) ?? defaultRegistry.types().find((x) => x.shortName === name || x.regName === name);
  if (t === undefined) throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `type_name: no EDF type ${name} is registered`);
  return t;
}

/** The value to send: raw JSON, or a registered type made of the JSON object's fields. */
function payload(typeName: unknown, value: unknown, what: string): unknown {
  if (value === undefined) throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `${what}: required (a JSON value)`);
  if (typeof typeName !== 'string' || typeName === '') return value;
  const t = typeOf(typeName);
  if (t.form !== 'struct' || value === null || typeof value !== 'object' || Array.isArray(value))
    throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `${what}: a JSON object with the fields of ${t.regName}`);
  try {
    return t.make(value as Record<string, unknown>);
  } catch (err) {
    throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `${what}: not a ${t.regName}: ${message(err)}`);
  }
}

/** The action tools (run only with `actions: true`). */
export const actionTools: ToolSpec[] = [
  {
    name: 'message_types',
    title: 'Message types',
    description: 'The EDF-registered message types (full names #path/Type), for typed send_message / call_process',
    action: true,
    remote: 'none',
    shape: { ...common, filter: z.string().optional().describe('Names containing this (case-insensitive)') },
    async run(ctx, args) {
      const f = typeof args.filter === 'string' ? args.filter.toLowerCase() : '';
      const names = defaultRegistry
        .types()
        .map((t) => t.regName)
        .filter((n) => n.toLowerCase().includes(f))
        .sort();
      return { node: ctx.node.name, types: names };
    },
  },
  {
    name: 'message_type_info',
    title: 'Message type',
    description: 'The structure of a registered type: its fields in wire order with their EDF types',
    action: true,
    remote: 'none',
    shape: { ...common, type_name: z.string().min(1).describe('Full (#path/Type) or short (Type) name') },
    async run(ctx, args) {
      const t = typeOf(String(args.type_name));
      return {
        node: ctx.node.name,
        name: t.regName,
        short: t.shortName,
        form: t.form,
        fields: (t.fields ?? []).map((f) => ({ name: f.name, type: f.type.name })),
      };
    },
  },
  {
    name: 'send_message',
    title: 'Send a message',
    description:
      "Sends a message to a process: any JSON value, or with type_name a registered EDF type made of a JSON object's fields; important: wait for the delivery to be confirmed",
    action: true,
    remote: 'inspector',
    shape: {
      ...common,
      to: z.string().min(1).describe('Registered name or PID'),
      type_name: z.string().optional().describe('EDF type (full or short name); raw JSON when absent'),
      message: z.unknown().describe('The message (JSON)'),
      important: z.boolean().optional().describe('Important delivery (default false)'),
    },
    async run(ctx, args) {
      const m = payload(args.type_name, args.message, 'message');
      const t = await ctx.reach(args.node as string | undefined);
      const timeout = timeoutOf(ctx, args);
      const pid = await pidOf(ctx, t, args.to, timeout);
      if (t.local && args.important === true) {
        logAction(ctx, `send_message ${String(pid)}`, t);
        try {
          ctx.node.send(pid, m as never, { important: true });
        } catch (err) {
          throw new McpToolError('ERR_MCP_REFUSED', `${t.node}: ${message(err)}`);
        }
        return { node: t.node, done: `send_message ${String(pid)}` };
      }
      const request = new RequestDoSend({ pid, priority: MessagePriority.Normal, message: m });
      return doRequest(ctx, t, request, `send_message ${String(pid)}`, timeout);
    },
  },
  {
    name: 'call_process',
    title: 'Call a process',
    description:
      "Makes a synchronous request to a process and answers with its response (raw JSON, or with type_name a registered EDF type); timeout is the call's (seconds, default 5 as Go's, at most 120)",
    action: true,
    remote: 'none',
    shape: {
      ...common,
      // Its own default, not the server's (the common text says 30).
      timeout: common.timeout.describe("Seconds the call may take (default 5, as Go's call_process; at most 120)"),
      to: z.string().min(1).describe('Registered name or PID'),
      type_name: z.string().optional().describe('EDF type of the request (full or short name); raw JSON when absent'),
      request: z.unknown().describe('The request (JSON)'),
      important: z.boolean().optional().describe('Important delivery (default false)'),
    },
    async run(ctx, args) {
      const r = payload(args.type_name, args.request, 'request');
      const t = await ctx.reach(undefined);
      // Go's call_process: its own `timeout`, else a call's default (5 s), not the server's.
      const timeout = typeof args.timeout === 'number' ? args.timeout * 1000 : CALL_PROCESS_TIMEOUT;
      const pid: PID = await pidOf(ctx, t, args.to, timeout);
      logAction(ctx, `call_process ${String(pid)}`, t);
      try {
        const response = await ctx.node.call(pid, r as never, { timeout, important: args.important === true });
        return { node: t.node, to: pid, response: toJSONValue(response) };
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (code === 'ERR_TIMEOUT')
          throw new McpToolError('ERR_MCP_TIMEOUT', `${String(pid)} did not answer within ${seconds(timeout)} s`);
        throw new McpToolError('ERR_MCP_REFUSED', `the call to ${String(pid)} failed: ${message(err)}`);
      }
    },
  },
  {
    name: 'send_exit',
    title: 'Send an exit signal',
    description: 'Sends an exit signal to a process: normal, shutdown, kill or any other text as the reason',
    action: true,
    remote: 'inspector',
    shape: {
      ...common,
      pid: pidArg,
      reason: z.string().min(1).optional().describe('normal (default), shutdown, kill, or a text'),
    },
    async run(ctx, args) {
      const t = await ctx.reach(args.node as string | undefined);
      const timeout = timeoutOf(ctx, args);
      const pid = await pidOf(ctx, t, args.pid, timeout);
      const request = new RequestDoSendExit({ pid, reason: reasonOf(args.reason) });
      return doRequest(ctx, t, request, `send_exit ${String(pid)}`, timeout);
    },
  },
  {
    name: 'process_kill',
    title: 'Kill a process',
    description:
      'Kills a process at once (Zombee; its terminate callback does not run; linked processes get the kill reason)',
    action: true,
    remote: 'inspector',
    shape: { ...common, pid: pidArg },
    async run(ctx, args) {
      const t = await ctx.reach(args.node as string | undefined);
      const timeout = timeoutOf(ctx, args);
      const pid = await pidOf(ctx, t, args.pid, timeout);
      return doRequest(ctx, t, new RequestDoKill({ pid }), `process_kill ${String(pid)}`, timeout);
    },
  },
  {
    name: 'log_level_set',
    title: 'Set a log level',
    description:
      "Sets the log level of the node (target 'node', the default), a process (PID or name) or a meta process (alias)",
    action: true,
    remote: 'inspector',
    shape: {
      ...common,
      level: z.enum(['trace', 'debug', 'info', 'warning', 'error', 'panic', 'disabled']).describe('The level'),
      target: z.string().optional().describe("'node' (default), a PID, a registered name or a meta process alias"),
    },
    async run(ctx, args) {
      const t = await ctx.reach(args.node as string | undefined);
      const timeout = timeoutOf(ctx, args);
      const level = parseLogLevel(String(args.level)) as LogLevel | undefined;
      if (level === undefined)
        throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `level: ${String(args.level)} is not a level`);
      const target = typeof args.target === 'string' ? args.target : '';
      if (target === '' || target === 'node')
        return doRequest(ctx, t, new RequestDoSetLogLevel({ level }), `log_level_set ${String(args.level)}`, timeout);
      if (t.local) {
        const lt = await logTarget(ctx, target, timeout);
        if (lt.kind === 'meta') {
          logAction(ctx, `log_level_set ${String(args.level)} ${String(lt.alias)}`, t);
          try {
            ctx.node.setLogLevelMeta(lt.alias, level);
          } catch (err) {
            throw new McpToolError('ERR_MCP_REFUSED', `${t.node}: ${message(err)}`);
          }
          return { node: t.node, done: `log_level_set ${String(args.level)} ${String(lt.alias)}` };
        }
      }
      const pid = await pidOf(ctx, t, target, timeout);
      const request = new RequestDoSetLogLevelProcess({ pid, level });
      return doRequest(ctx, t, request, `log_level_set ${String(args.level)} ${String(pid)}`, timeout);
    },
  },
  {
    name: 'app_start',
    title: 'Start an application',
    description: 'Starts the loaded application `application` (ours: Go Ergo has no such tool)',
    action: true,
    remote: 'none',
    shape: {
      ...common,
      application: z.string().min(1).describe('The application name'),
      mode: z
        .enum(['temporary', 'transient', 'permanent'])
        .optional()
        .describe("Start mode (default: the application's own)"),
    },
    async run(ctx, args) {
      const t = await ctx.reach(undefined);
      const name = String(args.application);
      logAction(ctx, `app_start ${name}`, t);
      try {
        if (args.mode === 'temporary') await ctx.node.applicationStartTemporary(name);
        else if (args.mode === 'transient') await ctx.node.applicationStartTransient(name);
        else if (args.mode === 'permanent') await ctx.node.applicationStartPermanent(name);
        else await ctx.node.applicationStart(name);
      } catch (err) {
        throw new McpToolError('ERR_MCP_REFUSED', `${t.node} did not start ${name}: ${message(err)}`);
      }
      return { node: t.node, started: name };
    },
  },
  {
    name: 'app_stop',
    title: 'Stop an application',
    description:
      'Stops the running application `application` (its processes get a shutdown exit; force kills them). Ours: Go Ergo has no such tool',
    action: true,
    remote: 'none',
    shape: {
      ...common,
      application: z.string().min(1).describe('The application name'),
      force: z.boolean().optional().describe('Kill its processes instead of asking them to stop'),
    },
    async run(ctx, args) {
      const t = await ctx.reach(undefined);
      const name = String(args.application);
      logAction(ctx, `app_stop ${name}`, t);
      try {
        await (args.force === true ? ctx.node.applicationStopForce(name) : ctx.node.applicationStop(name));
      } catch (err) {
        throw new McpToolError('ERR_MCP_REFUSED', `${t.node} did not stop ${name}: ${message(err)}`);
      }
      return { node: t.node, stopped: name };
    },
  },
];
