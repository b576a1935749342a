// The gateway's options given garbage: every value of the wrong type (a string, null, NaN, a
// negative, an object), options that are no object, and a Proxy whose reads throw are refused
// with ERR_INCORRECT before anything listens — never a TypeError, never the default in its place.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';

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

test('slowConsumerMs past what a timer holds (2^31 - 1 ms) is refused, not run as 1 ms', async () => {
  for (const v of [2 ** 31, Number.POSITIVE_INFINITY]) await refused({ admit, port: 0, slowConsumerMs: v }, String(v));
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

test('the options above given properly, a gateway starts (the refusals are the values, not the keys)', async () => {
  const gw = await createTabGateway(node, {
    admit,
    port: 0,
    ...Object.fromEntries(NUMERIC.map((k) => [k, 100])),
  });
  await gw.stop();
});
