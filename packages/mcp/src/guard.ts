// The one door every tool call goes through, whoever asked: an MCP client (build.ts), another
// node's MCP server (the cluster proxy, proxy.ts), a sampler (table.ts). Its arguments are checked
// against the tool's schema where no SDK did it (a proxied call, a sampled one), and whatever the
// tool throws comes out as an error with a code: the tool's own (McpToolError), an ergo-ts error's
// (ERR_PROCESS_UNKNOWN...), or, for anything else — a bug, a TypeError — ERR_MCP_INTERNAL, logged
// once on the node with its stack. A tool's failure is an answer to its caller, never a crash.

import { z } from 'zod';

import type { ToolContext } from './context.js';
import { McpToolError } from './errors.js';
import { message } from './inspect.js';
import type { ToolSpec } from './tools.js';

/** The code of an error that has one (`ERR_…`), or null. */
export function codeOf(err: unknown): string | null {
  try {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && code !== '' ? code : null;
  } catch {
    return null; // a getter that throws
  }
}

/** `err` as an error with a code; an error without one is logged once as a fault of `tool`. */
export function toolFailure(ctx: ToolContext, tool: string, err: unknown): Error & { code: string } {
  if (codeOf(err) !== null && err instanceof Error) return err as Error & { code: string };
  const text = message(err);
  ctx.node.log.warning(
    'mcp: tool %s failed unexpectedly: %s',
    tool,
    err instanceof Error && err.stack !== undefined ? err.stack : text,
  );
  return new McpToolError('ERR_MCP_INTERNAL', `${tool} failed: ${text}`);
}

/**
 * `args` checked against the schema of `spec` (with its defaults applied), or ERR_MCP_BAD_ARGUMENT
 * naming what is wrong: for calls that did not come through the SDK, which checks its own.
 */
export function checkedArgs(spec: ToolSpec, args: unknown): Record<string, unknown> {
  const checked = z.object(spec.shape).safeParse(args ?? {});
  if (!checked.success) throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `${spec.name}: ${checked.error.message}`);
  return checked.data as Record<string, unknown>;
}

/**
 * Runs `work` (one call of tool `tool`), counted in `ctx.running` while it runs; rejects only
 * with an error that has a code (see the file comment).
 */
export async function guarded<T>(ctx: ToolContext, tool: string, work: () => Promise<T>): Promise<T> {
  ctx.running++;
  try {
    return await work();
  } catch (err) {
    throw toolFailure(ctx, tool, err);
  } finally {
    ctx.running--;
  }
}
