// Waiting for charts: the node page's charts may start prefilled with the node's history (more
// points than live samples alone), so tests wait for "at least n points", never for exactly n.
// And the history frames that prefill them, as the tab's own event stream receives them.

import assert from 'node:assert/strict';

import type { Page } from 'playwright-core';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelectorAll(selector: string): Iterable<{ getAttribute(name: string): string | null }>;
};

/** Waits until some chart under `scope` draws at least `n` points. */
export async function chartPoints(page: Page, scope: string, n: number): Promise<void> {
  await page.waitForFunction(
    ([s, min]) =>
      Array.from(document.querySelectorAll(`${s} .chart`)).some((e) => Number(e.getAttribute('data-points')) >= min),
    [scope, n] as const,
  );
}

/**
 * The sample times (`t`) of every frame of `event` (`history`, `connection_history`) the page's
 * own event stream receives, a list per frame in order (CDP sees the tab's own stream, not the
 * shared worker's: open the page with `/own-stream` in its hash).
 */
export async function frameSampleTimes(page: Page, event: string): Promise<number[][]> {
  const frames: number[][] = [];
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.eventSourceMessageReceived', (e) => {
    if (e.eventName !== event) return;
    frames.push((JSON.parse(e.data) as { samples: { t: number }[] }).samples.map((s) => s.t));
  });
  return frames;
}

/**
 * The second history frame a tab got carries only what is new: none of its samples is as old as
 * the newest of the first (which brought the kept history: more than 20 samples). By sample times,
 * not sizes: on a loaded machine the page may come back after more new samples than it had.
 */
export function assertOnlyNew(frames: number[][], what: string): void {
  const [first, second] = [frames[0]!, frames[1]!];
  assert.ok(first.length > 20, `the first ${what} frame brings the kept history: ${first.length} samples`);
  const newest = Math.max(...first);
  const again = second.filter((t) => t <= newest);
  assert.deepEqual(
    again,
    [],
    `the second ${what} frame carries only what is new: ${again.length} of its ${second.length} samples were in the first (${first.length})`,
  );
}
