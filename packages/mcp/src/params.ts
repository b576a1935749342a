// Requests whose params do not have the shape MCP gives them (`tools/call` with `arguments` a
// string, an array or null; no tool name) are answered here with -32602 (Invalid params) and a
// readable message. The SDK parses them inside its handler, where a failed parse comes out as
// -32603 (Internal error) carrying zod's issue list as raw JSON: the client's mistake reported as
// a server fault. The tools' own arguments are checked by the SDK against each tool's schema
// afterwards (a tool error naming the argument), as before.

import { detach } from './detach.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';

/** What a schema's safeParse gives back, as far as this file reads it. */
interface Parsed {
  success: boolean;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}

/** The request schemas of the methods this server answers, by method. */
const SCHEMAS: Record<string, { safeParse(v: unknown): Parsed }> = {
  'tools/call': CallToolRequestSchema,
  'tools/list': ListToolsRequestSchema,
  'resources/list': ListResourcesRequestSchema,
  'resources/templates/list': ListResourceTemplatesRequestSchema,
  'resources/read': ReadResourceRequestSchema,
  'completion/complete': CompleteRequestSchema,
};

/** The readable reason `request` (a JSON-RPC request) does not fit its method's schema, or null. */
export function paramsProblem(request: { method: string; params?: unknown }): string | null {
  const schema = SCHEMAS[request.method];
  if (schema === undefined) return null;
  const parsed = schema.safeParse({ method: request.method, params: request.params });
  if (parsed.success) return null;
  const issues = (parsed.error?.issues ?? []).map((i) => {
    const path = i.path.map(String).join('.');
    const text = i.message.replace(/^Invalid input: /, '').replace(/\bexpected record\b/, 'expected a JSON object');
    return path === '' ? text : `${path}: ${text}`;
  });
  return `invalid params of ${request.method}: ${issues.join('; ') || 'not the shape MCP gives them'}`;
}

/**
 * Answers the requests {@link paramsProblem} refuses on `transport` itself (-32602), and hands the
 * others to the SDK server connected to it. Call it after `server.connect(transport)`.
 */
export function refuseBadParams(transport: Transport): void {
  const next = transport.onmessage;
  if (next === undefined) return;
  transport.onmessage = <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo): void => {
    const m = message as { id?: unknown; method?: unknown; params?: unknown };
    if ((typeof m.id === 'string' || typeof m.id === 'number') && typeof m.method === 'string') {
      const problem = paramsProblem({ method: m.method, params: m.params });
      if (problem !== null) {
        const answer: JSONRPCMessage = {
          jsonrpc: '2.0',
          id: m.id,
          error: { code: ErrorCode.InvalidParams, message: problem },
        };
        // A failed send: the client has gone, nobody to tell.
        detach(() => transport.send(answer), 'answering invalid params', undefined, { error: () => undefined });
        return;
      }
    }
    next(message, extra);
  };
}
