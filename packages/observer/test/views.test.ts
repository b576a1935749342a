// The operator's views of issue 63 item 4, each checked in Chromium against a node doing
// something known: Top puts the process spinning in its handler first by time in handlers, and
// the one holding 30 messages first by mailbox; a supervisor's page shows the 3 crashes of its
// child with reason, action and the restart count; the Log page's search finds records by text,
// level, process and time; the Trace page follows two processes (and an application, capped) at
// once; the Sockets page shows a TCP connection with exactly the bytes a client sent it.
// Screenshots go to packages/observer/test-output/ (views-*.png).

import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  Actor,
  createApplication,
  startNode,
  type Atom,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  type Node,
  type PID,
  ProcessID,
  type SupervisorSpec,
} from 'ergo-ts';
import { createTCPServer, MessageTCP } from 'ergo-ts/meta';
import type { Page } from 'playwright-core';

import { chromiumPath, FileChromium, GO_NETWORK, startObserved, WAIT } from './helpers.js';
import { failureShot, shot } from './pages_support.js';

/** One Chromium for this file's tests, a lease of its context each. */
const browsers = new FileChromium();

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null; getAttribute(n: string): string | null }>;
  documentElement: { scrollWidth: number; clientWidth: number };
};

async function withPage(t: { skip(msg: string): void }, node: Node, run: (page: Page) => Promise<void>) {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return void (await node.stop());
  const context = await browsers.context(executablePath);
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await run(page);
    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await context.close();
    Holder.release(); // a holder (Top's test) would keep the node from stopping
    await node.stop();
  }
}

/** Text of every element matching `selector`. */
function texts(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()));
}

/** Told `n`, spins 5 ms in its handler every 10 ms, n times. */
class Spinner extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    if (typeof m !== 'number' || m <= 0) return;
    const end = performance.now() + 5;
    while (performance.now() < end);
    this.sendAfter(this.pid, m - 1, 10);
  }
}

/** Holds its mailbox: its first message's handler waits until the test lets go. */
class Holder extends Actor {
  static release: () => void = () => undefined;
  #held = false;
  override async handleMessage(): Promise<void> {
    if (this.#held) return;
    this.#held = true;
    await new Promise<void>((resolve) => (Holder.release = resolve));
  }
}

/** Throws on any message: its supervisor restarts it. */
class Crashy extends Actor {
  override handleMessage(): void {
    throw new Error('crashy crashed (on purpose)');
  }
}

class CrashySup extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      children: [{ name: 'views_crashy', factory: Crashy }],
      restart: { strategy: SupervisorStrategy.Transient, intensity: 10, period: 3600 },
    };
  }
}

/** Logs what it is told. */
class Talker extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    if (typeof m === 'string' && m.startsWith('warn ')) this.log.warning('%s', m.slice(5));
    else if (typeof m === 'string' && m.startsWith('info ')) this.log.info('%s', m.slice(5));
  }
}

class Quiet extends Actor {}

test('Top: the spinning process first by time in handlers, the one holding 30 messages first by mailbox', async (t) => {
  const { node, url } = await startObserved();
  const spinner = await node.spawnRegister('views_spinner', Spinner);
  node.send(spinner, 100_000);
  try {
    await withPage(t, node, async (page) => {
      await page.goto(`${url}/#/top`);
      await page
        .waitForFunction(
          () => document.querySelector('[data-testid=top-row]')?.getAttribute('data-name') === 'views_spinner',
          undefined,
          { timeout: WAIT.timeoutMs },
        )
        .catch(async (err: unknown) => {
          await failureShot(page, 'views-top-failed');
          const rows = await texts(page, '[data-testid=top-row]');
          throw new Error(`the spinner never came first: ${JSON.stringify(rows.slice(0, 5))}`, { cause: err });
        });
      // Live: the rate column fills from the second frame on.
      await page.waitForFunction(() => {
        const cells = document.querySelectorAll('[data-testid=top-row] td');
        return Number(cells[6]?.textContent ?? 'NaN') > 0;
      });
      await shot(page, 'views-top-running');
      // The session's process has a 60-character name: it breaks inside its cell, the page does not scroll sideways.
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      assert.equal(overflow, 0, 'the Top table fits the page');
      // (Held now, not before: the time a process awaits in a handler counts as time in it, as on
      // the Processes page, so the holder would soon pass the spinner.)
      const holder = await node.spawnRegister('views_holder', Holder);
      for (let i = 0; i < 31; i++) node.send(holder, i);
      await page.selectOption('[data-testid=top-sort]', 'mailbox');
      await page.waitForFunction(
        () => document.querySelector('[data-testid=top-row]')?.getAttribute('data-name') === 'views_holder',
      );
      const mailbox = await texts(page, '[data-testid=top-row] [data-testid=top-mailbox]');
      assert.equal(mailbox[0], '30', 'the 30 messages behind the one being handled');
      await page.selectOption('[data-testid=top-limit]', '10');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=top-row]').length <= 10);
      await shot(page, 'views-top-mailbox');
    });
  } finally {
    Holder.release();
  }
});

test("a supervisor's page shows its child's 3 crashes: reason, what it did, the restart count in the window", async (t) => {
  const { node, url } = await startObserved();
  const sup = await node.spawnRegister('views_sup', CrashySup);
  for (let n = 1; n <= 3; n++) {
    const child = node.processPID('views_crashy');
    node.send(child, 'crash');
    await eventually(() => !node.processPID('views_crashy').equals(child), `views_crashy restarted (${n})`);
  }
  await withPage(t, node, async (page) => {
    await page.goto(`${url}/#/process/${encodeURIComponent(String(sup))}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=restart-row]').length === 3);
    const summary = (await page.textContent('[data-testid=restart-summary]')) ?? '';
    assert.match(
      summary,
      /^3 child exits recorded · 3 restarts in the window now, 10 allowed per 3600 s \(Transient, One For One\)/,
    );
    assert.deepEqual(await texts(page, '[data-testid=restart-row] [data-testid=restart-count]'), [
      '3 of 10',
      '2 of 10',
      '1 of 10',
    ]);
    assert.deepEqual(await texts(page, '[data-testid=restart-row] [data-testid=restart-reason]'), [
      'panic',
      'panic',
      'panic',
    ]);
    assert.deepEqual(await texts(page, '[data-testid=restart-row] [data-testid=restart-action]'), [
      'restarted',
      'restarted',
      'restarted',
    ]);
    const children = await page.$$eval('[data-testid=restart-row]', (rows) =>
      rows.map((r) => r.getAttribute('data-child')),
    );
    assert.deepEqual(children, ['views_crashy', 'views_crashy', 'views_crashy']);
    // The history is not repeated as raw JSON in the State card.
    assert.doesNotMatch((await page.textContent('[data-testid=inspect-state]')) ?? '', /restart_history/);
    await shot(page, 'views-supervisor-history');
  });
});

test("the Log page's search: text, level, process and time range over the records kept", async (t) => {
  const { node, url } = await startObserved();
  const talker = await node.spawnRegister('views_talker', Talker);
  node.send(talker, 'warn needle one');
  node.send(talker, 'info needle two');
  node.log.warning('needle three (from the node)');
  for (let i = 0; i < 20; i++) node.log.info('hay %d', i);
  await withPage(t, node, async (page) => {
    await page.goto(`${url}/#/log`);
    await page.waitForFunction(() =>
      (document.querySelector('[data-testid=log-lines]')?.textContent ?? '').includes('hay 19'),
    );
    await page.fill('[data-testid=log-search-text]', 'NEEDLE');
    await page.click('[data-testid=log-search-go]');
    await page.waitForSelector('[data-testid=log-search-count]');
    assert.match((await page.textContent('[data-testid=log-search-count]'))!, /^3 matching of \d+ records kept/);
    const lines = await texts(page, '[data-testid=log-search-line]');
    assert.equal(lines.length, 3);
    assert.ok(
      lines.every((l) => l.includes('needle')),
      JSON.stringify(lines),
    );
    await shot(page, 'views-log-search');

    // One process, by name.
    await page.fill('[data-testid=log-search-process]', 'views_talker');
    await page.click('[data-testid=log-search-go]');
    await page.waitForFunction(() =>
      /^2 matching/.test(document.querySelector('[data-testid=log-search-count]')?.textContent ?? ''),
    );
    // Warnings only (the level boxes above the search).
    await page.fill('[data-testid=log-search-process]', '');
    await page.uncheck('[data-page=log] .toolbar label:has-text("info") input');
    await page.click('[data-testid=log-search-go]');
    // The process search before also matched 2: wait for this search's lines (the node's warning
    // in, the info line out), not the count.
    await page.waitForFunction(() => {
      const text = Array.from(document.querySelectorAll('[data-testid=log-search-line]'))
        .map((l) => l.textContent ?? '')
        .join('|');
      return text.includes('needle three') && !text.includes('needle two');
    });
    assert.deepEqual(
      (await texts(page, '[data-testid=log-search-line]')).map((l) => l.replace(/^.*(needle)/, '$1')).sort(),
      ['needle one', 'needle three (from the node)'],
    );
    // A range that ends before the records: none.
    await page.fill('[data-testid=log-search-to]', '2001-01-01T00:00:00');
    await page.click('[data-testid=log-search-go]');
    await page.waitForFunction(() =>
      /^0 matching/.test(document.querySelector('[data-testid=log-search-count]')?.textContent ?? ''),
    );
    await page.click('[data-testid=log-search-back]');
    await page.waitForSelector('[data-testid=log-search-count]', { state: 'detached' });
  });
});

test('the Trace page follows two processes at once until its count, and an application capped at its max processes', async (t) => {
  const { node, url } = await startObserved();
  const e1 = await node.spawnRegister('views_e1', Quiet);
  const e2 = await node.spawnRegister('views_e2', Quiet);
  await node.applicationLoad(
    createApplication({
      name: 'views_app',
      group: [
        { name: 'views_app_1', factory: Quiet },
        { name: 'views_app_2', factory: Quiet },
        { name: 'views_app_3', factory: Quiet },
      ],
    }),
  );
  await node.applicationStart('views_app');
  // Messages keep coming while the page traces; the trace ends at its count. The feed stops
  // before withPage stops the node: a send to a process the stop has ended throws.
  const feed = setInterval(() => {
    node.send(e1, { hello: 'e1' });
    node.send(e2, { hello: 'e2' });
  }, 20);
  const stopFeed = (): void => clearInterval(feed);
  try {
    const checks = async (page: Page): Promise<void> => {
      await page.goto(`${url}/#/trace`);
      await page.fill('[data-testid=trace-pids]', `views_e1, ${String(e2)}`);
      await page.fill('[data-testid=trace-rate]', '100');
      await page.fill('[data-testid=trace-count]', '6');
      await page.click('[data-testid=trace-start]');
      await page.waitForSelector('[data-testid=trace-ended]', { timeout: WAIT.timeoutMs });
      const status = (await page.textContent('[data-testid=trace-status]')) ?? '';
      assert.match(status, /^tracing 2 processes, 50 records a second each/);
      assert.match(status, /ended \(count\): 6 records/);
      const pids = await page.$$eval('[data-testid=trace-row]', (rows) => rows.map((r) => r.getAttribute('data-pid')));
      assert.equal(pids.length, 6);
      assert.deepEqual([...new Set(pids)].sort(), [String(e1), String(e2)].sort(), 'both processes in the records');
      const labels = new Set(await texts(page, '[data-testid=trace-process]'));
      assert.deepEqual(
        [...labels].sort(),
        [`${String(e1)} views_e1`, `${String(e2)} views_e2`].sort(),
        'a registered name beside its PID',
      );
      const times = await texts(page, '[data-testid=trace-row] td:first-child');
      for (const time of times) assert.match(time, /^\d\d:\d\d:\d\d\.\d{3}$/, 'times to the millisecond');
      await shot(page, 'views-trace');

      // A whole application, capped at 2 of its 3 processes, for 1 s.
      await page.fill('[data-testid=trace-pids]', '');
      await page.fill('[data-testid=trace-application]', 'views_app');
      await page.fill('[data-testid=trace-max]', '2');
      await page.fill('[data-testid=trace-seconds]', '1');
      await page.click('[data-testid=trace-start]');
      await page.waitForSelector('[data-testid=trace-ended]', { timeout: WAIT.timeoutMs });
      const app = (await page.textContent('[data-testid=trace-status]')) ?? '';
      assert.match(
        app,
        /^tracing 2 processes of views_app, 50 records a second each; not traced: 1 \(over max_processes \(2\)\)/,
      );
      assert.match(app, /ended \(time\)/);
    };
    await withPage(t, node, async (page) => {
      try {
        await checks(page);
      } finally {
        stopFeed();
      }
    });
  } finally {
    stopFeed();
  }
});

test('the Sockets page: a TCP connection with exactly the bytes a client sent it, its server, and a connection to another node', async (t) => {
  let received = 0;
  let port = 0;
  /** Owns a TCP server meta; counts the bytes its connections deliver. */
  class TcpOwner extends Actor {
    override async init(): Promise<void> {
      const server = await createTCPServer({ host: '127.0.0.1', port: 0 });
      this.spawnMeta(server);
      port = server.address().port;
    }
    override handleMessage(_from: PID, m: unknown): void {
      if (m instanceof MessageTCP) received += m.data.length;
    }
  }
  const { node, url } = await startObserved({}, { network: GO_NETWORK });
  const other = await startNode(`viewsother${process.pid}@localhost` as Atom, {
    log: { level: 'warning', defaultLogger: { disable: true } },
    network: GO_NETWORK,
  });
  const otherPort = Number(/:(\d+)$/.exec(other.network().acceptors()[0]!.info().interface)![1]);
  await node.network().getNodeWithRoute(other.name, { route: { host: '127.0.0.1', port: otherPort, tls: false } });
  await node.spawnRegister('views_tcp_owner', TcpOwner);
  // The link carries a message (between ergo-ts nodes an idle link sends nothing for a while).
  other.send(new ProcessID('views_tcp_owner' as Atom, node.name), 'hello');
  await eventually(() => node.network().node(other.name).info().messagesIn >= 1, 'a message in from the other node');
  const socket = tcpConnect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(Buffer.alloc(1000, 7));
  await eventually(() => received === 1000, 'the 1000 bytes delivered');
  try {
    await withPage(t, node, async (page) => {
      await page.goto(`${url}/#/sockets`);
      await page.waitForSelector('[data-testid=meta-row]');
      await page.waitForFunction(() =>
        [
          ...(document.querySelectorAll('[data-testid=meta-bytes-in]') as unknown as { textContent: string | null }[]),
        ].some((c) => c.textContent === '1000 B'),
      );
      const behaviors = await page.$$eval('[data-testid=meta-row]', (rows) =>
        rows.map((r) => r.getAttribute('data-behavior')),
      );
      assert.ok(
        behaviors.some((b) => /TCPConnection/.test(b ?? '')),
        JSON.stringify(behaviors),
      );
      assert.ok(
        behaviors.some((b) => /TCPServer/.test(b ?? '')),
        JSON.stringify(behaviors),
      );
      const tcp = await texts(page, '[data-testid=meta-row][data-behavior*=TCPConnection] td');
      assert.equal(tcp[5], '1000 B', `the connection's bytes in: ${JSON.stringify(tcp)}`);
      assert.match(tcp[1]!, /views_tcp_owner/, 'owned by the process that spawned the server');
      assert.match(tcp[4]!, new RegExp(`127\\.0\\.0\\.1:${port} → 127\\.0\\.0\\.1:${socket.localPort}`));
      // The connection to the other node, with the bytes its link carried.
      await page.waitForSelector(`[data-testid=connection-row][data-node="${other.name}"]`);
      const conn = await texts(page, `[data-testid=connection-row][data-node="${other.name}"] td`);
      assert.match(conn[1]!, /^\d+(\.\d)? (B|KiB)$/, `bytes in: ${JSON.stringify(conn)}`);
      assert.notEqual(conn[1], '0 B');
      await shot(page, 'views-sockets');
    });
  } finally {
    socket.destroy();
    await other.stop();
  }
});
