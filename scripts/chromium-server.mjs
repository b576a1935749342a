#!/usr/bin/env node
// The test run's one Chromium (scripts/run-tests.mjs starts this when a file of the run uses
// Chromium): a Playwright browser server, launched as every browser test launches its own
// (headless, --no-sandbox, --disable-gpu; CHROMIUM or /usr/bin/chromium), whose WebSocket
// endpoint it prints as one JSON line `{"wsEndpoint": ...}` on stdout. The files connect to it
// through ERGO_TEST_CHROMIUM_WS (@ergo-ts/test-support's testChromium), each with contexts of its
// own. It closes the browser and exits when its stdin ends (the runner closes it, or died).
// Launching per file cost ~2.4 CPU-s each, for some 45 files a run.
//
// Prints `{"error": ...}` and exits 1 when Chromium cannot be launched: the files then launch
// their own, and report the problem themselves if that fails too.

import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
try {
  accessSync(executablePath, constants.X_OK);
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  const server = await chromium.launchServer({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu'],
    headless: true,
  });
  // This process runs Playwright's server side for every file at once (each file's process did
  // its own before): one process where there were several, so under a loaded scheduler it would
  // get one share of the CPU where the files together had several. Once Chromium has started (its
  // processes keep their own priorities), it takes the priority Chromium gives its browser
  // process (nice -8) when it may.
  try {
    setPriority(-8);
  } catch {
    // Not root: it keeps the priority it was given.
  }
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
