// A body over the 1 MiB limit is answered 413 and the connection it came on stays usable: the
// client's next request on the same keep-alive socket is answered, and small calls of another
// client go on being answered while one posts 2 MiB bodies. (The reader used to leave its loop
// with the body half read, which destroyed the socket: the 413 went out as `keep-alive`, then the
// connection was reset under the client's next request.)

import { strict as assert } from 'node:assert';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';

import { MCP_MAX_BODY, startMcpServer } from '../src/index.js';

interface Answer {
  status: number;
  connection: string | undefined;
  /** Whether the request went out on a socket an earlier request had used. */
  reused: boolean;
  /** The socket it went out on (identity only). */
  socket: object;
  body: string;
}

/** One POST through `agent`; rejects when the connection fails. */
function postOn(agent: http.Agent, url: string, body: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            connection: res.headers.connection,
            reused: req.reusedSocket,
            socket: req.socket!,
            body: data,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const PING = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
const BIG = Buffer.alloc(2 * MCP_MAX_BODY, 0x20);

let node: Node;
let url: string;

before(async () => {
  node = await startNode(`mcpbody${process.pid}@localhost`, { log: { level: 'error' } });
  url = (await startMcpServer(node, { port: 0 })).url;
});

after(() => node.stop());

test('a body over the limit: 413, then the next request on the same connection is answered', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const big = await postOn(agent, url, BIG);
    assert.equal(big.status, 413);
    assert.match(big.body, new RegExp(`body larger than ${MCP_MAX_BODY} bytes`));
    assert.notEqual(big.connection, 'close', 'answered as keep-alive, so the connection must stay usable');
    const next = await postOn(agent, url, PING);
    assert.equal(next.status, 200, next.body);
    assert.equal(next.reused, true, 'the ping went out on the connection the large body came on');
    assert.equal(next.socket, big.socket);
    assert.deepEqual(JSON.parse(next.body), { jsonrpc: '2.0', id: 1, result: {} });
  } finally {
    agent.destroy();
  }
});

test('small calls of one client are all answered while another posts 2 MiB bodies', async () => {
  const heavy = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const light = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    const bigs = (async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const [a, b] = await Promise.all([postOn(heavy, url, BIG), postOn(heavy, url, PING)]);
        statuses.push(a.status, b.status);
      }
      return statuses;
    })();
    const smalls = Promise.all(
      Array.from({ length: 4 }, async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 15; i++) statuses.push((await postOn(light, url, PING)).status);
        return statuses;
      }),
    );
    const [big, small] = await Promise.all([bigs, smalls]);
    assert.deepEqual(
      big,
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 413 : 200)),
    );
    assert.deepEqual(
      small.flat(),
      Array.from({ length: 60 }, () => 200),
    );
  } finally {
    heavy.destroy();
    light.destroy();
  }
});
