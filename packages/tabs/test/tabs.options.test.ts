// The gateway's options given garbage: every value of the wrong type (a string, null, NaN, a
// negative, an object), options that are no object, and a Proxy whose reads throw are refused
// with ERR_INCORRECT before anything listens — never a TypeError, never the default in its place.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';
import { eventually } from '@ergo-ts/test-support';

import { createTabGateway, type TabGatewayOptions } from '../src/index.js';
import { quiet } from './helpers.js';

const NUMERIC = [
  'reconnectWindow',
  'eventRetryWindow',
  'helloTimeout',
  'upgradeTimeout',
  'refusalLogInterval',
  'slowConsumerMs',
  'fanOutSlice',
  'fanOutSliceMs',
  'inboundSlice',
  'inboundTurn',
] as const;
const GARBAGE: unknown[] = ['100', null, Number.NaN, -1, {}, [], true, Symbol('x')];

let node: Node;
test.before(async () => {
  node = await startNode(`gwopts${process.pid}@localhost`, quiet());
});
test.after(() => node.stop());

const admit: TabGatewayOptions['admit'] = () => ({ names: {} });

/**
 * The gateway's processes (its relay and inspector, registered names) have ended: a gateway's stop
 * sends them their end and resolves without waiting for it, so a gateway started on the node at
 * once could meet ERR_TAKEN.
 */
async function gatewayGone(): Promise<void> {
  const gone = (name: string): boolean => {
    try {
      node.processPID(name);
      return false;
    } catch {
      return true;
    }
  };
  await eventually(() => gone('tabs_relay') && gone('tabs_inspect'), "the gateway's processes ended");
}

/** Rejects with ERR_INCORRECT (a coded error, not a TypeError). */
async function refused(options: unknown, what: string): Promise<void> {
  await assert.rejects(createTabGateway(node, options as TabGatewayOptions), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_INCORRECT', `${what}: ${err.name} ${err.message}`);
    assert.ok(!(err instanceof TypeError), what);
    return true;
  });
}

test('every numeric option refuses a value of the wrong type or range, null included', async () => {
  for (const k of NUMERIC) for (const v of GARBAGE) await refused({ admit, port: 0, [k]: v }, `${k} = ${String(v)}`);
});

test('the options that feed a timer refuse past what it holds (2^31 - 1 ms), not run as 1 ms', async () => {
  const timers = ['reconnectWindow', 'helloTimeout', 'upgradeTimeout', 'refusalLogInterval', 'slowConsumerMs'];
  for (const k of timers)
    for (const v of [2 ** 31, 2 ** 31 - 0.5, Number.POSITIVE_INFINITY])
      await refused({ admit, port: 0, [k]: v }, `${k} = ${v}`);
  const gw = await createTabGateway(node, {
    admit,
    port: 0,
    ...Object.fromEntries(timers.map((k) => [k, 2 ** 31 - 1])),
  });
  await gw.stop();
  await gatewayGone();
});

test('options that are no object, and a Proxy whose reads throw, are refused with the code', async () => {
  await refused(null, 'null options');
  await refused(undefined, 'no options');
  await refused(
    new Proxy(
      {},
      {
        get() {
          throw new Error('read refused');
        },
      },
    ),
    'a throwing Proxy',
  );
  await refused({ admit: 'yes', port: 0 }, 'admit not a function');
});

test('an option whose read throws as the gateway starts (host): that error, and nothing of the gateway stays', async () => {
  const late = new Proxy(
    { admit, port: 0 },
    {
      get(target, key) {
        if (key === 'host') throw new Error('host read refused');
        return (target as Record<string | symbol, unknown>)[key];
      },
    },
  );
  await assert.rejects(createTabGateway(node, late as TabGatewayOptions), /host read refused/);
  // Its relay (a registered name), inspector and protocol went with it: another gateway starts here.
  await gatewayGone();
  const gw = await createTabGateway(node, { admit, port: 0 });
  await gw.stop();
  await gatewayGone();
});

test('the options above given properly, a gateway starts (the refusals are the values, not the keys)', async () => {
  const gw = await createTabGateway(node, {
    admit,
    port: 0,
    ...Object.fromEntries(NUMERIC.map((k) => [k, 100])),
  });
  await gw.stop();
});
