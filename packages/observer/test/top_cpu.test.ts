// Top shows the CPU a process spends in its handlers apart from the time an async handler spends
// awaiting, and ranks by CPU unless asked otherwise: a process whose handler only waits (no CPU)
// used to come first at 1000 ms/s "in handlers", above one that spins. Checked in Chromium with a
// spinner and a waiter that began waiting before the page opened; screenshots go to
// packages/observer/test-output/ (top-cpu-*.png).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Actor, type PID } from 'ergo-ts';

import { chromiumPath, FileChromium, startObserved, WAIT } from './helpers.js';
import { failureShot, shot } from './pages_support.js';

const browsers = new FileChromium();

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelectorAll(selector: string): ArrayLike<{
    getAttribute(n: string): string | null;
    querySelector(s: string): { textContent: string | null } | null;
  }>;
};

/** Told `n`, spins 5 ms in its handler every 10 ms, n times. */
class Spinner extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    if (typeof m !== 'number' || m <= 0) return;
    const end = performance.now() + 5;
    while (performance.now() < end);
    this.sendAfter(this.pid, m - 1, 10);
  }
}

/** Its first message's handler awaits until the test lets go: in a handler, on no CPU. */
class Waiter extends Actor {
  static release: () => void = () => undefined;
  override async handleMessage(): Promise<void> {
    await new Promise<void>((resolve) => (Waiter.release = resolve));
  }
}

test('Top: CPU apart from waiting, ranked by CPU; the waiter first only by time in handlers', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved();
  const context = await browsers.context(executablePath);
  try {
    // The waiter waits from before the page opens: by time in handlers it is ahead from the start.
    const waiter = await node.spawnRegister('top_waiter', Waiter);
    node.send(waiter, 'wait');
    const spinner = await node.spawnRegister('top_spinner', Spinner);
    node.send(spinner, 100_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/#/top`);

    /** The row of `name`: its rank and its cells, once both rates have a value. */
    const rowsNow = () =>
      page.evaluate(() =>
        Array.from(document.querySelectorAll('[data-testid=top-row]')).map((r, i) => ({
          rank: i,
          name: r.getAttribute('data-name'),
          cpuRate: r.querySelector('[data-testid=top-cpu-rate]')?.textContent ?? '',
          waiting: r.querySelector('[data-testid=top-waiting]')?.textContent ?? '',
          waitingRate: r.querySelector('[data-testid=top-waiting-rate]')?.textContent ?? '',
        })),
      );
    // By CPU: the spinner first, its CPU rate above 0; the waiter below it with no CPU and a wait.
    await page
      .waitForFunction(
        () => {
          const rows = Array.from(document.querySelectorAll('[data-testid=top-row]'));
          const cell = (name: string, id: string) =>
            rows.find((r) => r.getAttribute('data-name') === name)?.querySelector(`[data-testid=${id}]`)?.textContent;
          return (
            rows[0]?.getAttribute('data-name') === 'top_spinner' &&
            Number(cell('top_spinner', 'top-cpu-rate') ?? 'NaN') > 0 &&
            Number(cell('top_waiter', 'top-waiting-rate') ?? 'NaN') > 0
          );
        },
        undefined,
        { timeout: WAIT.timeoutMs, polling: 100 },
      )
      .catch(async (err: unknown) => {
        await failureShot(page, 'top-cpu-failed');
        throw new Error(`by CPU: ${JSON.stringify((await rowsNow()).slice(0, 4))}`, { cause: err });
      });
    assert.equal(await page.inputValue('[data-testid=top-sort]'), 'cpu', 'ranked by CPU by default');
    const byCpu = await rowsNow();
    const w = byCpu.find((r) => r.name === 'top_waiter')!;
    const s = byCpu.find((r) => r.name === 'top_spinner')!;
    assert.equal(s.rank, 0);
    assert.ok(w.rank > s.rank, 'the waiter below the spinner');
    assert.equal(w.cpuRate, '0.0', 'waiting uses no CPU');
    assert.notEqual(w.waiting, '', 'how long it has been waiting');
    assert.ok(Number(s.cpuRate) > 0);
    await shot(page, 'top-cpu-by-cpu');

    // By time in handlers (CPU + waiting): the waiter is first.
    await page.selectOption('[data-testid=top-sort]', 'running');
    await page.waitForFunction(
      () => {
        const first = document.querySelectorAll('[data-testid=top-row]')[0];
        return (
          first?.getAttribute('data-name') === 'top_waiter' &&
          Number(first.querySelector('[data-testid=top-waiting-rate]')?.textContent ?? 'NaN') > 0
        );
      },
      undefined,
      { timeout: WAIT.timeoutMs, polling: 100 },
    );
    await shot(page, 'top-cpu-by-time-in-handlers');
    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    Waiter.release();
    await context.close();
    await node.stop();
  }
});
