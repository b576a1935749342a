// The cluster proxy's wire form: a tool call forwarded to the MCP application of another node
// (Go Ergo's `node` argument: the tool runs on that node's own MCP application). The request and
// the answer are JSON text in plain strings, which every ergo-ts node carries without a type
// registration; the prefix keeps them apart from anything else a server process might be sent.

import { McpToolError, type McpToolErrorCode } from './errors.js';

/** The process a proxied call goes to: the MCP server of the other node. */
export const PROXY_NAME = 'mcp_server';

const PREFIX = 'ergo-ts-mcp/1 ';

/** The request that runs `tool` with `args` on the node it is sent to. */
export function proxyRequest(tool: string, args: Record<string, unknown>): string {
  const { node: _node, ...rest } = args;
  return PREFIX + JSON.stringify({ tool, args: rest });
}

/** The tool call a proxy request carries, or null for anything else. */
export function parseProxyRequest(m: unknown): { tool: string; args: Record<string, unknown> } | null {
  if (typeof m !== 'string' || !m.startsWith(PREFIX)) return null;
  try {
    const v = JSON.parse(m.slice(PREFIX.length)) as { tool?: unknown; args?: unknown };
    if (typeof v.tool !== 'string' || v.args === null || typeof v.args !== 'object') return null;
    return { tool: v.tool, args: v.args as Record<string, unknown> };
  } catch {
    return null;
  }
}

/** The answer of a proxied call: the tool's JSON text, or its error. */
export function proxyAnswer(ok: boolean, payload: string, code = ''): string {
  return PREFIX + JSON.stringify(ok ? { ok, json: payload } : { ok, code, message: payload });
}

/** The JSON value an answer carries; throws the tool's error as an McpToolError. */
export function readProxyAnswer(node: string, m: unknown): unknown {
  const odd = (): McpToolError => new McpToolError('ERR_MCP_REFUSED', `${node}: its MCP application answered oddly`);
  if (typeof m !== 'string' || !m.startsWith(PREFIX)) throw odd();
  let v: { ok?: unknown; json?: unknown; code?: unknown; message?: unknown };
  let value: unknown;
  try {
    v = JSON.parse(m.slice(PREFIX.length)) as typeof v;
    if (v === null || typeof v !== 'object') throw odd();
    if (v.ok === true) value = JSON.parse(typeof v.json === 'string' ? v.json : 'null');
  } catch {
    throw odd();
  }
  if (v.ok === true) return value;
  const code = (
    typeof v.code === 'string' && v.code.startsWith('ERR_MCP_') ? v.code : 'ERR_MCP_REFUSED'
  ) as McpToolErrorCode;
  throw new McpToolError(code, `${node}: ${typeof v.message === 'string' ? v.message : 'failed'}`);
}
