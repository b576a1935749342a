// Test helpers: a node running the Observer on a free port, a minimal SSE client speaking to it
// as a browser tab would (frames by type, the session id from `connected`), POST commands,
// the Chromium the browser tests drive, a Go Ergo node (ergo-peer) for the switcher, and where
// screenshots go.

import http from 'node:http';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import readline from 'node:readline';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

import { testChromium } from '@ergo-ts/test-support';
import { startNode, type Atom, type Node, type NodeOptions } from 'ergo-ts';

import { createObserverApp, type ObserverApp, type ObserverOptions } from '../src/index.js';

/** Where tests write screenshots (gitignored). */
export const OUTPUT_DIR = fileURLToPath(new URL('../../test-output/', import.meta.url));

export function outputDir(): string {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  return OUTPUT_DIR;
}

let seq = 0;

/** A node named uniquely, running the Observer on a free port of 127.0.0.1. */
export async function startObserved(
  options: ObserverOptions = {},
  nodeOptions: NodeOptions = {},
): Promise<{ node: Node; app: ObserverApp; url: string }> {
  const app = createObserverApp({ host: '127.0.0.1', port: 0, heartbeat: 0, ...options });
  const node = await startNode(`obs${process.pid}x${++seq}@localhost` as Atom, {
    log: { level: 'info', defaultLogger: { disable: true } },
    ...nodeOptions,
    applications: [...(nodeOptions.applications ?? []), app],
  });
  if (app.url === undefined) throw new Error('the observer did not report its url');
  return { node, app, url: app.url };
}

/**
 * Bound and pace of the observer tests' `eventually` polls (the browser's pages and the hub under
 * load). Each poll of a page is a round trip through Chromium: every 100 ms, not every 20, costs
 * a fifth of the CPU while a test waits (the page itself changes once a second).
 */
export const WAIT = { timeoutMs: 15_000, intervalMs: 100 };

/** How often a page checks a `waitForFunction` condition (ms). */
export const POLL_MS = 100;

export interface Frame {
  event: string;
  id: string;
  data: unknown;
}

/** An event stream of the Observer, read as a browser tab would. */
export class StreamClient {
  readonly frames: Frame[] = [];
  session = '';
  status = 0;
  #req: http.ClientRequest | null = null;
  #waiters = new Set<() => void>();
  closed = false;

  static async open(url: string, headers: Record<string, string> = {}): Promise<StreamClient> {
    const c = new StreamClient();
    await c.#open(url, headers);
    return c;
  }

  #open(url: string, headers: Record<string, string>): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = http.get(`${url}/sse`, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        this.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          buf += chunk;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            this.#frame(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        });
        res.on('end', () => this.#end());
        res.on('error', () => this.#end());
        resolve();
      });
      req.on('error', (err) => {
        this.#end();
        reject(err);
      });
      this.#req = req;
    });
  }

  #end(): void {
    this.closed = true;
    this.#wake();
  }

  #frame(text: string): void {
    let event = 'message';
    let id = '';
    const data: string[] = [];
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0) return;
    const parsed: unknown = JSON.parse(data.join('\n'));
    if (event === 'connected') this.session = (parsed as { sessionId: string }).sessionId;
    this.frames.push({ event, id, data: parsed });
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters) w();
  }

  /** The first frame of `event` (from index `since`) that `pred` accepts; a guard of 30 s against hanging. */
  waitFor(event: string, pred: (data: any) => boolean = () => true, since = 0, timeout = 30_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (let i = since; i < this.frames.length; i++) {
          const f = this.frames[i]!;
          if (f.event === event && pred(f.data)) {
            finish();
            resolve(f.data);
            return;
          }
        }
        if (this.closed) {
          finish();
          reject(new Error(`stream closed while waiting for ${event}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no ${event} frame within ${timeout} ms`));
      }, timeout);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  close(): void {
    this.#req?.destroy();
  }
}

/** A POST to the Observer; resolves with the status and the parsed answer. */
export function post(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { ok: boolean; error?: string; data?: any } }> {
  return new Promise((resolve, reject) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request(
      `${url}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) });
          } catch (err) {
            reject(new Error(`not JSON (${res.statusCode}): ${data}`, { cause: err }));
          }
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** A GET; resolves with status, headers and the raw body. */
export function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      })
      .on('error', reject);
  });
}

/** Chromium (Debian's package), or the reason it is missing: tests skip then, and fail under CI. */
export function chromiumPath(t: { skip(msg: string): void }): string | undefined {
  const path = process.env.CHROMIUM ?? '/usr/bin/chromium';
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    const why = `needs Chromium at ${path} (apt-get install chromium, or set CHROMIUM)`;
    if (process.env.CI === 'true') throw new Error(`${why}: required under CI`);
    t.skip(why);
    return undefined;
  }
}

/** The ergo-peer binary (Go Ergo 3.2), or undefined after skipping (a failure under CI). */
export function peerPath(t: { skip(msg: string): void }): string | undefined {
  const path =
    process.env.ERGO_PEER ?? fileURLToPath(new URL('../../../../../shared/peers/ergo-peer/ergo-peer', import.meta.url));
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    const why = 'needs the Go Ergo peer (set ERGO_PEER)';
    if (process.env.CI === 'true') throw new Error(`${why}: required under CI`);
    t.skip(why);
    return undefined;
  }
}

/** Cookie shared by the Observer's node and the Go peers of the browser tests. */
export const GO_COOKIE = 'observer-secret';

/** Network options of an Observer node that connects to a Go peer (no registrar: the test routes). */
export const GO_NETWORK = {
  cookie: GO_COOKIE,
  acceptors: [{ host: '127.0.0.1', port: 0 }],
  registrar: null,
} satisfies NodeOptions['network'];

/** A running ergo-peer: its node name and port; `stop` resumes it if stopped and waits for its exit. */
export interface GoPeer {
  name: string;
  port: number;
  proc: ChildProcessWithoutNullStreams;
  stop(): Promise<void>;
}

/** Starts ergo-peer `bin` as node `name` on a free port and waits for its `ready` line. */
export async function startGo(bin: string, name: string): Promise<GoPeer> {
  const proc = spawn(bin, ['-name', name, '-cookie', GO_COOKIE, '-registrar', 'none', '-port', '0'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  proc.stderr.resume(); // Ergo's own log: drained, or a full pipe blocks the node
  const ready = await new Promise<{ port: number }>((resolve, reject) => {
    readline.createInterface({ input: proc.stdout }).on('line', (l) => {
      const line = JSON.parse(l) as { kind: string; port: number };
      if (line.kind === 'ready') resolve(line);
    });
    proc.once('exit', (code) => reject(new Error(`ergo-peer exited ${code}`)));
  });
  return {
    name,
    port: ready.port,
    proc,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGCONT');
      proc.stdin.end();
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

/**
 * Headless Chromium as every browser test runs it: the run's shared browser, or one launched from
 * `executablePath` (@ergo-ts/test-support's testChromium).
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const browser = await testChromium(chromium, executablePath);
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options?: BrowserContextOptions): Promise<BrowserContext> => {
    const context = await newContext(options);
    context.on('page', pollEvery); // pages it opens itself (window.open)
    const newPage = context.newPage.bind(context);
    context.newPage = async (): Promise<Page> => {
      const page = await newPage();
      pollEvery(page);
      return page;
    };
    return context;
  };
  return browser;
}

const polled = new WeakSet<Page>();

/**
 * Makes `page.waitForFunction` check its condition every POLL_MS unless told otherwise. Playwright
 * checks at every animation frame by default, and a requested frame is a frame drawn: the page
 * renders 60 times a second for as long as a test waits (about twice the CPU of the page idle).
 */
function pollEvery(page: Page): void {
  if (polled.has(page)) return;
  polled.add(page);
  const waitForFunction = page.waitForFunction.bind(page) as (f: unknown, arg?: unknown, o?: object) => unknown;
  (page as { waitForFunction: unknown }).waitForFunction = (f: unknown, arg?: unknown, options: object = {}) =>
    waitForFunction(f, arg, { polling: POLL_MS, ...options });
}

/** The window size of every screenshot. */
export const VIEWPORT = { width: 1280, height: 820 };

/**
 * One Chromium for all the tests of a file: a launch costs seconds of CPU (browser, GPU and
 * utility processes). The first `context` launches the browser; the file's `after` hook
 * (registered here, so call this at the top level of a test file) closes it. A browser that went
 * away (crashed) is launched again for the next context.
 *
 * Each test gets a lease of the file's one browser context, not a context of its own: a new
 * context's first page starts a renderer process, and on the test hosts that costs about 2.5 s of
 * CPU (page faults are dear under their hypervisor) against under 1 s for a page beside a page
 * that stays open — measured, it was a third of the observer tests' CPU. A keeper page
 * (about:blank) holds the renderer. What a lease keeps apart: each test's Observer listens on a
 * port of its own, so its origin (and with it session storage, local storage and shared workers)
 * is its own; the Observer sets no HTTP cookies, and a lease's `close` clears cookies and
 * permissions anyway, closes every page the test opened (its own and those its pages opened),
 * and removes the listeners it added. A test that needs context options gets a fresh context.
 */
export class FileChromium {
  #browser: Promise<Browser> | undefined;
  #shared: Promise<BrowserContext> | undefined;

  constructor() {
    after(() => this.close());
  }

  /** A context for one test: a lease of the shared one, or (with options) a fresh context. */
  async context(executablePath: string, options: BrowserContextOptions = {}): Promise<BrowserContext> {
    let browser = await this.#launched(executablePath);
    if (!browser.isConnected()) {
      this.#browser = undefined;
      this.#shared = undefined;
      browser = await this.#launched(executablePath);
    }
    if (Object.keys(options).length > 0) return browser.newContext({ viewport: VIEWPORT, ...options });
    if (this.#shared === undefined) {
      const shared = (async () => {
        const context = await browser.newContext({ viewport: VIEWPORT });
        await (await context.newPage()).goto('about:blank');
        return context;
      })();
      shared.catch(() => {
        if (this.#shared === shared) this.#shared = undefined;
      });
      this.#shared = shared;
    }
    return lease(await this.#shared);
  }

  #launched(executablePath: string): Promise<Browser> {
    if (this.#browser === undefined) {
      const launched = launchChromium(executablePath);
      // A failed launch is not kept: the next test tries again (and reports its own failure).
      launched.catch(() => {
        if (this.#browser === launched) this.#browser = undefined;
      });
      this.#browser = launched;
    }
    return this.#browser;
  }

  /** Closes the browser if one was launched (the file's `after` hook). */
  async close(): Promise<void> {
    const launched = this.#browser;
    this.#browser = undefined;
    this.#shared = undefined;
    const browser = await launched?.catch(() => undefined);
    await browser?.close();
  }
}

type Listener = (...args: never[]) => unknown;

/**
 * A test's view of the shared context: the context itself, except that the pages opened while the
 * lease lasts, and the listeners added through it, are its own, and `close` ends those (and clears
 * cookies and permissions) instead of the context.
 */
function lease(context: BrowserContext): BrowserContext {
  const pages = new Set<Page>();
  const added: [string, Listener][] = [];
  const track = (page: Page): void => {
    pages.add(page);
  };
  context.on('page', track);
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      context.off('page', track);
      for (const [event, listener] of added) context.off(event as 'page', listener as (p: Page) => void);
      await Promise.all([...pages].map((p) => p.close().catch(() => undefined)));
      await context.clearCookies().catch(() => undefined);
      await context.clearPermissions().catch(() => undefined);
    })());
  const adding =
    (method: 'on' | 'once' | 'addListener') =>
    (event: string, listener: Listener): BrowserContext => {
      added.push([event, listener]);
      (context[method] as (e: string, l: Listener) => unknown)(event, listener);
      return view;
    };
  const view: BrowserContext = new Proxy(context, {
    get(target, prop, receiver) {
      if (prop === 'close') return close;
      if (prop === 'on' || prop === 'once' || prop === 'addListener') return adding(prop);
      const value: unknown = Reflect.get(target, prop, receiver === view ? target : receiver);
      return typeof value === 'function' ? (value as Listener).bind(target) : value;
    },
  });
  return view;
}

/** What a browser test of a Go node works with; `close` closes the context and stops both nodes. */
export interface GoBrowserSession {
  go: GoPeer;
  node: Node;
  url: string;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/**
 * A Go peer named `<prefix><pid>@localhost`, a node running the Observer that can reach it, and
 * a page in a new context of the file's Chromium; undefined when the test skipped (no Chromium,
 * or no ergo-peer). Whatever started is stopped again if a later step fails.
 */
export async function goBrowserSession(
  t: { skip(msg: string): void },
  prefix: string,
  browsers: FileChromium,
): Promise<GoBrowserSession | undefined> {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return undefined;
  const bin = peerPath(t);
  if (bin === undefined) return undefined;
  const go = await startGo(bin, `${prefix}${process.pid}@localhost`);
  let node: Node | undefined;
  let context: BrowserContext | undefined;
  const close = async (): Promise<void> => {
    await context?.close();
    await node?.stop();
    await go.stop();
  };
  try {
    const observed = await startObserved({}, { network: GO_NETWORK });
    node = observed.node;
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    return { go, node, url: observed.url, context, page, close };
  } catch (err) {
    await close();
    throw err;
  }
}
