// Chromium kept for a whole test run. Starting Chromium costs about 2.4 s of CPU (the browser, GPU
// and utility processes), and some 45 test files use one: scripts/run-tests.mjs keeps Playwright
// browser servers (scripts/chromium-server.mjs) and lends one to each such file for as long as it
// runs, naming its WebSocket endpoint in ERGO_TEST_CHROMIUM_WS. The file connects to it instead of
// launching a browser: it is the browser's only client meanwhile, the contexts and pages it makes
// are its own, and `close()` (or the file's end) closes them and disconnects, leaving the browser
// to the next file. Run alone (`node --test file`), or when the server cannot be reached, a file
// launches its own browser as before.

/** The launch options every test browser uses (headless, no sandbox: tests run as root in CI). */
export const CHROMIUM_ARGS: readonly string[] = ['--no-sandbox', '--disable-gpu'];

/** The environment variable holding the run's shared browser server's endpoint. */
export const CHROMIUM_WS_ENV = 'ERGO_TEST_CHROMIUM_WS';

/** The part of playwright-core's `BrowserType` used here (test-support does not depend on it). */
export interface ChromiumType<B> {
  launch(options: { executablePath: string; args: string[]; headless: boolean }): Promise<B>;
  connect(wsEndpoint: string): Promise<B>;
}

/**
 * A browser for a test file: a connection to the Chromium the run lent it when
 * `ERGO_TEST_CHROMIUM_WS` names one, else (or if connecting fails) a Chromium launched from
 * `executablePath`. Either way the caller's `close()` releases what it got, and only that.
 */
export async function testChromium<B>(type: ChromiumType<B>, executablePath: string): Promise<B> {
  const ws = process.env[CHROMIUM_WS_ENV];
  if (ws !== undefined && ws !== '') {
    try {
      return await type.connect(ws);
    } catch {
      // The server is gone (it crashed, or the run ended it): this file launches its own.
    }
  }
  return type.launch({ executablePath, args: [...CHROMIUM_ARGS], headless: true });
}

/** Set to `1` to take the screenshots kept for people under `CI=true` as well (see {@link screenshotsWanted}). */
export const SCREENSHOTS_ENV = 'ERGO_TEST_SCREENSHOTS';

/**
 * Whether a browser test takes the screenshots it keeps for people to look at (its
 * `test-output/`): yes, except under `CI=true`, whose clone is thrown away with them (a full-page
 * screenshot of an Observer page is 0.12-0.23 s of Chromium's CPU, and a run took some 140),
 * unless `ERGO_TEST_SCREENSHOTS=1`. What the test checks on the page is the same either way; a
 * screenshot taken because a test failed is taken always.
 */
export function screenshotsWanted(): boolean {
  return process.env.CI !== 'true' || process.env[SCREENSHOTS_ENV] === '1';
}
