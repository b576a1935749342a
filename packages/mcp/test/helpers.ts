// Test helpers: nodes on free ports with a static route between them, and the MCP SDK's own
// client connected to a server's URL (with or without a token).

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startNode, type NetworkRoute, type Node, type NodeOptions } from 'ergo-ts';

/** The cookie every test node shares (and the Go peers). */
export const COOKIE = 'mcp-secret';

const V = { name: '', release: '' };

/** A static route to 127.0.0.1:`port`. */
export function routeTo(port: number): NetworkRoute {
  return { route: { host: '127.0.0.1', port, tls: false, handshakeVersion: V, protoVersion: V } };
}

/** The port of a node's first acceptor. */
export function portOf(node: Node): number {
  const i = node.network().acceptors()[0]!.info().interface;
  return Number(i.slice(i.lastIndexOf(':') + 1));
}

/** A node `<prefix><pid>@localhost` with a network on a free port (no registrar). */
export function netNode(
  prefix: string,
  routes: { match: string; route: NetworkRoute }[] = [],
  extra: Omit<NodeOptions, 'network'> = {},
): Promise<Node> {
  return startNode(`${prefix}${process.pid}@localhost`, {
    ...extra,
    log: { level: 'warning', ...(extra.log ?? {}) },
    network: { cookie: COOKIE, acceptors: [{ host: '127.0.0.1', port: 0 }], registrar: null, routes },
  });
}

/** `name` as a route match (exactly that node). */
export function exactly(name: string): string {
  return '^' + name.replace(/[.$]/g, '\\$&') + '$';
}

/** The SDK client, connected to `url` with `token` as bearer (none when undefined). */
export async function connect(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'ergo-ts-mcp-test', version: '0.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(token === undefined ? {} : { requestInit: { headers: { Authorization: `Bearer ${token}` } } }),
  });
  await client.connect(transport);
  return client;
}

/** A tool result: its JSON (parsed) or its error text. */
export interface ToolOutcome {
  isError: boolean;
  text: string;
  json: unknown;
}

/** Calls tool `name` and reads its one text item. */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolOutcome> {
  const r = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content: { type: string; text?: string }[];
  };
  const text = r.content.find((c) => c.type === 'text')?.text ?? '';
  let json: unknown = null;
  if (r.isError !== true) json = JSON.parse(text);
  return { isError: r.isError === true, text, json };
}

/** Calls tool `name` and returns its JSON; fails with the tool's error text. */
export async function ok<T = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  const r = await call(client, name, args);
  if (r.isError) throw new Error(`${name} ${JSON.stringify(args)} failed: ${r.text}`);
  return r.json as T;
}
