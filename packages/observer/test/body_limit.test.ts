// A POST body over the limit is answered (413 for a command, 400 for a shared stream's open) and
// the connection it came on stays usable: the client's next request on the same keep-alive socket
// is answered, and small commands of another client go on being answered while one posts 2 MiB
// bodies. (The readers used to leave their loop with the body half read, which destroyed the
// socket: the answer went out as `keep-alive`, then the connection was reset under the next
// request.)

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';

import type { Node } from 'ergo-ts';

import { OBSERVER_MAX_BODY } from '../src/index.js';
import { startObserved } from './helpers.js';

interface Answer {
  status: number;
  connection: string | undefined;
  socket: object;
  reused: boolean;
  body: string;
}

const SESSION = '0123456789abcdef0123456789abcdef';

/** One POST through `agent` naming an unknown session; rejects when the connection fails. */
function postOn(agent: http.Agent, url: string, body: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-observer-session': SESSION } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            connection: res.headers.connection,
            socket: req.socket!,
            reused: req.reusedSocket,
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

const BIG = Buffer.alloc(2 * OBSERVER_MAX_BODY, 0x20);
const SMALL = JSON.stringify({ type: 'node_info' });

let node: Node;
let url: string;

before(async () => {
  ({ node, url } = await startObserved());
});

after(() => node.stop());

test('a command over the limit: 413, then the next request on the same connection is answered', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const big = await postOn(agent, `${url}/api/subscribe`, BIG);
    assert.equal(big.status, 413);
    assert.match(big.body, new RegExp(`body larger than ${OBSERVER_MAX_BODY} bytes`));
    assert.notEqual(big.connection, 'close');
    const next = await postOn(agent, `${url}/api/subscribe`, SMALL);
    assert.equal(next.reused, true);
    assert.equal(next.socket, big.socket, 'the same connection');
    assert.equal(next.status, 404, next.body);
    assert.match(next.body, /unknown session/);
  } finally {
    agent.destroy();
  }
});

test('a shared stream open over its limit: 400, then the connection is still usable', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const big = await postOn(agent, `${url}/api/open`, BIG);
    assert.equal(big.status, 400);
    assert.match(big.body, /at most 4096 bytes/);
    const next = await postOn(agent, `${url}/api/subscribe`, SMALL);
    assert.equal(next.socket, big.socket, 'the same connection');
    assert.equal(next.status, 404, next.body);
  } finally {
    agent.destroy();
  }
});

test('small commands of one client are all answered while another posts 2 MiB bodies', async () => {
  const heavy = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const light = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    const bigs = (async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const [a, b] = await Promise.all([
          postOn(heavy, `${url}/api/subscribe`, BIG),
          postOn(heavy, `${url}/api/subscribe`, SMALL),
        ]);
        statuses.push(a.status, b.status);
      }
      return statuses;
    })();
    const smalls = Promise.all(
      Array.from({ length: 4 }, async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 15; i++) statuses.push((await postOn(light, `${url}/api/subscribe`, SMALL)).status);
        return statuses;
      }),
    );
    const [big, small] = await Promise.all([bigs, smalls]);
    assert.deepEqual(
      big,
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 413 : 404)),
    );
    assert.deepEqual(
      small.flat(),
      Array.from({ length: 60 }, () => 404),
    );
  } finally {
    heavy.destroy();
    light.destroy();
  }
});
