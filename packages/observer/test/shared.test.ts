// Two components of one page holding the same subscription: the process page of a process that
// both links and monitors another shows that PID's name in its Links and in its Monitors card,
// each from a process_info subscription of that PID. The session keeps one subscription per key
// (an unsubscribe naming an older id is superseded, one naming the newest ends it), so the tab
// must end it only when the last of its holders lets go: the Monitors card's holder (the newer)
// going first must leave the Links card's live. Screenshots: test-output/shared-*.png.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { Browser, Request } from 'playwright-core';
import { Actor, type Atom, type PID } from 'ergo-ts';

import { chromiumPath, launchChromium, startObserved, VIEWPORT, WAIT } from './helpers.js';
import { shot } from './pages_support.js';

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
  let browser: Browser | undefined;
  try {
    const peer = await node.spawnRegister('shared_peer' as Atom, Idle);
    const watcher = await node.spawnRegister('shared_watcher' as Atom, Watcher);
    node.send(watcher, { watch: peer });
    await eventually(
      () => node.processInfo(watcher).monitorsPID.length === 1 && node.processInfo(watcher).linksPID.length === 1,
      'the watcher links and monitors its peer',
      WAIT,
    );

    browser = await launchChromium(executablePath);
    const page = await browser.newPage({ viewport: VIEWPORT });
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
    await browser?.close();
    await node.stop();
  }
});

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };
