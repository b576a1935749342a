// The tab chat example (tab_chat.ts) as a user sees it: the server started as `npm run tab-chat`
// starts it (on a free port), two Chromium pages join as ann and bob, each sees the other join,
// a line ann sends shows in bob's page, and when bob leaves ann's page shows him leaving (the
// room's monitor of his member process fired). Screenshots in examples/dist/test-output/.
// Without Chromium (/usr/bin/chromium or CHROMIUM) or the tab bundle it skips; under CI=true it fails.

import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium, type Page } from 'playwright-core';

import { startChat } from './tab_chat.js';

const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const BUNDLE = join(dirname(fileURLToPath(import.meta.resolve('@ergo-ts/tabs/package.json'))), 'dist/browser/tab.js');
const OUTPUT = fileURLToPath(new URL('./test-output/', import.meta.url));

function missing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    return `needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
  }
  if (!existsSync(BUNDLE)) return `no ${BUNDLE}: run npm run build (scripts/bundle-browser.mjs)`;
  return undefined;
}

test('two tabs chat through the gateway; one leaving shows as leaving in the other', async (t) => {
  const why = missing();
  if (why !== undefined) {
    if (process.env['CI'] === 'true') throw new Error(`${why}: required under CI`);
    t.skip(why);
    return;
  }
  const chat = await startChat(0);
  t.after(() => chat.stop());
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const errors: string[] = [];
  const open = async (nick: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
    page.on('pageerror', (e) => errors.push(`${nick}: ${e.message}`));
    await page.goto(`${chat.url}?nick=${nick}`);
    await page.locator('#status.joined').waitFor();
    return page;
  };
  const line = (page: Page, cls: string, text: string) => page.locator(`#log li.${cls}`, { hasText: text }).waitFor();

  const ann = await open('ann');
  const bob = await open('bob');
  await line(ann, 'joined', '* bob joined');
  assert.match((await bob.locator('#status').textContent()) ?? '', /^bob \(tab-.*\) — here: ann, bob$/);

  await ann.fill('#text', 'hello bob');
  await ann.press('#text', 'Enter');
  await line(bob, 'said', 'ann: hello bob');
  await line(ann, 'said', 'ann: hello bob');
  await bob.fill('#text', 'hi ann');
  await bob.click('button:text("Send")');
  await line(ann, 'said', 'bob: hi ann');

  await bob.click('#leave');
  await line(ann, 'left', '* bob left (connection gone)');
  assert.equal(chat.gateway.tabs().length, 1, 'only ann is left at the gateway');
  mkdirSync(OUTPUT, { recursive: true });
  await ann.screenshot({ path: join(OUTPUT, 'tab-chat-ann.png') });
  await bob.screenshot({ path: join(OUTPUT, 'tab-chat-bob.png') });
  assert.deepEqual(errors, []);
});
