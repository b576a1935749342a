// The process page's operator tools in Chromium: the mailbox peek shows what waits, as text (a
// message holding an <img onerror> stays text), refreshed on demand, without disturbing the
// mailbox; the message trace streams what a process receives and sends, rate-limited (the rest
// counted as dropped), and stops by itself (count, time, the process ending, the page going
// away, the tab closing). Both need the token, are logged on the node, and can be turned off
// (a stable code, and the page says why). Another node's processes: remote_tools.test.ts.
// Screenshots: test-output/tools-*.png.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { BrowserContext, Page } from 'playwright-core';
import { Actor, type Node, type PID } from 'ergo-ts';

import { SESSION_PREFIX } from '../src/index.js';
import { chromiumPath, FileChromium, post, startObserved, StreamClient, WAIT } from './helpers.js';
import { shot } from './pages_support.js';

/** One Chromium for this file's tests, a lease of its context each. */
const browsers = new FileChromium();

/** The page's document and window, as the functions run in the browser see them. */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};
declare const window: Record<string, unknown>;
declare const location: { hash: string };

const TOKEN = 'peek-token';
const INJECTION = '<img src=x onerror="window.__pwned=1">';

/** Keeps the messages after its first in its mailbox until released. */
class Holder extends Actor {
  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    if (message === 'hold') await gate;
    handled.push(message);
  }
}
let release: () => void = () => undefined;
const gate = new Promise<void>((r) => (release = r));
const handled: unknown[] = [];

/** Forwards `{to, m}` to `to`; ignores anything else. */
class Relay extends Actor {
  override handleMessage(_from: PID, message: unknown): void {
    const m = message as { to?: PID; m?: unknown } | null;
    if (m !== null && typeof m === 'object' && m.to !== undefined) this.send(m.to, m.m);
  }
}

function logSink(): { lines: string[]; options: { log: { level: 'info'; defaultLogger: unknown } } } {
  const lines: string[] = [];
  return {
    lines,
    options: { log: { level: 'info', defaultLogger: { output: { write: (l: string) => lines.push(l) } } } },
  };
}

const text = (page: Page, sel: string): Promise<string> =>
  page.evaluate((s) => document.querySelector(s)?.textContent ?? '', sel);

async function openProcess(page: Page, url: string, pid: PID): Promise<void> {
  await page.goto(`${url}/?token=${TOKEN}#/process/${encodeURIComponent(String(pid))}`);
  await page.waitForSelector('[data-page=process] [data-testid=process-state]', { timeout: WAIT.timeoutMs });
}

/** The sessions of the Observer on `node` and the traces each runs (its handleInspect). */
async function sessionTraces(node: Node): Promise<number[]> {
  const out: number[] = [];
  for (const pid of node.processList()) {
    let name = '';
    try {
      name = node.processName(pid);
    } catch {
      continue;
    }
    if (!name.startsWith(SESSION_PREFIX)) continue;
    try {
      out.push(Number((await node.inspect(pid)).traces));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

test('mailbox peek: the first messages of each queue as text, on demand, the mailbox untouched; token and log', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const log = logSink();
  const { node, url } = await startObserved({ token: TOKEN }, log.options as never);
  let context: BrowserContext | undefined;
  try {
    const pid = await node.spawn(Holder, {});
    node.send(pid, 'hold');
    await eventually(
      () => node.processInfo(pid).messagesIn === 1 && node.processInfo(pid).mailboxQueues.main === 0,
      'held',
      WAIT,
    );
    node.send(pid, INJECTION);
    node.send(pid, { html: '<b>bold</b>', n: 1 });
    for (let i = 0; i < 30; i++) node.send(pid, { n: i, pad: 'x'.repeat(i * 40) });

    context = await browsers.context(executablePath);
    const page = await context.newPage();
    await openProcess(page, url, pid);
    // Blocked in its handler: the State card says it is busy, and since when (regression: "nothing
    // reported", while its inspect request waited in the urgent queue).
    await page.waitForSelector('[data-testid=state-busy]', { timeout: WAIT.timeoutMs });
    const busy = await text(page, '[data-testid=state-busy]');
    assert.match(busy, /busy: running a handler since \d\d:\d\d:\d\d\.\d{3}/, busy);
    assert.match(busy, /urgent queue/, busy);
    const before = node.processInfo(pid);
    await page.click('[data-testid=peek]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=peek-main] li').length === 20);
    // Readable: no short word is broken across lines (a 400-character one has to be) (regression: "ord|er: 2" in a narrow column), and
    // more than a handful of records show without scrolling.
    const layout = await page.evaluate(() => {
      const list = document.querySelector('[data-testid=peek-main] ol') as unknown as {
        getBoundingClientRect(): { bottom: number };
        querySelectorAll(s: string): ArrayLike<{ getBoundingClientRect(): { bottom: number } }>;
      };
      const bottom = list.getBoundingClientRect().bottom;
      const items = Array.from(list.querySelectorAll('li'));
      const visible = items.filter((li) => li.getBoundingClientRect().bottom <= bottom + 1).length;
      const broken: string[] = [];
      const d = document as unknown as {
        createTreeWalker(root: unknown, what: number): { nextNode(): { textContent: string | null } | null };
        createRange(): {
          setStart(n: unknown, o: number): void;
          setEnd(n: unknown, o: number): void;
          getClientRects(): { length: number };
        };
      };
      const walker = d.createTreeWalker(list, 4);
      for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
        const t = n.textContent ?? '';
        for (const m of t.matchAll(/(?<![\w:])[\w:]{2,12}(?![\w:])/g)) {
          const r = d.createRange();
          r.setStart(n, m.index);
          r.setEnd(n, m.index + m[0].length);
          if (r.getClientRects().length > 1) broken.push(m[0]);
        }
      }
      return { visible, broken };
    });
    assert.deepEqual(layout.broken, [], 'words broken across lines');
    assert.ok(layout.visible >= 8, `${layout.visible} records show without scrolling`);
    const main = await text(page, '[data-testid=peek-main]');
    assert.match(main, /first 20 of 32/);
    // The markup is shown as the text it is: no element made of it, nothing run.
    assert.ok(main.includes(INJECTION.replace(/"/g, '\\"')), main.slice(0, 300));
    assert.ok(main.includes('<b>bold</b>'), 'the html field as text');
    assert.equal(
      await page.evaluate(
        () => document.querySelectorAll('[data-testid=mailbox-peek] img, [data-testid=mailbox-peek] b b').length,
      ),
      0,
    );
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    // Long messages are cut.
    assert.ok(main.includes('…'), 'a long message is truncated');
    await shot(page, 'tools-mailbox-peek');

    // On demand: more mail, a refresh shows it; fewer per queue when asked.
    node.send(pid, 'late arrival');
    await page.selectOption('[data-testid=mailbox-peek] select', '100');
    await page.click('[data-testid=peek]');
    await page.waitForFunction(() =>
      /late arrival/.test(document.querySelector('[data-testid=peek-main]')?.textContent ?? ''),
    );

    // The peek took nothing, counted nothing, reordered nothing.
    const after = node.processInfo(pid);
    assert.equal(after.messagesIn, before.messagesIn + 1);
    assert.equal(after.mailboxQueues.main, before.mailboxQueues.main + 1);
    release();
    await eventually(() => handled.length === 34, 'all handled', WAIT);
    assert.deepEqual(handled.slice(0, 3), ['hold', INJECTION, { html: '<b>bold</b>', n: 1 }]);
    assert.deepEqual(
      handled.slice(3, 33).map((m) => (m as { n: number }).n),
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.equal(handled[33], 'late arrival');

    // Logged on the node, like kill; refused without the token.
    await eventually(
      () => log.lines.some((l) => l.includes(`observer action mailbox_peek pid=${String(pid)} limit=20`)),
      'the peek in the node log',
      WAIT,
    );
    for (const action of ['mailbox_peek', 'trace_start', 'trace_stop']) {
      const noToken = await post(
        url,
        `/api/do/${action}`,
        { pid: String(pid) },
        { 'x-observer-session': '0'.repeat(32) },
      );
      assert.equal(noToken.status, 401, `${action} without the token`);
    }
  } finally {
    release();
    await context?.close();
    await node.stop();
  }
});

test('turned off: the API refuses with a stable code and the page says why', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved({ token: TOKEN, mailboxPeek: false, messageTrace: false });
  let context: BrowserContext | undefined;
  let stream: StreamClient | undefined;
  try {
    const pid = await node.spawn(Relay, {});
    stream = await StreamClient.open(url, { authorization: `Bearer ${TOKEN}` });
    await stream.waitFor('connected');
    const headers = { authorization: `Bearer ${TOKEN}`, 'x-observer-session': stream.session };
    const peek = await post(url, '/api/do/mailbox_peek', { pid: String(pid) }, headers);
    assert.equal(peek.status, 403);
    assert.equal((peek.body as { code?: string }).code, 'mailbox_peek_disabled');
    const trace = await post(url, '/api/do/trace_start', { pid: String(pid) }, headers);
    assert.equal(trace.status, 403);
    assert.equal((trace.body as { code?: string }).code, 'message_trace_disabled');

    context = await browsers.context(executablePath);
    const page = await context.newPage();
    await openProcess(page, url, pid);
    await page.click('[data-testid=peek]');
    await page.waitForSelector('[data-testid=peek-off]');
    assert.match(await text(page, '[data-testid=peek-off]'), /turned off.*mailboxPeek: false/);
    await page.click('[data-testid=trace-start]');
    await page.waitForSelector('[data-testid=trace-off]');
    assert.match(await text(page, '[data-testid=trace-off]'), /turned off.*messageTrace: false/);
    await shot(page, 'tools-off');
  } finally {
    stream?.close();
    await context?.close();
    await node.stop();
  }
});

test('message trace: received and sent, rate-limited with drops counted, stops after a count, a time, the end of the process, and when the page goes away', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const log = logSink();
  const { node, url } = await startObserved({ token: TOKEN }, log.options as never);
  let context: BrowserContext | undefined;
  try {
    const relay = await node.spawn(Relay, {});
    const sink = await node.spawn(Relay, {});
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    await openProcess(page, url, relay);
    const status = (): Promise<string> => text(page, '[data-testid=trace-status]');

    // At most 5 a second: a burst of 40 keeps 5 (the rest dropped), sends included.
    await page.fill('[data-testid=trace-rate]', '5');
    await page.click('[data-testid=trace-start]');
    await page.waitForFunction(() =>
      /tracing/.test(document.querySelector('[data-testid=trace-status]')?.textContent ?? ''),
    );
    for (let i = 0; i < 20; i++) node.send(relay, { to: sink, m: `${INJECTION} #${i}` });
    await page.waitForFunction(() =>
      /[1-9]\d* dropped/.test(document.querySelector('[data-testid=trace-status]')?.textContent ?? ''),
    );
    const records = await text(page, '[data-testid=trace-records]');
    assert.match(records, /message \(main\) from/);
    assert.ok(records.includes('onerror'), 'the message as text');
    assert.equal(await page.evaluate(() => document.querySelectorAll('[data-testid=trace-records] img').length), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await eventually(
      async () => {
        const m = /(\d+) records, (\d+) dropped/.exec(await status());
        return m !== null && Number(m[1]) + Number(m[2]) === 40;
      },
      'every record kept or counted as dropped',
      WAIT,
    );
    await shot(page, 'tools-trace-rate');
    await page.click('[data-testid=trace-stop]');
    await page.waitForFunction(() =>
      /— stopped$/.test(document.querySelector('[data-testid=trace-status]')?.textContent ?? ''),
    );
    await eventually(async () => (await sessionTraces(node)).every((n) => n === 0), 'no trace left after stop', WAIT);

    // Stops by itself after 3 records.
    await page.fill('[data-testid=trace-rate]', '100');
    await page.fill('[data-testid=trace-count]', '3');
    await page.click('[data-testid=trace-start]');
    await page.waitForFunction(() =>
      /tracing/.test(document.querySelector('[data-testid=trace-status]')?.textContent ?? ''),
    );
    for (let i = 0; i < 10; i++) node.send(relay, `counted ${i}`);
    await page.waitForFunction(() =>
      /stopped after 3 records/.test(document.querySelector('[data-testid=trace-status]')?.textContent ?? ''),
    );
    assert.equal(await page.evaluate(() => document.querySelectorAll('[data-testid=trace-records] li').length), 3);

    // Stops by itself when its time is up.
    await page.fill('[data-testid=trace-count]', '200');
    await page.fill('[data-testid=trace-seconds]', '1');
    await page.click('[data-testid=trace-start]');
    await page.waitForFunction(
      () => /time limit/.test(document.querySelector('[data-testid=trace-status]')?.textContent ?? ''),
      undefined,
      {
        timeout: WAIT.timeoutMs,
      },
    );

    // Stops when the process ends.
    await page.fill('[data-testid=trace-seconds]', '600');
    await page.click('[data-testid=trace-start]');
    await page.waitForFunction(() =>
      /tracing/.test(document.querySelector('[data-testid=trace-status]')?.textContent ?? ''),
    );
    node.send(relay, { to: sink, m: 'last words' });
    // What it sends too: the relayed message, to its target.
    await page.waitForFunction(
      (to) =>
        (document.querySelector('[data-testid=trace-records]')?.textContent ?? '').includes(
          `→ send to ${to} "last words"`,
        ),
      String(sink),
    );
    node.kill(relay);
    await page.waitForFunction(() =>
      /the process ended \(kill\)/.test(document.querySelector('[data-testid=trace-status]')?.textContent ?? ''),
    );
    await shot(page, 'tools-trace-ended');
    await eventually(
      () => log.lines.some((l) => l.includes(`observer action trace_start pid=${String(relay)}`)),
      'the trace in the node log',
      WAIT,
    );
    await eventually(
      () => log.lines.some((l) => l.includes(`observer trace of ${String(relay)} ended (ended)`)),
      'its end logged',
      WAIT,
    );

    // The page goes away (another page): its trace stops.
    await openProcess(page, url, sink);
    await page.click('[data-testid=trace-start]');
    await eventually(async () => (await sessionTraces(node)).some((n) => n === 1), 'a trace runs', WAIT);
    await page.evaluate(() => (location.hash = '#/processes'));
    await eventually(
      async () => (await sessionTraces(node)).every((n) => n === 0),
      'the trace stopped with its page',
      WAIT,
    );

    // The tab closes: its session ends, and with it the trace.
    await openProcess(page, url, sink);
    await page.click('[data-testid=trace-start]');
    await eventually(async () => (await sessionTraces(node)).some((n) => n === 1), 'a trace runs', WAIT);
    await page.close();
    await eventually(async () => (await sessionTraces(node)).length === 0, 'the session ended with its tab', WAIT);
    await eventually(
      () => log.lines.some((l) => l.includes(`observer trace of ${String(sink)} ended (closed)`)),
      'its end logged',
      WAIT,
    );
  } finally {
    await context?.close();
    await node.stop();
  }
});
