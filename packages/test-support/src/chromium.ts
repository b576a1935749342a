// One Chromium for a whole test run. Starting Chromium costs about 2.4 s of CPU (the browser, GPU
// and utility processes), and some 45 test files use one: scripts/run-tests.mjs starts a single
// Playwright browser server (scripts/chromium-server.mjs) when a file of the run needs Chromium and
// names its WebSocket endpoint in ERGO_TEST_CHROMIUM_WS. A file then connects to it instead of
// launching a browser: the contexts and pages it makes are its own (isolated from the other
// files' as two browser profiles are) and `close()` ends them and disconnects, leaving the browser
// to the rest of the run. Run alone (`node --test file`), or when the server cannot be reached, a
// file launches its own browser as before.

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
 * A browser for a test file: a connection to the run's shared Chromium when
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
