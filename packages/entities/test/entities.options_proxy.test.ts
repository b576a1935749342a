// startEntities given options whose reads throw (a getter, a Proxy): a Proxy that throws on every
// read, and for each option the runtime reads as it starts (recorded from a start with the same
// options) a Proxy that throws on that one alone. Each start rejects — with ERR_ENTITY_INCORRECT,
// or with the thrown error itself — and leaves nothing behind: no timer armed (async_hooks counts
// the timers made during the start and not cleared), no unhandled rejection, the manager's name
// free for the next start. The ms options past what a timer holds are refused with the code too.

import { strict as assert } from 'node:assert';
import { createHook } from 'node:async_hooks';
import { after, before, test } from 'node:test';

import { LogLevel, startNode, type Node } from 'ergo-ts';

import { MemoryStore, startEntities, type EntitiesOptions } from '../src/index.js';
import { counterKind } from './counter.js';

let node: Node;
const store = new MemoryStore();
const kind = counterKind(0);
const unhandled: unknown[] = [];
const onUnhandled = (r: unknown): void => void unhandled.push(r);

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  node = await startNode(`entopts_${process.pid}@localhost`, { log: { level: LogLevel.Disabled } });
});
after(async () => {
  process.off('unhandledRejection', onUnhandled);
  await node.stop();
});

/** The options every case starts from: a member on a MemoryStore, renewing often (timers early). */
const base = (): EntitiesOptions => ({ store, kinds: [kind], leaseTtlMs: 2_000 });

/** Timers made while `fn` runs and still armed after it (neither fired nor cleared). */
async function timersLeftBy(fn: () => Promise<void>): Promise<string[]> {
  const armed = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout') armed.set(id, new Error('armed here').stack ?? '');
    },
    destroy(id) {
      armed.delete(id);
    },
  });
  hook.enable();
  try {
    await fn();
    // A cleared timer's destroy is emitted on a later turn of the loop, to a hook still enabled.
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
  } finally {
    hook.disable();
  }
  return [...armed.values()];
}

/** A start that must not succeed, checked for its error and for what it left. */
async function failedStart(options: EntitiesOptions, what: string, expect: RegExp | string): Promise<void> {
  let error: (Error & { code?: string }) | undefined;
  const left = await timersLeftBy(async () => {
    try {
      const rt = await startEntities(node, options);
      await rt.stop();
      assert.fail(`${what}: the start succeeded`);
    } catch (e) {
      error = e as Error & { code?: string };
    }
  });
  assert.ok(error !== undefined);
  if (typeof expect === 'string') assert.equal(error.code, expect, `${what}: ${error.message}`);
  else assert.match(error.message, expect, what);
  assert.deepEqual(left, [], `${what}: timers left armed`);
  assert.deepEqual(unhandled, [], `${what}: unhandled rejections`);
}

test('a Proxy whose every read throws is refused with ERR_ENTITY_INCORRECT, nothing started', async () => {
  const throwing = new Proxy(
    {},
    {
      get() {
        throw new Error('read refused');
      },
    },
  );
  await failedStart(throwing as EntitiesOptions, 'a throwing Proxy', 'ERR_ENTITY_INCORRECT');
  for (const o of [null, undefined, 7, 'x'])
    await failedStart(o as unknown as EntitiesOptions, `options ${String(o)}`, 'ERR_ENTITY_INCORRECT');
});

test('each option the start reads, throwing alone: the start rejects and leaves no timer, no manager', async () => {
  // The options read during a start (and its stop), in the order read.
  const read = new Set<string>();
  const recording = new Proxy(base(), {
    get(target, key) {
      if (typeof key === 'string') read.add(key);
      return (target as unknown as Record<string | symbol, unknown>)[key];
    },
  });
  const rt = await startEntities(node, recording);
  await rt.stop();
  for (const k of ['store', 'kinds', 'leaseTtlMs', 'rejoinStableMs']) assert.ok(read.has(k), `${k} is read`);
  for (const k of read) {
    const throwingOn = new Proxy(base(), {
      get(target, key) {
        if (key === k) throw new Error(`read of ${k} refused`);
        return (target as unknown as Record<string | symbol, unknown>)[key];
      },
    });
    await failedStart(throwingOn, `throwing on ${k}`, new RegExp(`read of ${k} refused`));
  }
  // The manager's name is free: a start with the options whole runs.
  const again = await startEntities(node, base());
  await again.stop();
});

test('the ms options past 2^31 - 1 (a timer runs them at once) are refused with ERR_ENTITY_INCORRECT', async () => {
  const ms: (keyof EntitiesOptions)[] = [
    'leaseTtlMs',
    'renewIntervalMs',
    'probeIntervalMs',
    'handOffTimeoutMs',
    'stopTimeoutMs',
    'rejoinStableMs',
  ];
  for (const k of ms)
    for (const v of [2 ** 31, Number.POSITIVE_INFINITY])
      await failedStart({ ...base(), [k]: v }, `${k} = ${v}`, 'ERR_ENTITY_INCORRECT');
  for (const [k, sub] of [
    ['reminders', 'pollMs'],
    ['reminders', 'deliveryTimeoutMs'],
    ['reminders', 'warmUpMs'],
    ['inbox', 'pollMs'],
    ['inbox', 'retryCapMs'],
  ] as const)
    await failedStart({ ...base(), [k]: { [sub]: 2 ** 31 } }, `${k}.${sub} = 2^31`, 'ERR_ENTITY_INCORRECT');
});
