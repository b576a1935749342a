// Options of the MCP server and their defaults (Go Ergo's MCP application's where it has one).

import type { ServerOptions } from 'node:https';
import type { LogLevelInput } from 'ergo-ts';

/** Default port (Go Ergo's MCP application). */
export const DEFAULT_MCP_PORT = 9922;
/** Default bind host: reachable from this machine only. */
export const DEFAULT_MCP_HOST = 'localhost';
/** The path of the MCP endpoint (Go Ergo's). */
export const MCP_PATH = '/mcp';
/** Largest request body accepted. */
export const MCP_MAX_BODY = 1 << 20;

/** Options of {@link createMcpApplication} and {@link startMcpServer}. */
export interface McpOptions {
  /** Host or address to bind (default 'localhost'). */
  host?: string;
  /** TCP port (default 9922; 0 picks a free one: read it from the url). */
  port?: number;
  /**
   * A bearer token, as the Observer takes it: when set, every request needs
   * `Authorization: Bearer <token>`; without it or with another one the answer is 401. Without a
   * token anyone who reaches the port can inspect the node (and act, with `actions`): keep the
   * default loopback host then.
   */
  token?: string;
  /**
   * Enables the action tools (process_kill, send_exit, send_message, log_level_set, app_start,
   * app_stop). Default false: the server only reads; the action tools are not listed and calls
   * to them are refused.
   */
  actions?: boolean;
  /**
   * Agent mode (Go Ergo's `Port: 0`): no HTTP listener; the node's tools are reached from
   * another node's MCP server through the cluster proxy (its tools' `node` argument).
   */
  agent?: boolean;
  /**
   * Serve MCP on this OS process's stdin/stdout instead of HTTP (the `ergo-ts-mcp` command does):
   * the process that started it is the one client. No token there (nobody else can write to
   * those pipes); `actions` applies as over HTTP. Nothing else may write to stdout.
   */
  stdio?: boolean;
  /** TLS material for HTTPS (key, cert... as node:https takes). */
  tls?: ServerOptions;
  /**
   * Host names the `Host` header may carry (a guard against DNS rebinding). Default: when bound to
   * a loopback name or address, `localhost`, `127.0.0.1` and `[::1]` only; otherwise any.
   */
  allowedHosts?: string[];
  /** Log records kept per inspected node for `log_tail` (default 1000). */
  logRing?: number;
  /** Default seconds one tool waits for a node (default 30, at most 120; a tool's `timeout` argument overrides it). */
  timeout?: number;
  /** Log level of the server's process (default: the node's). */
  logLevel?: LogLevelInput;
}
