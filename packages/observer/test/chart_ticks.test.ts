// The value axis of a chart of whole numbers (issue 79): the Node page's Processes chart, whose
// count holds still, labelled one y tick (uPlot's range around a constant count held one whole
// step). Now it reads from zero with at least two labelled ticks, in Chromium on a live node; and
// the Processes chart of a process's page (its messages, a constant 0) too.
// Screenshots go to packages/observer/test-output/ (chart-ticks-*.png).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Actor, type PID, type Ref } from 'ergo-ts';
import type { Page } from 'playwright-core';

import { chromiumPath, launchChromium, startObserved, VIEWPORT } from './helpers.js';
import { shot } from './pages_support.js';

/** Answers every call (a message in, one out): then idle, its counts hold still. */
class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

/** The labels of the value axis of the chart `sel` once it drew `points` samples: the non-empty ones. */
async function yLabels(page: Page, sel: string, points: number): Promise<string[]> {
  await page.waitForFunction(
    ([s, n]) => Number(document.querySelector(s as string)?.getAttribute('data-points')) >= (n as number),
    [sel, points] as const,
    { timeout: 20_000 },
  );
  return (await page.getAttribute(sel, 'data-y-labels'))!.split('|').filter((l) => l !== '');
}

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { getAttribute(n: string): string | null } | null;
};

test('a chart of whole numbers labels at least two y ticks, from zero', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const observed = await startObserved();
  const browser = await launchChromium(executablePath);
  t.after(async () => {
    await browser.close();
    await observed.node.stop();
  });
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(`${observed.url}/#/info`);
  const procs = '.chart[data-title="Processes"]';
  const labels = await yLabels(page, procs, 3);
  await shot(page, 'chart-ticks-processes');
  assert.ok(labels.length >= 2, `the Processes axis labels ${labels.length} tick(s): ${labels.join(', ')}`);
  assert.equal(labels[0], '0', `from zero: ${labels.join(', ')}`);
  assert.ok(
    labels.every((l) => /^\d[\d,]*$/.test(l)),
    `whole numbers: ${labels.join(', ')}`,
  );

  // A count that holds still: 4 messages in and 4 out, then idle.
  const echo = await observed.node.spawn(Echo);
  for (let i = 0; i < 4; i++) await observed.node.call(echo, i);
  await page.goto(`${observed.url}/#/process/${encodeURIComponent(String(echo))}`);
  const msgs = '.chart[data-title="Messages"]';
  const still = await yLabels(page, msgs, 3);
  await shot(page, 'chart-ticks-messages');
  assert.ok(still.length >= 2, `the Messages axis labels ${still.length} tick(s): ${still.join(', ')}`);
  assert.equal(still[0], '0', `from zero: ${still.join(', ')}`);
});
