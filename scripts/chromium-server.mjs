#!/usr/bin/env node
// A Chromium for test files to borrow (scripts/run-tests.mjs starts one when a file that uses
// Chromium finds none idle, and lends it to one file at a time): a Playwright browser server,
// launched as every browser test launches its own (headless, --no-sandbox, --disable-gpu;
// CHROMIUM or /usr/bin/chromium), whose WebSocket endpoint it prints as one JSON line
// `{"wsEndpoint": ...}` on stdout. A file connects to it through ERGO_TEST_CHROMIUM_WS
// (@ergo-ts/test-support's testChromium); when it disconnects, Playwright closes the contexts it
// made. It closes the browser and exits when its stdin ends (the runner closes it, or died).
// Launching per file cost ~2.4 CPU-s each, for some 45 files a run.
//
// Prints `{"error": ...}` and exits 1 when Chromium cannot be launched: the files then launch
// their own, and report the problem themselves if that fails too.

import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
try {
  accessSync(executablePath, constants.X_OK);
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  const server = await chromium.launchServer({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu'],
    headless: true,
  });
  process.stdout.write(`${JSON.stringify({ wsEndpoint: server.wsEndpoint() })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
  process.exit(1);
}
