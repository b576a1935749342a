// Two operator views in Chromium. Sockets: a web server's row shows the bytes its connections
// read and wrote (exactly those of a request a raw client made, and the response it got), and the
// Observer's own SSE handler the bytes of the events it streamed — both were "–". Trace: a
// record's peer shows the sender's registered name beside its PID, where it was a bare PID.
// Screenshots go to packages/observer/test-output/ (sockets-trace-*.png).

import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { test } from 'node:test';

import { Actor, type PID } from 'ergo-ts';
import { createWebServer } from 'ergo-ts/meta';

import { chromiumPath, FileChromium, startObserved, WAIT } from './helpers.js';
import { failureShot, shot } from './pages_support.js';

const browsers = new FileChromium();

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelectorAll(selector: string): ArrayLike<{
    getAttribute(n: string): string | null;
    querySelectorAll(s: string): ArrayLike<{ textContent: string | null }>;
    textContent: string | null;
  }>;
};

let webPort = 0;

/** Owns a web server meta answering "ok" to anything. */
class WebOwner extends Actor {
  override async init(): Promise<void> {
    const web = await createWebServer({
      host: '127.0.0.1',
      port: 0,
      handler: (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
    });
    this.spawnMeta(web);
    webPort = web.port;
  }
}

/** Receives whatever it is sent. */
class Quiet extends Actor {}

/** Told a PID, sends it a greeting. */
class Sender extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    if (m !== null && typeof m === 'object' && 'to' in m) this.send((m as { to: PID }).to, { hello: 'from sender' });
  }
}

/** One raw HTTP request on its own connection: the bytes sent, and the bytes of the whole answer. */
async function rawRequest(port: number): Promise<{ sent: number; received: number }> {
  const request = `GET /bytes HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;
  const socket = tcpConnect(port, '127.0.0.1');
  let received = 0;
  socket.on('data', (c: Buffer) => (received += c.length));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.end(request);
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { sent: Buffer.byteLength(request), received };
}

test('Sockets: a web server and the SSE handler show their bytes; Trace: the peer with its name', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved();
  const context = await browsers.context(executablePath);
  try {
    await node.spawnRegister('bytes_web_owner', WebOwner);
    const { sent, received } = await rawRequest(webPort);
    assert.ok(received > 0);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/#/sockets`);

    // The web server's row: exactly the request's bytes in and the answer's bytes out.
    const cells = (behavior: string) =>
      page.evaluate(
        (b) =>
          Array.from(document.querySelectorAll(`[data-testid=meta-row][data-behavior="${b}"]`)).map((r) =>
            Array.from(r.querySelectorAll('td')).map((c) => (c.textContent ?? '').trim()),
          ),
        behavior,
      );
    await page
      .waitForFunction(
        (expected: string) =>
          Array.from(document.querySelectorAll('[data-testid=meta-row][data-behavior=WebServer]')).some((r) =>
            Array.from(r.querySelectorAll('td')).some((c) => (c.textContent ?? '').trim() === expected),
          ),
        `${sent} B`,
        { timeout: WAIT.timeoutMs, polling: 100 },
      )
      .catch(async (err: unknown) => {
        await failureShot(page, 'sockets-trace-failed');
        throw new Error(`web servers: ${JSON.stringify(await cells('WebServer'))}`, { cause: err });
      });
    const web = (await cells('WebServer')).find((r) => r[4] === `127.0.0.1:${webPort}` || r[5] === `${sent} B`)!;
    assert.equal(web[5], `${sent} B`, `bytes in: ${JSON.stringify(web)}`);
    assert.equal(web[6], `${received} B`, `bytes out: ${JSON.stringify(web)}`);
    assert.match(web[1]!, /bytes_web_owner/);
    // The Observer's own SSE handler: the events it streamed to this page (its connection's too).
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('[data-testid=meta-row][data-behavior=SSEHandler]')).some((r) =>
          /^\d+(\.\d)? (B|KiB|MiB)$/.test((r.querySelectorAll('td')[6]?.textContent ?? '').trim()),
        ),
      undefined,
      { timeout: WAIT.timeoutMs, polling: 100 },
    );
    const sse = (await cells('SSEHandler'))[0]!;
    assert.notEqual(sse[6], '0 B', 'the events streamed to this page');
    assert.equal(sse[5], '0 B', 'a stream takes nothing in after its request');
    await shot(page, 'sockets-trace-sockets');

    // Trace a process a registered sender writes to: the peer column names the sender.
    const quiet = await node.spawnRegister('trace_quiet', Quiet);
    const sender = await node.spawnRegister('trace_sender', Sender);
    await page.goto(`${url}/#/trace`);
    await page.fill('[data-testid=trace-pids]', 'trace_quiet');
    await page.fill('[data-testid=trace-count]', '3');
    await page.click('[data-testid=trace-start]');
    await page.waitForSelector('[data-testid=trace-status]');
    for (let i = 0; i < 3; i++) node.send(sender, { to: quiet });
    await page.waitForSelector('[data-testid=trace-ended]', { timeout: WAIT.timeoutMs });
    const peers = await page.$$eval('[data-testid=trace-peer]', (els) => els.map((e) => (e.textContent ?? '').trim()));
    assert.deepEqual(
      peers,
      [1, 2, 3].map(() => `${String(sender)} trace_sender`),
    );
    await shot(page, 'sockets-trace-trace');
    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await context.close();
    await node.stop();
  }
});
