// Go Ergo's `log level` tool group (log_level_get, loggers_list; log_level_set is an action, in
// actions.ts) and our log_tail. A `target` is `node` (default), a PID, a registered name or a
// meta process alias, as Go's.

import { logLevelString, type Alias, type Node, type PID } from 'ergo-ts';
import { z } from 'zod';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { LogTail, type LogTailAnswer } from './logring.js';
import { common, pidOf, target, timeoutOf, type ToolSpec } from './tools.js';

/** What a `target` argument names on this node. */
export type LogTarget = { kind: 'node' } | { kind: 'process'; pid: PID } | { kind: 'meta'; alias: Alias };

/** The meta process of `node` printed as `text`, or undefined. */
export function findMeta(node: Node, text: string): Alias | undefined {
  for (const pid of node.processList()) {
    try {
      const found = node.processInfo(pid).metas.find((m) => String(m) === text);
      if (found !== undefined) return found;
    } catch {
      // ended meanwhile
    }
  }
  return undefined;
}

/** Reads a `target` argument against this node. */
export async function logTarget(ctx: ToolContext, value: unknown, timeout: number): Promise<LogTarget> {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '' || text === 'node') return { kind: 'node' };
  const meta = text.startsWith('<') ? undefined : findMeta(ctx.node, text);
  if (meta !== undefined) return { kind: 'meta', alias: meta };
  const t = await ctx.reach(undefined);
  return { kind: 'process', pid: await pidOf(ctx, t, text, timeout) };
}

const targetArg = z
  .string()
  .optional()
  .describe("Target: 'node' (default), a PID, a registered name, or a meta process alias");

/** The log tools. */
export const logTools: ToolSpec[] = [
  {
    name: 'log_level_get',
    title: 'Log level',
    description: 'The log level of the node, a process or a meta process',
    action: false,
    remote: 'none',
    shape: { ...common, target: targetArg },
    async run(ctx, args) {
      const lt = await logTarget(ctx, args.target, timeoutOf(ctx, args));
      const node = ctx.node;
      try {
        if (lt.kind === 'node') return { node: node.name, target: 'node', level: logLevelString(node.log.level()) };
        if (lt.kind === 'process')
          return { node: node.name, target: lt.pid, level: logLevelString(node.logLevelProcess(lt.pid)) };
        return { node: node.name, target: lt.alias, level: logLevelString(node.logLevelMeta(lt.alias)) };
      } catch (err) {
        throw new McpToolError('ERR_MCP_REFUSED', `${node.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  },
  {
    name: 'loggers_list',
    title: 'Loggers',
    description: 'The loggers of the node (the default one, process loggers…) with the levels each takes',
    action: false,
    remote: 'none',
    shape: { ...common },
    async run(ctx) {
      const node = ctx.node;
      return {
        node: node.name,
        level: logLevelString(node.log.level()),
        loggers: node.loggers().map((name) => {
          let levels: string[] = [];
          try {
            levels = node.loggerLevels(name).map((l) => logLevelString(l));
          } catch {
            // removed meanwhile
          }
          return { name, levels };
        }),
      };
    },
  },
  {
    name: 'log_tail',
    title: 'Log tail',
    description:
      "The newest log records of a node (node, process, meta and network records). This node's log is kept from the start; " +
      "another node's from the first time it is asked (ask again, or wait, for what comes next). `since` gives only records after that sequence number",
    action: false,
    remote: 'inspector',
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
      return (await ctx.node.call(ring, ask, { timeout: waitMs + 5000 })) as LogTailAnswer;
    },
  },
];
