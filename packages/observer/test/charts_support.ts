// Waiting for charts: the node page's charts may start prefilled with the node's history (more
// points than live samples alone), so tests wait for "at least n points", never for exactly n.
// And the history frames that prefill them, as the tab's own event stream receives them.

import assert from 'node:assert/strict';

import type { Page } from 'playwright-core';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelectorAll(selector: string): Iterable<{
    getAttribute(name: string): string | null;
    querySelector(selector: string): { textContent: string | null } | null;
  }>;
};

/** Waits until some chart under `scope` draws at least `n` points. */
export async function chartPoints(page: Page, scope: string, n: number): Promise<void> {
  await page.waitForFunction(
    ([s, min]) =>
      Array.from(document.querySelectorAll(`${s} .chart`)).some((e) => Number(e.getAttribute('data-points')) >= min),
    [scope, n] as const,
  );
}

/** Each chart under `scope` by title: how many points it shows and how many times it was drawn. */
export async function chartDraws(page: Page, scope: string): Promise<Map<string, { points: number; draws: number }>> {
  const charts = await page.evaluate(
    (s) =>
      Array.from(document.querySelectorAll(`${s} .chart`)).map((e) => ({
        title: e.querySelector('.u-title')?.textContent ?? '',
        points: Number(e.getAttribute('data-points')),
        draws: Number(e.getAttribute('data-draws')),
      })),
    scope,
  );
  return new Map(charts.map((c) => [c.title, { points: c.points, draws: c.draws }]));
}

/**
 * Between two readings of `chartDraws`, each chart was drawn at most once per new point: a page
 * that re-renders for another chart's frame (the node page gets node_info and runtime frames,
 * each for some of its charts) leaves the others as they are. Every chart got new points.
 */
export function assertDrawnOnlyWhenMoved(
  before: Map<string, { points: number; draws: number }>,
  after: Map<string, { points: number; draws: number }>,
): void {
  assert.ok(after.size > 0, 'charts to compare');
  for (const [title, a] of after) {
    const b = before.get(title);
    assert.ok(b !== undefined, `chart ${title} drawn at both readings`);
    const points = a.points - b.points;
    const draws = a.draws - b.draws;
    assert.ok(points > 0, `chart ${title} got new points (${b.points} -> ${a.points})`);
    assert.ok(draws <= points, `chart ${title} drawn ${draws} times for ${points} new points`);
  }
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
