// The Observer's server without a browser: static files (compressed copies, SPA fallback), the
// bearer token, the Host check, the POST API's errors, sessions that follow their streams, and
// inspector subscriptions shared by sessions with the last value replayed, and subscribes that
// arrive out of the order the tab made them.

import assert from 'node:assert/strict';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { Actor, type Atom } from 'ergo-ts';
import { HUB_NAME, MANAGER_NAME } from '../src/index.js';
import { SESSION_PREFIX } from '../src/session_protocol.js';
import { StreamClient, get, post, startObserved, WAIT } from './helpers.js';

test('static files: index.html for / and unknown paths, brotli and gzip copies, 405 for other methods', async () => {
  const { node, url } = await startObserved();
  try {
    const index = await get(`${url}/`);
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /text\/html/);
    assert.match(index.body.toString(), /<script type="module" src="\/app.js">/);
    const deep = await get(`${url}/some/route`);
    assert.equal(deep.body.toString(), index.body.toString());

    const br = await get(`${url}/app.js`, { 'accept-encoding': 'gzip, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    const js = brotliDecompressSync(br.body).toString();
    assert.ok(js.length > 10_000, 'the bundle');
    const gz = await get(`${url}/app.js`, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), js);
    const plain = await get(`${url}/app.js`);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), js);
    const again = await get(`${url}/app.js`, { 'if-none-match': String(plain.headers.etag) });
    assert.equal(again.status, 304);

    const wrong = await post(url, '/', {}).catch((e: Error) => e);
    assert.ok(wrong instanceof Error && /405/.test(wrong.message));
  } finally {
    await node.stop();
  }
});

test('Host check: a request naming another host is refused (DNS rebinding)', async () => {
  const { node, url } = await startObserved();
  try {
    assert.equal((await get(`${url}/`, { host: 'evil.example:9911' })).status, 403);
    assert.equal((await get(`${url}/`, { host: 'localhost:9911' })).status, 200);
  } finally {
    await node.stop();
  }
});

test('bearer token: the stream and the commands need it, static files do not', async () => {
  const { node, url } = await startObserved({ token: 's3cret' });
  try {
    assert.equal((await get(`${url}/`)).status, 200);
    assert.equal((await get(`${url}/sse`)).status, 401);
    assert.equal((await get(`${url}/sse?token=wrong`)).status, 401);
    const denied = await post(url, '/api/subscribe', { type: 'node_info' });
    assert.equal(denied.status, 401);
    assert.match(denied.body.error ?? '', /token/);

    const s = await StreamClient.open(url + '', {});
    assert.equal(s.status, 401);
    s.close();
    const ok = await StreamClient.open(url, { authorization: 'Bearer s3cret' });
    assert.equal(ok.status, 200);
    await ok.waitFor('connected');
    const viaQuery = await get(`${url}/api/x?token=s3cret`);
    assert.equal(viaQuery.status, 405, 'past the token check: GET on the API is refused');
    ok.close();
  } finally {
    await node.stop();
  }
});

test('POST API errors: no session header 401, unknown path or session 404, bad JSON 400', async () => {
  const { node, url } = await startObserved();
  try {
    const none = await post(url, '/api/subscribe', { type: 'node_info' });
    assert.equal(none.status, 401);
    const h = { 'x-observer-session': '0'.repeat(32) };
    assert.equal((await post(url, '/api/nope', {}, h)).status, 404);
    assert.equal((await post(url, '/api/subscribe', '{not json', h)).status, 400);
    assert.equal((await post(url, '/api/subscribe', '[1]', h)).status, 400);
    const unknown = await post(url, '/api/subscribe', { type: 'node_info' }, h);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'unknown session');
    const big = await post(url, '/api/subscribe', 'x'.repeat((1 << 20) + 10), h);
    assert.equal(big.status, 413);
  } finally {
    await node.stop();
  }
});

test('a stream is a session: connected frame first, commands checked, the session ends with the stream', async () => {
  const { node, url } = await startObserved();
  try {
    const s = await StreamClient.open(url);
    const c = await s.waitFor('connected');
    assert.match(c.sessionId, /^[0-9a-f]{32}$/);
    assert.equal(c.node.name, node.name);
    assert.ok(c.nodes.some((n: { name: string }) => n.name === node.name));
    const h = { 'x-observer-session': s.session };
    const bad = await post(url, '/api/subscribe', { type: 'no_such' }, h);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error ?? '', /unknown subscription type/);
    const badPid = await post(url, '/api/subscribe', { type: 'process_info', args: { pid: '<ABC>' } }, h);
    assert.equal(badPid.status, 400);
    const badAction = await post(url, '/api/do/explode', {}, h);
    assert.equal(badAction.status, 404);
    assert.equal((await node.inspect(MANAGER_NAME)).sessions, '1');
    s.close();
    await eventually(async () => (await node.inspect(MANAGER_NAME)).sessions === '0', 'the session to end', WAIT);
    await eventually(
      () => !node.processList().some((p) => node.processInfo(p).name.startsWith('observer_session_')),
      'no session process',
      WAIT,
    );
    assert.equal((await node.inspect(HUB_NAME)).sessions, '0');
  } finally {
    await node.stop();
  }
});

class Idle extends Actor {}

test('a subscribe that arrives after a newer one of its key, or after its own unsubscribe, is dropped', async () => {
  // The page's POSTs travel on separate requests: a page size chosen while the first page's
  // subscribe is on its way can arrive first. The older one must not win (the page would show the
  // old page size's frames for as long as it stays open: observer/apps.test's flake).
  const { node, url } = await startObserved();
  try {
    for (let i = 0; i < 30; i++) await node.spawn(Idle, {});
    const s = await StreamClient.open(url);
    await s.waitFor('connected');
    const h = { 'x-observer-session': s.session };
    const page = (limit: number) => ({ type: 'process_page', args: { sort: 'pid', after: 0, offset: 0, limit } });
    const sessionName = `${SESSION_PREFIX}${s.session}` as Atom;
    const sizes = (since: number): number[] =>
      s.frames.slice(since).flatMap((f) => (f.event === 'process_page' ? [(f.data as any).processes.length] : []));

    const newer = await post(url, '/api/subscribe', { ...page(20), id: 2 }, h);
    assert.equal(newer.status, 200);
    await s.waitFor('process_page', (d) => d.processes.length === 20);
    const older = await post(url, '/api/subscribe', { ...page(5), id: 1 }, h);
    assert.equal(older.status, 200);
    assert.equal(older.body.data?.superseded, true, 'the older subscribe is dropped');
    // Frames keep coming each second: the next two are still the newer subscription's.
    const mark = s.frames.length;
    await s.waitFor('process_page', () => sizes(mark).length >= 2, mark);
    assert.deepEqual(sizes(mark).slice(0, 2), [20, 20]);

    // An unsubscribe that overtook its subscribe: the subscribe lands later and is dropped.
    await post(url, '/api/unsubscribe', { ...page(7), id: 3 }, h);
    const late = await post(url, '/api/subscribe', { ...page(7), id: 3 }, h);
    assert.equal(late.body.data?.superseded, true, 'a subscribe after its own unsubscribe is dropped');
    const mark2 = s.frames.length;
    await s.waitFor('process_page', () => sizes(mark2).length >= 1, mark2);
    assert.deepEqual(sizes(mark2).slice(0, 1), [20]);
    assert.equal((await node.inspect(sessionName)).subscriptions, '1');

    // Subscribes without an id (other clients) keep the arrival order.
    await post(url, '/api/subscribe', page(4), h);
    await s.waitFor('process_page', (d) => d.processes.length === 4);
    s.close();
  } finally {
    await node.stop();
  }
});
