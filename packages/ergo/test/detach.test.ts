// detach() (gen/ignorable.ts): fire-and-forget work whose outcome goes to handlers, and whose
// failure — the work's own, a synchronous throw while making it, or a handler's throw — is logged
// once and never reaches unhandledRejection (which would end the OS process).

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { detach } from '../src/index.js';

/** A log that records its warnings and resolves `next` with each line. */
function recordingLog(): {
  warning: (f: string, ...a: unknown[]) => void;
  lines: string[];
  next: () => Promise<string>;
} {
  const lines: string[] = [];
  let wake: ((line: string) => void) | undefined;
  return {
    lines,
    warning(format: string, ...args: unknown[]) {
      let i = 0;
      const line = format.replace(/%s/g, () => String(args[i++]));
      lines.push(line);
      wake?.(line);
    },
    next: () => new Promise<string>((resolve) => (wake = resolve)),
  };
}

/** Resolves once `fn` was called (for handlers). */
function signal(): { fired: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return { fired, fire };
}

describe('detach', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);

  test('a value goes to the value handler, then always; nothing is logged', async () => {
    const log = recordingLog();
    const done = signal();
    const seen: string[] = [];
    detach(Promise.resolve(7), 'x', log, {
      value: (v) => seen.push(`value ${v}`),
      always: () => {
        seen.push('always');
        done.fire();
      },
    });
    await done.fired;
    assert.deepEqual(seen, ['value 7', 'always']);
    assert.deepEqual(log.lines, []);
  });

  test('a failure goes to the error handler when there is one', async () => {
    const log = recordingLog();
    const done = signal();
    let got: unknown;
    detach(Promise.reject(new Error('boom')), 'x', log, { error: (e) => (got = e), always: done.fire });
    await done.fired;
    assert.equal((got as Error).message, 'boom');
    assert.deepEqual(log.lines, []);
  });

  test('a failure without an error handler is logged once, with what failed', async () => {
    const log = recordingLog();
    const line = log.next();
    detach(Promise.reject(new Error('boom')), 'mcp: sampler', log);
    assert.match(await line, /^mcp: sampler failed: Error: boom/);
    assert.equal(log.lines.length, 1);
  });

  test('a value handler that throws is logged, and always still runs', async () => {
    const log = recordingLog();
    const line = log.next();
    let always = 0;
    detach(Promise.resolve(1), 'send', log, {
      value: () => {
        throw new Error('the process ended');
      },
      always: () => always++,
    });
    assert.match(await line, /^send failed: Error: the process ended/);
    assert.equal(always, 1);
  });

  test('a function that throws while making the work counts as a failure; a non-Error is printed', async () => {
    const log = recordingLog();
    const line = log.next();
    detach(
      () => {
        throw Object.create(null) as Error;
      },
      'make',
      log,
    );
    assert.equal(await line, 'make failed: [object Object]');
  });

  test('none of it reached unhandledRejection', async () => {
    // Every case above has settled (each awaited its line or handler); one more turn of the
    // microtask queue after a last detached failure lets any stray rejection be reported.
    const log = recordingLog();
    const line = log.next();
    detach(Promise.reject(new Error('last')), 'last', log);
    await line;
    await new Promise<void>((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, []);
  });
});
