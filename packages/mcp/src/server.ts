// The MCP server process (`mcp_server`): owns the HTTP server (the core's web server meta
// process) and answers the MCP endpoint `/mcp` in the streamable HTTP transport's stateless mode:
// each POST gets a fresh SDK server and transport, so nothing is held between requests and any
// number of clients can ask at once. Before the SDK sees a request it passes the Host check (DNS
// rebinding) and, when a token is set, the bearer token (401 otherwise), as the Observer's do.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Actor, ErrIncorrect, ReplyLater, ignorable, type Node, type PID, type Ref } from 'ergo-ts';
import { createWebServer, readRequestBody, type WebServer } from 'ergo-ts/meta';

import { buildServer } from './build.js';
import { ToolContext } from './context.js';
import { detach } from './detach.js';
import { DEFAULT_INSPECT_TIMEOUT, message } from './inspect.js';
import { DEFAULT_LOG_RING } from './logring.js';
import { answerProxied } from './proxy.js';
import { allTools } from './table.js';
import { refuseBadParams } from './params.js';
import { DEFAULT_MCP_HOST, DEFAULT_MCP_PORT, MCP_MAX_BODY, MCP_PATH, type McpOptions } from './options.js';

/** The answer of a proxied tool call, back in the server's mailbox to be sent. */
class ProxyDone {
  constructor(
    readonly from: PID,
    readonly ref: Ref,
    readonly answer: string,
  ) {}
}

/** Registered name of the MCP server process. */
export const MCP_SERVER_NAME = 'mcp_server';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** What the server process is started with. */
export interface McpServerArgs {
  /** The server's options (see {@link McpOptions}). */
  options: McpOptions;
  /** Told the URL of the MCP endpoint once the server listens. */
  onListen?: (url: string) => void;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function bearer(req: IncomingMessage): string {
  const auth = req.headers.authorization;
  return typeof auth === 'string' && /^Bearer /i.test(auth) ? auth.slice(7).trim() : '';
}

function hostAllowed(header: string | undefined, allowed: string[]): boolean {
  if (header === undefined) return false;
  const host = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0]!;
  return allowed.includes(host.toLowerCase());
}

function answer(res: ServerResponse, status: number, error: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({
    jsonrpc: '2.0',
    error: { code: status === 400 ? -32700 : -32000, message: error },
    id: null,
  });
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
}

/**
 * The MCP server process. Its init fails when the options are wrong or the port is taken. Its
 * `handleInspect` reports the URL, whether actions are on, the HTTP requests taken, those
 * still being answered (`inflight`) and the tool calls still running (`tools`: a call whose
 * client has gone runs to its own time limit).
 */
export class McpServerActor extends Actor {
  #web: WebServer | null = null;
  #stdio: { close(): Promise<void> } | null = null;
  #ctx!: ToolContext;
  #actions = false;
  #requests = 0;
  #inflight = 0;

  override async init(args: McpServerArgs): Promise<void> {
    const o = args.options ?? {};
    check(o);
    const node: Node = this.node;
    const host = o.host ?? DEFAULT_MCP_HOST;
    const allowed = o.allowedHosts ?? (LOOPBACK.has(host) ? [...LOOPBACK] : null);
    const token = o.token === undefined || o.token === '' ? null : digest(o.token);
    this.#actions = o.actions === true;
    this.#ctx = new ToolContext(node, {
      actions: this.#actions,
      logRing: o.logRing ?? DEFAULT_LOG_RING,
      timeout: (o.timeout ?? DEFAULT_INSPECT_TIMEOUT / 1000) * 1000,
    });
    // This node's log is kept from now on (a node without its system application has none).
    const log = this.log;
    detach(
      () => this.#ctx.ring({ node: node.name, creation: node.creation, local: true }, DEFAULT_INSPECT_TIMEOUT),
      'the log ring',
      log,
      { error: (err) => log.warning('mcp: log tail unavailable: %s', message(err)) },
    );

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      if (allowed !== null && !hostAllowed(req.headers.host, allowed)) return answer(res, 403, 'host not allowed');
      const path = (req.url ?? '/').split('?')[0]!;
      if (path !== MCP_PATH) return answer(res, 404, `not found: the MCP endpoint is ${MCP_PATH}`);
      if (token !== null && !timingSafeEqual(digest(bearer(req)), token))
        return answer(res, 401, 'a valid bearer token is required', { 'www-authenticate': 'Bearer' });
      if (req.method !== 'POST') return answer(res, 405, 'POST only (stateless streamable HTTP)', { allow: 'POST' });
      let raw: Buffer | null;
      try {
        raw = await readRequestBody(req, MCP_MAX_BODY);
      } catch {
        return answer(res, 400, 'request body aborted');
      }
      if (raw === null) return answer(res, 413, `body larger than ${MCP_MAX_BODY} bytes`);
      const text = raw.toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return answer(res, 400, 'parse error: the body is not JSON');
      }
      const server = buildServer(this.#ctx);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        detach(() => transport.close(), 'closing a request transport', log, { error: () => undefined });
        detach(() => server.close(), 'closing a request server', log, { error: () => undefined });
      });
      await server.connect(transport);
      refuseBadParams(transport);
      await transport.handleRequest(req, res, body);
    };
    const listener = (req: IncomingMessage, res: ServerResponse): void => {
      this.#requests++;
      this.#inflight++;
      detach(() => handle(req, res), 'an HTTP request', log, {
        error: (err) => {
          log.warning('mcp: request failed: %s', message(err));
          answer(res, 500, 'internal error');
        },
        always: () => this.#inflight--,
      });
    };
    if (o.stdio === true) {
      // The stdio transport: one SDK server for the life of this process, on stdin/stdout (the
      // process that started this node is the client; logs must go elsewhere, see cli.ts).
      const server = buildServer(this.#ctx);
      this.#stdio = server;
      const stdio = new StdioServerTransport();
      await server.connect(stdio);
      refuseBadParams(stdio);
      this.log.info('mcp server on stdio (actions %s)', this.#actions ? 'enabled' : 'disabled');
      args.onListen?.('stdio');
      return;
    }
    if (o.agent === true) {
      // Agent mode (Go's Port 0): no HTTP listener; other nodes' MCP servers reach this one.
      this.log.info(
        'mcp agent on %s (actions %s): reached through the cluster proxy',
        node.name,
        this.#actions ? 'enabled' : 'disabled',
      );
      args.onListen?.('');
      return;
    }
    this.#web = await createWebServer({
      host,
      port: o.port ?? DEFAULT_MCP_PORT,
      handler: listener,
      ...(o.tls === undefined ? {} : { tls: o.tls }),
    });
    this.spawnMeta(this.#web);
    const url = this.#web.url + MCP_PATH;
    this.log.info('mcp server listening on %s (actions %s)', url, this.#actions ? 'enabled' : 'disabled');
    args.onListen?.(url);
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof ProxyDone) this.sendResponse(message.from, message.ref, message.answer);
  }

  /**
   * A tool call another node's MCP server forwards here (its `node` argument named this node):
   * it runs outside the handler, and its answer comes back through the mailbox (ProxyDone).
   */
  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    const self = this.pid;
    const node = this.node;
    detach(() => answerProxied(this.#ctx, allTools, request), 'a proxied tool call', this.log, {
      value: (a) => {
        if (a === null) return; // not a proxied call: left unanswered, as any unknown request
        try {
          node.send(self, new ProxyDone(from, ref, a));
        } catch {
          // this server has ended meanwhile: the caller's own time limit answers it
        }
      },
    });
    return ReplyLater;
  }

  override handleInspect(): Record<string, string> {
    return {
      url: this.#web === null ? (this.#stdio === null ? 'agent (no HTTP)' : 'stdio') : this.#web.url + MCP_PATH,
      actions: String(this.#actions),
      requests: String(this.#requests),
      inflight: String(this.#inflight),
      tools: String(this.#ctx.running),
    };
  }

  override terminate(): void {
    this.#ctx?.close();
    const stdio = this.#stdio;
    if (stdio !== null) detach(() => stdio.close(), 'closing stdio', this.log, { error: () => undefined });
  }
}

/** Throws ErrIncorrect naming the first bad option. */
function check(o: McpOptions): void {
  const bad = (what: string): never => {
    throw ErrIncorrect.with(`mcp option ${what}`);
  };
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535))
    bad(`port ${String(o.port)}`);
  if (o.token !== undefined && typeof o.token !== 'string') bad('token (a string)');
  if (o.actions !== undefined && typeof o.actions !== 'boolean') bad('actions (a boolean)');
  if (o.agent !== undefined && typeof o.agent !== 'boolean') bad('agent (a boolean)');
  if (o.stdio !== undefined && typeof o.stdio !== 'boolean') bad('stdio (a boolean)');
  if (o.logRing !== undefined && (!Number.isInteger(o.logRing) || o.logRing < 1)) bad(`logRing ${String(o.logRing)}`);
  if (o.timeout !== undefined && (!Number.isFinite(o.timeout) || o.timeout <= 0 || o.timeout > 120))
    bad(`timeout ${String(o.timeout)} (seconds, up to 120)`);
  if (o.allowedHosts !== undefined && !Array.isArray(o.allowedHosts)) bad('allowedHosts (an array)');
}

/** A running MCP server started by {@link startMcpServer}. */
export interface McpServerHandle {
  /** Its process (registered as `mcp_server`); end it with `node.sendExit(pid, …)` to stop the server. */
  pid: PID;
  /** The MCP endpoint, e.g. `http://localhost:9922/mcp` ('' in agent mode). */
  url: string;
}

/**
 * Starts the MCP server as a plain process of `node` (registered `mcp_server`), without an
 * application; resolves once it listens. Rejects with ErrIncorrect for bad options, the listen
 * error (EADDRINUSE...) or ErrTaken when one already runs.
 */
export function startMcpServer(node: Node, options: McpOptions = {}): Promise<McpServerHandle> {
  // Safe to leave un-awaited, as every Promise an ergo-ts package returns.
  return ignorable(start(node, options), node.log, 'startMcpServer');
}

async function start(node: Node, options: McpOptions): Promise<McpServerHandle> {
  check(options ?? {}); // before the name is taken: a bad call leaves nothing behind
  let url = '';
  const pid = await node.spawnRegister(MCP_SERVER_NAME, McpServerActor, {}, { options, onListen: (u) => (url = u) });
  return { pid, url };
}
