// The action tools: they change the node (end a process, send it a message, set a log level,
// start or stop an application), so they run only on a server started with `actions: true`.
// Each is logged on the node the MCP server runs on. The process actions go through the
// inspector protocol's RequestDo* (a Go node answers them too); application start and stop
// have no such request, so they reach only the node the MCP server runs on.

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
} from 'ergo-ts';
import { z } from 'zod';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { ask, message, type Target } from './inspect.js';
import { common, pidOf, timeoutOf, type ToolSpec } from './tools.js';

const pidArg = z.string().describe('The PID (<CRC.0.1001>) or registered name');

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

function priorityOf(v: unknown): MessagePriority {
  if (v === 'high') return MessagePriority.High;
  if (v === 'max') return MessagePriority.Max;
  return MessagePriority.Normal;
}

function localOnly(t: Target, what: string): void {
  if (!t.local)
    throw new McpToolError(
      'ERR_MCP_UNSUPPORTED',
      `${what} reaches only the node the MCP server runs on: the inspector protocol has no such request for ${t.node}`,
    );
}

/** The action tools (run only with `actions: true`). */
export const actionTools: ToolSpec[] = [
  {
    name: 'process_kill',
    title: 'Kill a process',
    description: 'Kills a process at once (its terminate callback does not run; linked processes get the kill reason)',
    action: true,
    shape: { ...common, pid: pidArg },
    async run(ctx, args) {
      const t = await ctx.reach(args.node as string | undefined);
      const timeout = timeoutOf(ctx, args);
      const pid = await pidOf(ctx, t, args.pid, timeout);
      return doRequest(ctx, t, new RequestDoKill({ pid }), `process_kill ${String(pid)}`, timeout);
    },
  },
  {
    name: 'send_exit',
    title: 'Send an exit signal',
    description: 'Sends an exit signal to a process: normal, shutdown, kill or any other text as the reason',
    action: true,
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
    name: 'send_message',
    title: 'Send a message',
    description:
      'Sends a message (any JSON value: a string, number, array or object) to a process; a Go node receives what EDF can carry',
    action: true,
    shape: {
      ...common,
      pid: pidArg,
      message: z.unknown().describe('The message (JSON)'),
      priority: z.enum(['normal', 'high', 'max']).optional().describe('Delivery priority (default normal)'),
    },
    async run(ctx, args) {
      if (args.message === undefined)
        throw new McpToolError('ERR_MCP_BAD_ARGUMENT', 'message: required (any JSON value)');
      const t = await ctx.reach(args.node as string | undefined);
      const timeout = timeoutOf(ctx, args);
      const pid = await pidOf(ctx, t, args.pid, timeout);
      const request = new RequestDoSend({ pid, priority: priorityOf(args.priority), message: args.message });
      return doRequest(ctx, t, request, `send_message ${String(pid)}`, timeout);
    },
  },
  {
    name: 'log_level_set',
    title: 'Set a log level',
    description: 'Sets the log level of a node, or of one process when `pid` is given',
    action: true,
    shape: {
      ...common,
      level: z.enum(['trace', 'debug', 'info', 'warning', 'error', 'panic', 'disabled']).describe('The level'),
      pid: pidArg.optional(),
    },
    async run(ctx, args) {
      const t = await ctx.reach(args.node as string | undefined);
      const timeout = timeoutOf(ctx, args);
      const level = parseLogLevel(String(args.level)) as LogLevel | undefined;
      if (level === undefined)
        throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `level: ${String(args.level)} is not a level`);
      if (args.pid === undefined)
        return doRequest(ctx, t, new RequestDoSetLogLevel({ level }), `log_level_set ${String(args.level)}`, timeout);
      const pid = await pidOf(ctx, t, args.pid, timeout);
      const request = new RequestDoSetLogLevelProcess({ pid, level });
      return doRequest(ctx, t, request, `log_level_set ${String(args.level)} ${String(pid)}`, timeout);
    },
  },
  {
    name: 'app_start',
    title: 'Start an application',
    description: 'Starts a loaded application of the node the MCP server runs on',
    action: true,
    shape: {
      ...common,
      application: z.string().min(1).describe('The application name'),
      mode: z
        .enum(['temporary', 'transient', 'permanent'])
        .optional()
        .describe("Start mode (default: the application's own)"),
    },
    async run(ctx, args) {
      const t = await ctx.reach(args.node as string | undefined);
      localOnly(t, 'app_start');
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
    description: 'Stops a running application of the node the MCP server runs on (its processes get a shutdown exit)',
    action: true,
    shape: {
      ...common,
      application: z.string().min(1).describe('The application name'),
      force: z.boolean().optional().describe('Kill its processes instead of asking them to stop'),
    },
    async run(ctx, args) {
      const t = await ctx.reach(args.node as string | undefined);
      localOnly(t, 'app_stop');
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
