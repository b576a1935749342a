// Waiting for charts: the node page's charts may start prefilled with the node's history (more
// points than live samples alone), so tests wait for "at least n points", never for exactly n.

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
