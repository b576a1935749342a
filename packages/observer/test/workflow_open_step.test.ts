// A step still open in an instance's step history, in Chromium (its journal's `retry` entry). A
// step whose first attempt failed (a 503) and whose second runs and heartbeats: the running
// attempt's details are written into that entry (at most each second here), which moves its `at`
// on — the history shows the failure at the time it failed (`ea`), not at the last write, then the
// attempt running with its heartbeat; the running card names when the previous attempt failed. A
// step that never failed and heartbeats shows as its step with the attempt running and its
// heartbeat: no retry line, no "0 attempts". Screenshot: test-output/workflow-open-step.png.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { MemoryStore, defineWorkflow, startEntities, type WorkflowJournalEntry } from '@ergo-ts/entities';
import type { Page } from 'playwright-core';

import { chromiumPath, launchChromium, startObserved, VIEWPORT, WAIT } from './helpers.js';
import { banners, shot } from './pages_support.js';

/** Set once the test has seen what it checks: the attempts heartbeating stop then. */
const done = { now: false };

/** Heartbeats `{ n }` every 20 ms until the test is done; the details are written at most each second. */
async function beating(info: { heartbeat(d: unknown): void }): Promise<string> {
  for (let n = 1; !done.now; n++) {
    info.heartbeat({ n });
    await new Promise((r) => setTimeout(r, 20));
  }
  return 'ok';
}

const Partner = defineWorkflow('partnercall', async (ctx, input: { fail: boolean }) =>
  ctx.step(
    'call',
    async (info) => {
      if (input.fail && info.attempt === 1)
        throw Object.assign(new Error('the partner answered 503'), { code: 'ERR_PARTNER' });
      return beating(info);
    },
    { retry: { initialMs: 1, maxMs: 1 }, heartbeatTimeoutMs: 1250 },
  ),
);

/** The cells of the history's rows, by column header. */
async function historyRows(page: Page): Promise<Record<string, string>[]> {
  return page.$eval('[data-testid=workflow-history]', (card) => {
    const heads = [...card.querySelectorAll('th')].map((h) => (h.textContent ?? '').trim());
    return [...card.querySelectorAll('tr[data-seq]')].map((r) =>
      Object.fromEntries([...r.querySelectorAll('td')].map((c, i) => [heads[i], (c.textContent ?? '').trim()])),
    );
  });
}

/** Epoch ms as the page shows a time of today (local, with ms). */
function clock(ms: number): string {
  const d = new Date(ms);
  return d.toLocaleTimeString('en-GB', { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

test("an open step's history row keeps its failed attempt's time and shows a running attempt as running", async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const observed = await startObserved();
  const entities = await startEntities(observed.node, { store: new MemoryStore(), kinds: [Partner] });
  const browser = await launchChromium(executablePath);
  t.after(async () => {
    done.now = true;
    await browser.close();
    await entities.stop();
    await observed.node.stop();
  });
  const failing = await entities.workflows.start(Partner, 'p1', { fail: true });
  const fine = await entities.workflows.start(Partner, 'p2', { fail: false });
  const open = async (h: typeof failing): Promise<WorkflowJournalEntry | undefined> =>
    (await h.describe()).history.find((e) => e.t === 'retry');
  // A heartbeat written after the failure: the entry's `at` moved on, its `ea` did not.
  const moved = await eventually(
    async () => {
      const e = await open(failing);
      return e?.ea !== undefined && e.h !== undefined && e.at > e.ea ? e : undefined;
    },
    "attempt 2's heartbeat is written after attempt 1 failed",
    WAIT,
  );
  const beat = await eventually(
    async () => (await open(fine))?.h !== undefined || undefined,
    'p2 heartbeat written',
    WAIT,
  );
  assert.ok(beat);

  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(`${observed.url}#/workflow/partnercall/p1`);
  await page.waitForSelector('[data-testid=workflow-history] tr[data-open=step]', { timeout: 20_000 });
  const [row] = await historyRows(page);
  assert.equal(row!.op, 'step');
  assert.equal(row!.name, 'call');
  assert.equal(row!.at, clock(moved.ea!), 'the failure at its own time');
  assert.equal(row!.attempts, '1');
  assert.match(
    row!.result!,
    new RegExp(
      `^attempt 1 failed ${clock(moved.ea!).replace('.', '\\.')}: ERR_PARTNER: the partner answered 503; attempt 2 running, last heartbeat written \\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\{"n":\\d+\\}$`,
    ),
  );
  const previous = await page.$eval(
    '[data-testid=workflow-running] tr[data-seq] td:last-child',
    (c) => c.textContent ?? '',
  );
  assert.equal(previous, `ERR_PARTNER: the partner answered 503 (failed ${clock(moved.ea!)})`);
  await shot(page, 'workflow-open-step');

  await page.goto(`${observed.url}#/workflow/partnercall/p2`);
  await page.waitForSelector('[data-testid=workflow-history] tr[data-open=step]', { timeout: 20_000 });
  const [running] = await historyRows(page);
  assert.equal(running!.op, 'step', 'not a retry');
  assert.equal(running!.attempts, '', 'no "0 attempts"');
  assert.match(running!.result!, /^attempt 1 running, last heartbeat written \d\d:\d\d:\d\d\.\d{3} \{"n":\d+\}$/);
  assert.deepEqual(await banners(page), []);

  done.now = true;
  assert.equal(await failing.result(), 'ok');
  assert.equal(await fine.result(), 'ok');
});
