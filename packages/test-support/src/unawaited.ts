// Checking that a package's Promises are safe to leave un-awaited (every Promise any package
// returns must be: a caller who forgets `await` must not end the OS process). Each failure is
// provoked twice: once with its Promise ignored, as such a caller would, and once awaited, where
// it must still reject with its stable code. The strict test run already fails a file on any
// unhandled rejection; the watch below also names the package in the file's own failure.

import { strict as assert } from 'node:assert';

/** Collects every `unhandledRejection` of this process between {@link start} and {@link stop}. */
export class UnhandledWatch {
  /** The reasons seen so far. */
  readonly seen: unknown[] = [];
  readonly #onUnhandled = (reason: unknown): void => void this.seen.push(reason);

  /** @param what the package or API under test, for the failure message. */
  constructor(private readonly what: string) {}

  /** Starts listening (call it from a `before` hook). */
  start(): void {
    process.on('unhandledRejection', this.#onUnhandled);
  }

  /** Stops listening and fails if any rejection was unhandled (call it from an `after` hook). */
  stop(): void {
    process.off('unhandledRejection', this.#onUnhandled);
    assert.deepEqual(this.seen, [], `an ignored Promise of ${this.what} reached unhandledRejection`);
  }
}

/** Calls `op` twice: the first Promise ignored, the second awaited and checked for `code`. */
export async function ignoredThenAwaited(op: () => Promise<unknown>, code: string): Promise<void> {
  void op();
  await assert.rejects(op(), { code });
}
