// A node-wide page recovers by itself when the event it follows ends while the node runs: the
// process page's inspector is killed under an open "Processes" page (as an idle race or a crash
// of it would end it), and the page asks again — a new inspector, and figures that move again —
// instead of showing an empty page until reloaded.
// Screenshots go to packages/observer/test-output/ (resubscribe-*.png).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { Browser } from 'playwright-core';
import { Actor, type Node, type PID } from 'ergo-ts';

import { chromiumPath, launchChromium, startObserved, VIEWPORT, WAIT } from './helpers.js';
import { shot } from './pages_support.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
};

class Idle extends Actor {}

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
  let browser: Browser | undefined;
  try {
    for (let i = 0; i < 20; i++) await node.spawn(Idle, {});
    browser = await launchChromium(executablePath);
    const page = await browser.newPage({ viewport: VIEWPORT });
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
    await browser?.close();
    await node.stopForce();
  }
});
