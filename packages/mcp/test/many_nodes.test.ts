// `cluster_nodes` with a hundred nodes (issue 49): the MCP node is the embedded registrar's server
// for 99 others of this process (each with its own acceptor and registrar client); the tool
// lists every one the registrar knows, then — once the MCP node has called each — every one
// connected, each list sorted and counted, with nothing cut off. Logs at error level: the 100
// nodes' stops log each other's lost connections, which is not what is tested.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Actor, ProcessID, startNode, type Atom, type Node, type PID, type Ref } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import { freeTcpUdpPort } from '@ergo-ts/test-support';
import { createMcpApplication } from '../src/index.js';
import { COOKIE, connect, ok } from './helpers.js';

const OTHERS = 99;
const TOKEN = 'many-nodes-token';

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

interface ClusterNodes {
  self: string;
  connected: string[];
  connected_count: number;
  discovered: string[];
  discovered_count: number;
  registrar_error?: string;
}

let mcp: Node;
const others: Node[] = [];
let client: Client;

function registrar(port: number): ReturnType<typeof createEmbeddedRegistrar> {
  // A hundred registrations from one process on a loaded machine: the registrar is not what the
  // test is about, so a generous registration deadline.
  return createEmbeddedRegistrar({ port, retryInterval: 200, registerTimeout: 15_000 });
}

before(async () => {
  const port = await freeTcpUdpPort();
  const app = createMcpApplication({ port: 0, token: TOKEN });
  mcp = await startNode(`mcpmany${process.pid}@localhost`, {
    log: { level: 'error' },
    applications: [app],
    network: { cookie: COOKIE, acceptors: [{ host: '127.0.0.1', port: 0 }], registrar: registrar(port) },
  });
  for (let i = 0; i < OTHERS; i++) {
    const n = await startNode(`many${String(i).padStart(3, '0')}_${process.pid}@localhost`, {
      log: { level: 'error' },
      network: { cookie: COOKIE, acceptors: [{ host: '127.0.0.1', port: 0 }], registrar: registrar(port) },
    });
    await n.spawnRegister('echo', () => new Echo());
    others.push(n);
  }
  client = await connect(app.url!, TOKEN);
});

after(async () => {
  await client?.close();
  await Promise.allSettled(others.map((n) => n.stop()));
  await mcp?.stop();
});

test(`cluster_nodes with ${OTHERS + 1} nodes: all ${OTHERS} others discovered, then all connected, sorted and counted`, async () => {
  const names = others.map((n) => n.name).sort();
  const before = await ok<ClusterNodes>(client, 'cluster_nodes');
  assert.equal(before.self, mcp.name);
  assert.equal(before.registrar_error, undefined);
  assert.deepEqual(before.discovered, names);
  assert.equal(before.discovered_count, OTHERS);
  assert.deepEqual(before.connected, []);
  assert.equal(before.connected_count, 0);

  // Connect the MCP node to every other: one call each, 8 at a time.
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < others.length) {
      const n = others[next++]!;
      assert.equal(await mcp.call(new ProcessID('echo' as Atom, n.name), n.name, { timeout: 30_000 }), n.name);
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));

  const after = await ok<ClusterNodes>(client, 'cluster_nodes');
  assert.deepEqual(after.connected, names);
  assert.equal(after.connected_count, OTHERS);
  assert.deepEqual(after.discovered, names);
});
