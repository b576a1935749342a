// A tool's `timeout` bounds the whole call to another node, the dial included: a node whose
// address accepts the TCP connection and never speaks (a local listener that holds every socket)
// is answered ERR_MCP_UNREACHABLE within the call's time, not after the 8 s the MCP server used to
// allow every dial. The network's own dial and handshake limits are set far longer here, so only
// the tool's time can end the call first; a fallback timer armed at 7 s (under the old 8 s) fails
// the test should the call wait for the old limit.

import { strict as assert } from 'node:assert';
import net from 'node:net';
import { after, before, test } from 'node:test';

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startNode, type Node } from 'ergo-ts';

import { CONNECT_TIMEOUT, startMcpServer } from '../src/index.js';
import { COOKIE, call, connect, exactly, routeTo, type ToolOutcome } from './helpers.js';

/** Under CONNECT_TIMEOUT: a call that waits for the old dial limit loses the race to it. */
const FALLBACK_MS = CONNECT_TIMEOUT - 1000;

const silentName = `silent${process.pid}@localhost`;
const held: net.Socket[] = [];
let silent: net.Server;
let a: Node;
let client: Client;

before(async () => {
  // Accepts every connection and never writes a byte: a node that does not answer its handshake.
  silent = net.createServer((socket) => {
    held.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as net.AddressInfo).port;
  a = await startNode(`mcpdial${process.pid}@localhost`, {
    log: { level: 'error' },
    network: {
      cookie: COOKIE,
      acceptors: [{ host: '127.0.0.1', port: 0 }],
      registrar: null,
      routes: [{ match: exactly(silentName), route: routeTo(port) }],
      // Far beyond the old 8 s: only the tool's time may end the dial first.
      dialTimeout: 60_000,
      handshakeTimeout: 60_000,
    },
  });
  const server = await startMcpServer(a, { port: 0 });
  client = await connect(server.url);
});

after(async () => {
  await client?.close();
  await a?.stop();
  for (const s of held) s.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

/** `name` called with `args`, or 'fallback' when the fallback timer fires first. */
async function raced(name: string, args: Record<string, unknown>): Promise<ToolOutcome | 'fallback'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fallback = new Promise<'fallback'>((resolve) => (timer = setTimeout(() => resolve('fallback'), FALLBACK_MS)));
  try {
    return await Promise.race([call(client, name, args), fallback]);
  } finally {
    clearTimeout(timer);
  }
}

test('node_info with timeout 1 to a node that never answers: ERR_MCP_UNREACHABLE within the call', async () => {
  const r = await raced('node_info', { node: silentName, timeout: 1 });
  assert.notEqual(r, 'fallback', `node_info waited ${FALLBACK_MS} ms: the dial was not bounded by the call's timeout`);
  const outcome = r as ToolOutcome;
  assert.equal(outcome.isError, true);
  assert.match(outcome.text, new RegExp(`^ERR_MCP_UNREACHABLE: could not connect to ${silentName} within 1 s`));
  assert.ok(held.length >= 1, 'the dial reached the listener');
});

test('network_ping and process_list with timeout 1: the same bound', async () => {
  for (const [tool, args] of [
    ['network_ping', { name: silentName, timeout: 1 }],
    ['process_list', { node: silentName, timeout: 1 }],
  ] as const) {
    const r = await raced(tool, args);
    assert.notEqual(r, 'fallback', `${tool} waited ${FALLBACK_MS} ms`);
    assert.match((r as ToolOutcome).text, /^ERR_MCP_UNREACHABLE: could not connect to .* within 1 s/, tool);
  }
});
