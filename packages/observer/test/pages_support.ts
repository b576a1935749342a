// What the page tests share: screenshots, error banners, clock time axes, and connecting the
// Observer to a Go node through its "connect to…" form.

import assert from 'node:assert/strict';
import { join } from 'node:path';

import { screenshotsWanted } from '@ergo-ts/test-support';
import type { Page, Response } from 'playwright-core';

import { outputDir, WAIT, type GoPeer } from './helpers.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
};

/**
 * A full-page screenshot for people to look at, in test-output/ (none under CI=true: see
 * screenshotsWanted of @ergo-ts/test-support).
 */
export async function shot(page: Page, name: string): Promise<void> {
  if (screenshotsWanted()) await failureShot(page, name);
}

/** A full-page screenshot of a page whose test is failing: taken always, CI included. */
export async function failureShot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(outputDir(), `${name}.png`), fullPage: true });
}

/**
 * The text of every error banner shown now (a `p.error`: not a table cell marked as an error, such
 * as a journal entry's failure or a wait a cancel struck).
 */
export function banners(page: Page): Promise<string[]> {
  return page.$$eval('p.error', (els) => els.map((e) => (e.textContent ?? '').trim()).filter((t) => t !== ''));
}

/** Seconds of silence after which the page shows a periodic subscription as stale (ui/src/hooks.ts). */
const STALE_AFTER_S = 6;

/** What the page's `observerSubscriptions` (ui/src/hooks.ts) tells of one subscription a component holds. */
interface HeldSubscription {
  type: string;
  args: string;
  periodic: boolean;
  answered: boolean;
  error: string | null;
  frames: number[];
  ended: boolean;
}

/**
 * Lets a page settle, then checks it shows no error banner. Settled: every subscription its
 * components hold was answered, and each periodic one has had two frames since this call began
 * (its inspector publishes: a silence would fail the wait, or show as a banner), except one whose
 * subject ended: it must stay without a banner past the stale threshold after its last frame (the
 * page's clock shows a silence within a second of the threshold). Waits on the frames, not a fixed period past the threshold.
 */
export async function settleClean(page: Page, what: string): Promise<void> {
  const since = await page.evaluate(() => Date.now());
  const settled = (args: { since: number; endedQuietMs: number }): boolean => {
    const held = (globalThis as unknown as { observerSubscriptions?: Set<HeldSubscription> }).observerSubscriptions;
    if (held === undefined) return false;
    const now = Date.now();
    return [...held].every(
      (s) =>
        s.answered &&
        (s.error !== null ||
          !s.periodic ||
          (s.ended
            ? now - (s.frames.at(-1) ?? 0) > args.endedQuietMs
            : s.frames.filter((t) => t >= args.since).length >= 2)),
    );
  };
  try {
    await page.waitForFunction(
      settled,
      { since, endedQuietMs: (STALE_AFTER_S + 2) * 1000 },
      {
        timeout: WAIT.timeoutMs,
        polling: WAIT.intervalMs,
      },
    );
  } catch (err) {
    const held = await page.evaluate(() => [
      ...((globalThis as unknown as { observerSubscriptions?: Set<HeldSubscription> }).observerSubscriptions ?? []),
    ]);
    const now = await page.evaluate(() => Date.now());
    const state = held
      .map(
        (s) =>
          `${s.type} ${s.args}: ${s.answered ? 'answered' : 'unanswered'}${s.error === null ? '' : ` (${s.error})`}, frames ${s.frames.map((t) => t - since).join(' ')} ms after the wait began${s.ended ? ', ended' : ''}`,
      )
      .join('\n  ');
    assert.fail(
      `${what} did not settle (${(err as Error).message}); now ${now - since} ms after the wait began; held:\n  ${state}\nbanners: ${JSON.stringify(await banners(page))}`,
    );
  }
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
    await failureShot(page, `connect-failure-${go.name.split('@')[0]}`);
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
