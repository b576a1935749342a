// Shared streams at the protocol level, as the browser's shared worker speaks it: one stream
// (`/sse?mux=1`) named by a `stream` frame, a session per tab (`POST /api/open`), each tab's
// frames as `frame` events `<tab> <type> <JSON>`. The tabs' sessions are independent (a switch
// of one leaves the other's subscriptions), closing a tab ends its session, the stream's end ends
// them all, bad opens are refused with their reasons — and over TLS the same runs on HTTP/2 (one
// connection for the stream and every command), while HTTP/1.1 clients are still served.

import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { selfSigned } from 'ergo-ts/net';

import { HUB_NAME, MANAGER_NAME } from '../src/index.js';
import { post, startObserved, WAIT } from './helpers.js';

interface TabFrame {
  tab: string;
  type: string;
  data: any;
}

/** A shared stream read as the worker reads it. */
class MuxStream {
  stream = '';
  readonly frames: TabFrame[] = [];
  closed = false;
  #waiters = new Set<() => void>();

  constructor(body: Readable) {
    body.setEncoding('utf8');
    let buf = '';
    body.on('data', (chunk: string) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        this.#frame(buf.slice(0, i));
        buf = buf.slice(i + 2);
      }
    });
    const end = (): void => {
      this.closed = true;
      this.#wake();
    };
    body.on('end', end);
    body.on('error', end);
    body.on('close', end);
  }

  #frame(text: string): void {
    let event = 'message';
    let data = '';
    for (const line of text.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (event === 'stream') this.stream = (JSON.parse(data) as { stream: string }).stream;
    else if (event === 'frame') {
      const i = data.indexOf(' ');
      const j = data.indexOf(' ', i + 1);
      this.frames.push({ tab: data.slice(0, i), type: data.slice(i + 1, j), data: JSON.parse(data.slice(j + 1)) });
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters) w();
  }

  /** Waits (30 s at most) until `pred` holds; it is checked on every frame. */
  until<T>(what: string, pred: () => T | undefined | false): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const v = pred();
        if (v !== undefined && v !== false) {
          finish();
          resolve(v);
        } else if (this.closed) {
          finish();
          reject(new Error(`stream closed while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => (finish(), reject(new Error(`no ${what} within 30 s`))), 30_000);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** The first frame of `tab` and `type` from index `since` that `pred` accepts. */
  frame(tab: string, type: string, since = 0, pred: (d: any) => boolean = () => true): Promise<any> {
    return this.until(`${type} for ${tab}`, () => {
      for (let i = since; i < this.frames.length; i++) {
        const f = this.frames[i]!;
        if (f.tab === tab && f.type === type && pred(f.data)) return f.data as unknown;
      }
      return undefined;
    });
  }
}

test('tabs on one shared stream: a session each, independent, ended by close and by the stream', async () => {
  const { node, url } = await startObserved({ maxSessions: 3 });
  const req = http.get(`${url}/sse?mux=1`, { headers: { accept: 'text/event-stream' } });
  try {
    const mux = new MuxStream(await new Promise<http.IncomingMessage>((r) => req.once('response', r)));
    const stream = await mux.until('the stream frame', () => mux.stream || undefined);
    assert.match(stream, /^[0-9a-f]{32}$/);
    // The stream alone holds no session.
    assert.equal((await node.inspect(MANAGER_NAME)).sessions, '0');

    for (const tab of ['a', 'b']) assert.equal((await post(url, '/api/open', { stream, tab })).status, 202);
    const a = (await mux.frame('a', 'connected')).sessionId as string;
    const b = (await mux.frame('b', 'connected')).sessionId as string;
    assert.notEqual(a, b);
    assert.equal((await node.inspect(MANAGER_NAME)).sessions, '2');
    assert.equal((await node.inspect(MANAGER_NAME)).streams, '1');

    for (const s of [a, b])
      assert.equal(
        (await post(url, '/api/subscribe', { type: 'node_info', args: {} }, { 'x-observer-session': s })).status,
        200,
      );
    await mux.frame('a', 'node_info');
    await mux.frame('b', 'node_info');
    assert.equal((await node.inspect(HUB_NAME)).subscriptions, '2');

    // Tab a switches (to the node it observes): its subscriptions go and it gets a new
    // `connected` frame (its page subscribes again); tab b keeps its own.
    const mark = mux.frames.length;
    assert.equal((await post(url, '/api/switch', { node: node.name }, { 'x-observer-session': a })).status, 200);
    await mux.frame('a', 'connected', mark);
    assert.ok(!mux.frames.slice(mark).some((f) => f.tab === 'b' && f.type === 'connected'));
    await eventually(async () => (await node.inspect(HUB_NAME)).subscriptions === '1', 'a alone to leave', WAIT);
    const later = mux.frames.length;
    await mux.frame('b', 'node_info', later);

    // Refusals: a bad stream, a bad tab, an unknown stream, one session over maxSessions (3).
    assert.equal((await post(url, '/api/open', { stream: 'nope', tab: 'c' })).status, 400);
    assert.equal((await post(url, '/api/open', { stream, tab: 'no spaces' })).status, 400);
    assert.equal((await post(url, '/api/open', { stream: 'f'.repeat(32), tab: 'c' })).status, 404);
    assert.equal((await post(url, '/api/open', { stream, tab: 'c' })).status, 202);
    await mux.frame('c', 'connected');
    const over = await post(url, '/api/open', { stream, tab: 'd' });
    assert.equal(over.status, 503, JSON.stringify(over.body));

    // A closed tab ends its session (and its subscriptions); the others stay.
    assert.equal((await post(url, '/api/close', {}, { 'x-observer-session': b })).status, 200);
    await eventually(async () => (await node.inspect(MANAGER_NAME)).sessions === '2', 'b to end', WAIT);
    await eventually(async () => (await node.inspect(HUB_NAME)).subscriptions === '0', 'b to leave the hub', WAIT);
    const gone = await post(url, '/api/subscribe', { type: 'node_info' }, { 'x-observer-session': b });
    assert.equal(gone.status, 404);

    // The stream's end ends every session on it.
    req.destroy();
    await eventually(async () => (await node.inspect(MANAGER_NAME)).sessions === '0', 'every tab to end', WAIT);
    assert.equal((await node.inspect(MANAGER_NAME)).shared_streams, '0');
  } finally {
    req.destroy();
    await node.stop();
  }
});

test('over TLS the Observer speaks HTTP/2 (stream and commands on one connection) and still HTTP/1.1', async () => {
  const { cert, key } = selfSigned('localhost');
  const { node, url } = await startObserved({ tls: { cert, key } });
  const session = http2.connect(url, { rejectUnauthorized: false });
  session.on('error', () => undefined);
  try {
    const h2post = (path: string, body: unknown, headers: Record<string, string> = {}): Promise<number> =>
      new Promise((resolve, reject) => {
        const r = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json', ...headers });
        r.on('response', (h) => resolve(Number(h[':status'])));
        r.on('error', reject);
        r.resume();
        r.end(JSON.stringify(body));
      });
    // The page itself, over HTTP/2.
    const page = session.request({ ':path': '/' });
    const status = await new Promise<number>((r) => page.once('response', (h) => r(Number(h[':status']))));
    page.resume();
    assert.equal(status, 200);

    const sse = session.request({ ':path': '/sse?mux=1', accept: 'text/event-stream' });
    const mux = new MuxStream(sse);
    const stream = await mux.until('the stream frame', () => mux.stream || undefined);
    assert.equal(await h2post('/api/open', { stream, tab: 't1' }), 202);
    const id = (await mux.frame('t1', 'connected')).sessionId as string;
    assert.equal(await h2post('/api/subscribe', { type: 'node_info', args: {} }, { 'x-observer-session': id }), 200);
    const info = await mux.frame('t1', 'node_info');
    assert.equal(info.node, node.name);
    // One TCP connection carried all of it.
    assert.equal((await node.inspect(MANAGER_NAME)).streams, '1');

    // An HTTP/1.1 client is served as before.
    const h1 = await new Promise<number>((resolve, reject) => {
      https
        .get(`${url}/`, { rejectUnauthorized: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    assert.equal(h1, 200);
    sse.close();
  } finally {
    session.close();
    // Stopping ends the HTTP/2 connection too (node.stop would wait for it otherwise).
    await node.stop();
  }
});
