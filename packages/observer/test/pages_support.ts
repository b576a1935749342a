// What the page tests share: screenshots, error banners, clock time axes, and connecting the
// Observer to a Go node through its "connect to…" form.

import assert from 'node:assert/strict';
import { join } from 'node:path';

import type { Page, Response } from 'playwright-core';

import { outputDir, type GoPeer } from './helpers.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
};

export async function shot(page: Page, name: string): Promise<string> {
  const path = join(outputDir(), `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The text of every error banner shown now. */
export function banners(page: Page): Promise<string[]> {
  return page.$$eval('.error', (els) => els.map((e) => (e.textContent ?? '').trim()).filter((t) => t !== ''));
}

/** Lets a page run a few inspector periods, then checks it shows no error banner. */
export async function settleClean(page: Page, what: string): Promise<void> {
  // Each periodic subscription reports a silence after 6 s; wait past that once per page.
  await page.waitForTimeout(7000);
  assert.deepEqual(await banners(page), [], `no error banner on ${what}`);
}

/** Every chart's time axis reads hh:mm:ss around the browser's clock (not 1970, not bare numbers). */
export async function assertClockAxes(page: Page, scope: string): Promise<void> {
  const axes = await page.$$eval(`${scope} .chart`, (els) =>
    els.map((e) => ({ labels: e.getAttribute('data-x-labels') ?? '', last: Number(e.getAttribute('data-x-last')) })),
  );
  assert.ok(axes.length > 0, `charts on ${scope}`);
  const now = Date.now() / 1000;
  for (const a of axes) {
    const labels = a.labels.split(' ');
    assert.ok(labels.length >= 2, `time axis labels: "${a.labels}"`);
    for (const l of labels) assert.match(l, /^\d\d:\d\d:\d\d$/, `time axis label "${l}" of "${a.labels}"`);
    // the axis ends at the last sample (or now): today's clock, not 1970 or another year
    assert.ok(Math.abs(a.last - now) < 600, `time axis ends at ${a.last}, now is ${now}`);
  }
}

export async function connectTo(page: Page, go: GoPeer): Promise<void> {
  const answers: string[] = [];
  const onAnswer = (r: Response): void => {
    if (!r.url().includes('/api/')) return;
    r.text().then(
      (t) => answers.push(`${r.request().postData() ?? ''} -> ${r.status()} ${t}`),
      () => undefined,
    );
  };
  page.on('response', onAnswer);
  try {
    await connectOnce(page, go);
  } catch (err) {
    await shot(page, `connect-failure-${go.name.split('@')[0]}`);
    console.log(`# commands of the failed connect:\n${answers.join('\n')}`);
    throw err;
  } finally {
    page.off('response', onAnswer);
  }
}

async function connectOnce(page: Page, go: GoPeer): Promise<void> {
  await page.click('text=connect to…');
  await page.fill('.connect input[placeholder="node@host"]', go.name);
  await page.fill('.connect input[placeholder=host]', '127.0.0.1');
  await page.fill('.connect input[placeholder=port]', String(go.port));
  await page.click('.connect button[type=submit]');
  await page.waitForFunction((n) => document.querySelector('[data-testid=current-node]')?.textContent === n, go.name);
  await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
}
