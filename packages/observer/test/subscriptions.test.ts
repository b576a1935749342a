// Subscriptions of a tab over their lifetime.
//
// Two components of one page holding the same subscription: the process page of a process that
// both links and monitors another shows that PID's name in its Links and in its Monitors card,
// each from a process_info subscription of that PID. The session keeps one subscription per key
// (an unsubscribe naming an older id is superseded, one naming the newest ends it), so the tab
// must end it only when the last of its holders lets go: the Monitors card's holder (the newer)
// going first must leave the Links card's live.
//
// A node-wide page recovers by itself when the event it follows ends while the node runs: the
// process page's inspector is killed under an open "Processes" page (as an idle race or a crash
// of it would end it), and the page asks again — a new inspector, and figures that move again —
// instead of showing an empty page until reloaded.
//
// Screenshots: test-output/shared-*.png, resubscribe-*.png. One Chromium for the file, a context
// per test.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { BrowserContext, Request } from 'playwright-core';
import { Actor, type Atom, type Node, type PID } from 'ergo-ts';

import { chromiumPath, FileChromium, startObserved, WAIT } from './helpers.js';
import { shot } from './pages_support.js';

/** One Chromium for this file's tests, a lease of its context each. */
const browsers = new FileChromium();

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
};

class Idle extends Actor {}

/** Links and monitors the PID it is sent; `demonitor` / `unlink` undo one of the two. */
class Watcher extends Actor {
  #peer: PID | null = null;
  override handleMessage(_from: PID, message: unknown): void {
    const m = message as { watch?: PID } | string;
    if (typeof m === 'object' && m.watch !== undefined) {
      this.#peer = m.watch;
      this.linkPID(m.watch);
      this.monitorPID(m.watch);
    } else if (m === 'demonitor' && this.#peer !== null) this.demonitorPID(this.#peer);
    else if (m === 'unlink' && this.#peer !== null) this.unlinkPID(this.#peer);
  }
}

/** The unsubscribe POSTs of process_info for `pid` the page made (their ids). */
function unsubscribes(requests: Request[], pid: string): unknown[] {
  return requests
    .filter((r) => r.url().endsWith('/api/unsubscribe'))
    .map((r) => JSON.parse(r.postData() ?? '{}') as { type?: string; args?: { pid?: string }; id?: unknown })
    .filter((b) => b.type === 'process_info' && b.args?.pid === pid)
    .map((b) => b.id);
}

test('a subscription two components hold stays live when the newer holder goes, and ends with the last', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved();
  let context: BrowserContext | undefined;
  try {
    const peer = await node.spawnRegister('shared_peer' as Atom, Idle);
    const watcher = await node.spawnRegister('shared_watcher' as Atom, Watcher);
    node.send(watcher, { watch: peer });
    await eventually(
      () => node.processInfo(watcher).monitorsPID.length === 1 && node.processInfo(watcher).linksPID.length === 1,
      'the watcher links and monitors its peer',
      WAIT,
    );

    context = await browsers.context(executablePath);
    const page = await context.newPage();
    const requests: Request[] = [];
    page.on('request', (r) => requests.push(r));
    // The tab's own event stream, whose frames the page's CDP sees.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    let peerFrames = 0;
    cdp.on('Network.eventSourceMessageReceived', (e) => {
      if (e.eventName !== 'process_info') return;
      const d = JSON.parse(e.data) as { info?: { pid?: string } };
      if (d.info?.pid === peer.toString()) peerFrames++;
    });
    await page.goto(`${url}/#/process/${encodeURIComponent(watcher.toString())}/own-stream`);
    // Both cards name the peer: two holders of process_info for its PID.
    await page.waitForSelector('[data-testid=links] >> text=shared_peer', { timeout: WAIT.timeoutMs });
    await page.waitForSelector('[data-testid=monitors] >> text=shared_peer', { timeout: WAIT.timeoutMs });
    await shot(page, 'shared-both');

    // The monitor goes: the Monitors card's holder (the newer one) unmounts first.
    node.send(watcher, 'demonitor');
    await page.waitForFunction(
      () => !(document.querySelector('[data-testid=monitors]')?.textContent ?? '').includes('shared_peer'),
      undefined,
      { timeout: WAIT.timeoutMs },
    );
    const before = peerFrames;
    // The Links card's holder still gets the peer's frames (one a second).
    await eventually(() => peerFrames >= before + 3, 'frames of the peer after its newer holder went', WAIT);
    assert.deepEqual(unsubscribes(requests, peer.toString()), [], 'no unsubscribe while a holder is left');
    assert.match((await page.textContent('[data-testid=links]')) ?? '', /shared_peer/);

    // The link goes too: the last holder lets go, and the unsubscribe names the newest id posted.
    const subscribed = requests
      .filter((r) => r.url().endsWith('/api/subscribe'))
      .map((r) => JSON.parse(r.postData() ?? '{}') as { type?: string; args?: { pid?: string }; id?: unknown })
      .filter((b) => b.type === 'process_info' && b.args?.pid === peer.toString())
      .map((b) => b.id);
    assert.ok(subscribed.length >= 2, `two holders subscribed (${subscribed.length})`);
    node.send(watcher, 'unlink');
    await eventually(
      () => unsubscribes(requests, peer.toString()).length === 1,
      'the unsubscribe of the last holder',
      WAIT,
    );
    assert.deepEqual(unsubscribes(requests, peer.toString()), [subscribed[subscribed.length - 1]]);
    await shot(page, 'shared-none');
  } finally {
    await context?.close();
    await node.stop();
  }
});

const PAGE_INSPECTOR = 'inspect_process_page_';

/** The process page inspectors running now (system_inspect registers them by their query). */
function pageInspectors(node: Node): PID[] {
  return node.processList().filter((pid) => String(node.processName(pid)).startsWith(PAGE_INSPECTOR));
}

/** Reads "N shown (from 1) of M matching": M. */
const matching = (text: string | null): number =>
  Number(/of ([\d,]+) matching/.exec(text ?? '')?.[1]?.replace(/,/g, '') ?? -1);

test('the Processes page subscribes again when its inspector ends: a new inspector, and the count moves again', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved();
  let context: BrowserContext | undefined;
  try {
    for (let i = 0; i < 20; i++) await node.spawn(Idle, {});
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    // Other components ask for process pages too (the Entities link looks for a manager): the
    // Processes page's inspector is the one that comes with it.
    await page.goto(`${url}/#/`);
    await page.waitForSelector('[data-page=info]');
    await eventually(() => pageInspectors(node).length > 0, 'the Entities link to look for a manager', WAIT);
    const others = new Set(pageInspectors(node).map(String));
    await page.goto(`${url}/#/processes`);
    await page.waitForFunction(() =>
      /shown \(from 1\) of \d+ matching/.test(document.querySelector('[data-testid=process-count]')?.textContent ?? ''),
    );
    const ours = (): PID[] => pageInspectors(node).filter((p) => !others.has(String(p)));
    // The count can come from the inspector's first answer before its subscription is in place on
    // a loaded machine: wait for the inspector itself, naming every inspector if it never shows.
    const inspectors = (): string =>
      node
        .processList()
        .map((p) => String(node.processName(p)))
        .filter((n) => n.startsWith('inspect_'))
        .join(', ');
    await eventually(
      () => {
        if (ours().length !== 1) throw new Error(`inspectors now: ${inspectors()}`);
        return true;
      },
      'one process page inspector',
      WAIT,
    );
    const before = ours();

    // Its event ends with it: the session sends the page the event's end.
    node.kill(before[0]!);
    const total = node.processList().length;
    // New processes after the kill: only a live subscription shows them.
    for (let i = 0; i < 10; i++) await node.spawn(Idle, {});
    await page.waitForFunction(
      (want) => {
        const m = /of ([\d,]+) matching/.exec(document.querySelector('[data-testid=process-count]')?.textContent ?? '');
        return m !== null && Number(m[1]!.replace(/,/g, '')) >= want;
      },
      total + 10,
      { timeout: 30_000 },
    );
    const after = ours();
    assert.equal(after.length, 1, 'a new process page inspector');
    assert.ok(!after[0]!.equals(before[0]!), 'the page asked again: another inspector');
    const text = await page.textContent('[data-testid=process-count]');
    assert.ok(matching(text) >= total + 10, `the count moved on: ${text}`);
    assert.equal(await page.$$eval('.error', (els) => els.length), 0, 'no error banner once recovered');
    await shot(page, 'resubscribe-processes');
  } finally {
    await context?.close();
    await node.stopForce();
  }
});
