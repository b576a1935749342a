// The process tools on another ergo-ts node reached through the switcher: the mailbox peek is
// asked of that node's system_inspect (an ergo-ts extension of the inspector protocol) and shows
// its process' queues; the message trace runs there, rate-limited there, and sends its records
// to the session, which writes them as `trace` frames; it ends when stopped, and by itself when
// the session goes. Both are on that node's record. A node that hides message contents
// (`security.inspectMessages: false`) refuses with a stable code; a Go node has no such request
// and keeps `local_only`. In Chromium, the process page of a process on that node peeks and
// traces it. Screenshots: test-output/remote-*.png.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { Actor, PID, startNode, type Atom, type Node } from 'ergo-ts';

import type { Browser, Page } from 'playwright-core';

import {
  chromiumPath,
  GO_COOKIE,
  GO_NETWORK,
  launchChromium,
  peerPath,
  post,
  startGo,
  startObserved,
  StreamClient,
  VIEWPORT,
  WAIT,
  type GoPeer,
} from './helpers.js';
import { connectTo, failureShot, shot } from './pages_support.js';

/** The page's document and location, as the functions run in the browser see them. */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};
declare const location: { hash: string };

/** Keeps the messages after a `hold` in its mailbox until released. */
class Holder extends Actor {
  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    if (message === 'hold') await gate;
  }
}
let release: () => void = () => undefined;
let gate: Promise<void> = Promise.resolve();
/** A new gate for the Holders of a test (each test releases its own). */
function closeGate(): void {
  gate = new Promise<void>((r) => (release = r));
}

/** Forwards `{to, m}` to `to`; ignores anything else. */
class Relay extends Actor {
  override handleMessage(_from: PID, message: unknown): void {
    const m = message as { to?: PID; m?: unknown } | null;
    if (m !== null && typeof m === 'object' && m.to !== undefined) this.send(m.to, m.m);
  }
}
class Sink extends Actor {}

/** A second ergo-ts node the Observer's node can dial; its log lines in `lines`. */
async function otherNode(
  name: string,
  inspectMessages?: boolean,
): Promise<{ node: Node; port: number; lines: string[] }> {
  const lines: string[] = [];
  const node = await startNode(`${name}${process.pid}@localhost` as Atom, {
    log: { level: 'info', defaultLogger: { output: { write: (l: string) => lines.push(l) } } },
    network: GO_NETWORK,
    ...(inspectMessages === undefined ? {} : { security: { inspectMessages } }),
  });
  const port = Number(/:(\d+)$/.exec(node.network().acceptors()[0]!.info().interface)![1]);
  return { node, port, lines };
}

/** A stream of the Observer at `url` switched to `name` (dialled at `port`). */
async function observe(url: string, name: string, port: number): Promise<StreamClient> {
  const stream = await StreamClient.open(url);
  await stream.waitFor('connected');
  const mark = stream.frames.length;
  const sw = await post(
    url,
    '/api/switch',
    { node: name, host: '127.0.0.1', port, cookie: GO_COOKIE },
    { 'x-observer-session': stream.session },
  );
  assert.equal(sw.status, 200, JSON.stringify(sw.body));
  await stream.waitFor('connected', (d: { node: { name: string } }) => d.node.name === name, mark);
  return stream;
}

/** Trace processes running on `node` (system_inspect's, one per trace). */
function traceProcesses(node: Node): number {
  let n = 0;
  for (const p of node.processList()) {
    try {
      if (node.processInfo(p).behavior === 'TraceInspector') n++;
    } catch {
      // ended meanwhile
    }
  }
  return n;
}

test('another ergo-ts node: mailbox peek and a rate-limited message trace run there, on its record; the trace ends with a switch and with the session', async () => {
  const { node, url } = await startObserved({}, { network: GO_NETWORK });
  const other = await otherNode('toolsother');
  closeGate();
  const streams: StreamClient[] = [];
  try {
    const holder = await other.node.spawn(Holder, {});
    other.node.send(holder, 'hold');
    other.node.send(holder, { order: 7, note: '<b>kept</b>' });
    const relay = await other.node.spawn(Relay, {});
    const sink = await other.node.spawn(Sink, {});
    const stream = await observe(url, other.node.name, other.port);
    streams.push(stream);
    const h = { 'x-observer-session': stream.session };

    // The peek: the held message, as text, still waiting afterwards.
    const peek = await post(url, '/api/do/mailbox_peek', { pid: String(holder), limit: 5 }, h);
    assert.equal(peek.status, 200, JSON.stringify(peek.body));
    const data = (peek.body as { data: { lengths: { main: number }; queues: { main: { text: string }[] } } }).data;
    assert.equal(data.lengths.main, 1);
    assert.deepEqual(
      data.queues.main.map((r) => r.text),
      ['{ order: 7, note: "<b>kept</b>" }'],
    );
    assert.equal(other.node.processInfo(holder).mailboxQueues.main, 1, 'the peek took nothing');

    // The trace: what the process receives and what it sends, as text.
    type Trace = { pid: string; records: { dir: string; text: string; peer: string }[]; dropped: number };
    const mark = stream.frames.length;
    const traced = (): Trace[] =>
      stream.frames
        .slice(mark)
        .filter((f) => f.event === 'trace' && (f.data as Trace).pid === String(relay))
        .map((f) => f.data as Trace);
    const start = await post(url, '/api/do/trace_start', { pid: String(relay), count: 1000 }, h);
    assert.equal(start.status, 200, JSON.stringify(start.body));
    other.node.send(relay, { to: sink, m: 'ping' });
    await eventually(
      () => traced().flatMap((t) => t.records).length >= 2,
      'the message received and the one sent',
      WAIT,
    );
    const records = traced().flatMap((t) => t.records);
    assert.equal(records[0]!.dir, 'in');
    assert.equal(records[0]!.text, `{ to: ${String(sink)}, m: "ping" }`);
    assert.deepEqual(
      { dir: records[1]!.dir, peer: records[1]!.peer, text: records[1]!.text },
      { dir: 'out', peer: String(sink), text: '"ping"' },
    );

    // Rate-limited there: 5 records a second kept (a new trace replaces the running one), the rest counted.
    const limited = await post(url, '/api/do/trace_start', { pid: String(relay), rate: 5, count: 1000 }, h);
    assert.equal(limited.status, 200, JSON.stringify(limited.body));
    for (let i = 0; i < 50; i++) other.node.send(relay, { to: sink, m: `ping ${i}` });
    await eventually(() => traced().some((t) => t.dropped > 0), 'drops counted on the traced node', WAIT);

    // Stopped from the page: the end comes from the node that ran it.
    const stop = await post(url, '/api/do/trace_stop', { pid: String(relay) }, h);
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    // (the first trace's end came when the second replaced it; the second's when stopped)
    await eventually(
      () => stream.frames.slice(mark).filter((f) => f.event === 'trace_end').length === 2,
      'both traces ended',
      WAIT,
    );
    const ends = stream.frames
      .slice(mark)
      .filter((f) => f.event === 'trace_end')
      .map((f) => f.data as { end: string; kept: number; dropped: number });
    assert.deepEqual(
      ends.map((e) => e.end),
      ['stopped', 'stopped'],
    );
    assert.ok(ends[1]!.kept >= 5 && ends[1]!.dropped > 0, JSON.stringify(ends[1]));
    await eventually(() => traceProcesses(other.node) === 0, 'the trace process gone', WAIT);
    for (const what of ['mailbox peek of', 'message trace of'])
      assert.ok(
        other.lines.some((l) => l.includes(`inspector action from `) && l.includes(what)),
        `${what} on the traced node's record`,
      );

    // A switch to another node ends a trace left running there (its records would be dropped).
    const before = await post(url, '/api/do/trace_start', { pid: String(relay) }, h);
    assert.equal(before.status, 200, JSON.stringify(before.body));
    await eventually(() => traceProcesses(other.node) === 1, 'a trace running', WAIT);
    const home = await post(url, '/api/switch', { node: node.name }, h);
    assert.equal(home.status, 200, JSON.stringify(home.body));
    await eventually(() => traceProcesses(other.node) === 0, 'the trace ended with the switch', WAIT);
    const back = await post(
      url,
      '/api/switch',
      { node: other.node.name, host: '127.0.0.1', port: other.port, cookie: GO_COOKIE },
      h,
    );
    assert.equal(back.status, 200, JSON.stringify(back.body));

    // A trace left running ends on the traced node when the session goes.
    const again = await post(url, '/api/do/trace_start', { pid: String(relay) }, h);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    await eventually(() => traceProcesses(other.node) === 1, 'a trace running', WAIT);
    stream.close();
    await eventually(() => traceProcesses(other.node) === 0, 'the trace ended with its session', WAIT);
  } finally {
    release();
    for (const s of streams) s.close();
    await node.stop();
    await other.node.stop();
  }
});

test('a node that hides message contents refuses both with messages_hidden; a Go node keeps local_only', async (t) => {
  const { node, url } = await startObserved({}, { network: GO_NETWORK });
  const hidden = await otherNode('toolshidden', false);
  const streams: StreamClient[] = [];
  try {
    const relay = await hidden.node.spawn(Relay, {});
    const stream = await observe(url, hidden.node.name, hidden.port);
    streams.push(stream);
    const h = { 'x-observer-session': stream.session };
    for (const action of ['mailbox_peek', 'trace_start']) {
      const r = await post(url, `/api/do/${action}`, { pid: String(relay) }, h);
      assert.equal(r.status, 403, `${action}: ${JSON.stringify(r.body)}`);
      assert.equal((r.body as { code?: string }).code, 'messages_hidden');
      assert.match(String(r.body.error), /security\.inspectMessages: false/);
    }
    assert.equal(traceProcesses(hidden.node), 0);

    const bin = peerPath(t);
    if (bin === undefined) return;
    const go = await startGo(bin, `toolsgo${process.pid}@localhost`);
    try {
      const gs = await observe(url, go.name, go.port);
      streams.push(gs);
      const gh = { 'x-observer-session': gs.session };
      const pid = String(new PID(go.name as Atom, 1001, 0));
      const refused = async (): Promise<void> => {
        for (const action of ['mailbox_peek', 'trace_start']) {
          const r = await post(url, `/api/do/${action}`, { pid }, gh);
          assert.equal(r.status, 400, `${action}: ${JSON.stringify(r.body)}`);
          assert.equal((r.body as { code?: string }).code, 'local_only');
          assert.match(String(r.body.error), new RegExp(`not on ${go.name}`));
        }
      };
      // Before any node_info frame the connection's handshake names the framework (regression:
      // the ergo-ts request went to the Go node, which never answers it: 504 after 5 s).
      await refused();
      // And after the session learnt it from a node_info frame.
      assert.equal((await post(url, '/api/subscribe', { type: 'node_info', args: {} }, gh)).status, 200);
      await gs.waitFor('node_info');
      await refused();
    } finally {
      await go.stop();
    }
  } finally {
    for (const s of streams) s.close();
    await node.stop();
    await hidden.node.stop();
  }
});

/** Waits until the text of `selector` matches `re`; a failure names the text shown (and takes a screenshot). */
async function textLike(page: Page, selector: string, re: RegExp): Promise<void> {
  try {
    await page.waitForFunction(
      ([sel, src]) => new RegExp(src).test(document.querySelector(sel)?.textContent ?? ''),
      [selector, re.source] as const,
      { timeout: WAIT.timeoutMs },
    );
  } catch (err) {
    await failureShot(page, 'remote-failure');
    const shown = await page.evaluate((sel) => document.querySelector(sel)?.textContent ?? '', selector);
    throw new Error(`${selector} never matched ${re}: "${shown}"`, { cause: err });
  }
}

test('in Chromium: the process page of a process on another ergo-ts node peeks and traces it there', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved({}, { network: GO_NETWORK });
  const other = await otherNode('toolspage');
  closeGate();
  let browser: Browser | undefined;
  try {
    const holder = await other.node.spawn(Holder, {});
    other.node.send(holder, 'hold');
    other.node.send(holder, { waiting: 'on the other node' });
    const relay = await other.node.spawn(Relay, {});
    const sink = await other.node.spawn(Sink, {});
    browser = await launchChromium(executablePath);
    const page = await browser.newPage({ viewport: VIEWPORT });
    await page.goto(url);
    await connectTo(page, { name: other.node.name, port: other.port } as GoPeer);
    const open = async (pid: unknown): Promise<void> => {
      await page.evaluate((h) => (location.hash = h), `#/process/${encodeURIComponent(String(pid))}`);
      await page.waitForSelector('[data-page=process] [data-testid=process-state]', { timeout: WAIT.timeoutMs });
    };

    await open(holder);
    await page.click('[data-testid=peek]');
    await textLike(page, '[data-testid=peek-main]', /waiting: "on the other node"/);
    await shot(page, 'remote-peek');

    await open(relay);
    await page.fill('[data-testid=trace-rate]', '100');
    await page.click('[data-testid=trace-start]');
    await textLike(page, '[data-testid=trace-status]', /tracing/);
    for (let i = 0; i < 3; i++) other.node.send(relay, { to: sink, m: `remote ping ${i}` });
    await textLike(page, '[data-testid=trace-records]', /remote ping 2/);
    await eventually(() => traceProcesses(other.node) === 1, 'the trace runs on the other node', WAIT);
    await shot(page, 'remote-trace');
    await page.click('[data-testid=trace-stop]');
    await textLike(page, '[data-testid=trace-status]', /— stopped$/);
    await eventually(() => traceProcesses(other.node) === 0, 'no trace left after stop', WAIT);
  } finally {
    release();
    await browser?.close();
    await node.stop();
    await other.node.stop();
  }
});

test('in Chromium: a connect made before the tab has its session waits for it, then switches', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved({}, { network: GO_NETWORK });
  const other = await otherNode('toolsearly');
  let browser: Browser | undefined;
  try {
    browser = await launchChromium(executablePath);
    const page = await browser.newPage({ viewport: VIEWPORT });
    // The tab's own stream, held back: no `connected` frame yet, so no session (as on a loaded
    // machine, where a soak run clicked connect first and the Observer refused the command).
    let letStreamGo: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (letStreamGo = resolve));
    await page.route('**/sse**', async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${url}/#/info/own-stream`);
    await page.click('text=connect to…');
    await page.fill('.connect input[placeholder="node@host"]', other.node.name);
    await page.fill('.connect input[placeholder=host]', '127.0.0.1');
    await page.fill('.connect input[placeholder=port]', String(other.port));
    await page.click('.connect button[type=submit]');
    letStreamGo();
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid=current-node]')?.textContent === n,
      other.node.name,
      { timeout: WAIT.timeoutMs },
    );
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]', { timeout: WAIT.timeoutMs });
  } finally {
    await browser?.close();
    await other.node.stop();
    await node.stop();
  }
});
