#!/usr/bin/env node
// `ergo-ts-mcp` (`npx @ergo-ts/mcp`): the MCP server for assistants that start their servers as
// a command and speak MCP on its stdin/stdout (Claude Desktop, Claude Code, most CLI agents).
// It starts a hidden node (`mcp-<6 random>@localhost`, not listed to the cluster's nodes), which
// reaches the cluster through the registrar (the embedded one, port 4499, by default) or the
// static routes given with --route, and serves every tool there; a tool's `node` argument names
// the node it runs on. Read-only unless --actions. Logs go to stderr: stdout is the protocol.
// The cookie comes from $COOKIE, else --cookie (which warns: a command line is visible to others).

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import { NetworkMode, startNode, type Atom } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import { createMcpApplication } from './app.js';
import { detach } from './detach.js';
import { message } from './inspect.js';
import { MCP_VERSION } from './version.js';

const HELP = `usage: ergo-ts-mcp [options]   (MCP on stdin/stdout)
  --cookie COOKIE         the cluster's cookie (prefer the COOKIE env var)
  --route NAME@HOST:PORT  a static route to a node (repeatable)
  --registrar-port N      the embedded registrar's port (default 4499; 0 = none, routes only)
  --name NAME             this node's name (default mcp-<random>@localhost)
  --actions               enable the action tools (kill, send, call, log levels, connect...)
  --timeout SECONDS       default time a tool waits for a node (default 30, at most 120)
  --debug                 log at debug level (to stderr)
  --version               print the version`;

/** `name@host:port` → the node name and its address. */
function parseRoute(text: string): { name: string; host: string; port: number } {
  const m = /^([^@\s]+@[^:\s]+):(\d+)$/.exec(text);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`--route ${text}: expected name@host:port`);
  return { name: m[1]!, host: m[1]!.slice(m[1]!.indexOf('@') + 1), port };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cookie: { type: 'string' },
      route: { type: 'string', multiple: true },
      'registrar-port': { type: 'string' },
      name: { type: 'string' },
      actions: { type: 'boolean' },
      timeout: { type: 'string' },
      debug: { type: 'boolean' },
      version: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stderr.write(HELP + '\n');
    return;
  }
  if (values.version === true) {
    process.stderr.write(`ergo-ts-mcp ${MCP_VERSION}\n`);
    return;
  }
  const registrarPort = values['registrar-port'] === undefined ? 4499 : Number(values['registrar-port']);
  if (!Number.isInteger(registrarPort) || registrarPort < 0 || registrarPort > 65535)
    throw new Error(`--registrar-port ${values['registrar-port']}: not a port`);
  const timeout = values.timeout === undefined ? 30 : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 120) throw new Error(`--timeout ${values.timeout}`);
  let cookie = process.env.COOKIE ?? '';
  if (cookie === '' && values.cookie !== undefined) {
    cookie = values.cookie;
    process.stderr.write('warning: a cookie on the command line is visible to other users; prefer COOKIE=...\n');
  }
  if (cookie === '') throw new Error('a cookie is required to join the cluster: COOKIE=... or --cookie');
  const V = { name: '', release: '' };
  const routes = (values.route ?? []).map(parseRoute).map((r) => ({
    match: '^' + r.name.replace(/[.$]/g, '\\$&') + '$',
    route: { route: { host: r.host, port: r.port, tls: false, handshakeVersion: V, protoVersion: V } },
  }));
  const node = await startNode((values.name ?? `mcp-${randomBytes(3).toString('hex')}@localhost`) as Atom, {
    handleSignals: true,
    log: {
      level: values.debug === true ? 'debug' : 'warning',
      defaultLogger: { output: process.stderr },
    },
    network: {
      mode: NetworkMode.Hidden,
      cookie,
      acceptors: [],
      registrar: registrarPort === 0 ? null : createEmbeddedRegistrar({ port: registrarPort }),
      routes,
    },
    applications: [createMcpApplication({ stdio: true, actions: values.actions === true, timeout })],
  });
  // The assistant ends the server by closing its stdin.
  process.stdin.on('end', () => detach(() => node.stop(), 'stopping the node', node.log));
  await node.wait();
}

detach(main, 'ergo-ts-mcp', undefined, {
  error: (err) => {
    process.exitCode = 1;
    process.stderr.write(`ergo-ts-mcp: ${message(err)}\n`);
  },
});
