// A tab's join options given garbage, full and light: the dialling delays past what a timer holds
// (2^31 - 1 ms: Node and browsers run a longer timer at once, so a redial "in 25 days" dialled at
// once, again and again), values of the wrong type, options that are no object and a Proxy whose
// reads throw are refused with ERR_INCORRECT before any socket reaches the gateway; an option whose
// read throws once the tab was welcomed leaves neither its node nor its socket behind.

import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';
import { eventually } from '@ergo-ts/test-support';

import { createTabGateway, joinGateway, type TabGateway } from '../src/index.js';
import { joinLight } from '../src/light/index.js';
import { BoardActor, quiet } from './helpers.js';
import { Board } from './protocols.js';

const MAX = 2 ** 31 - 1;

let node: Node;
let server: Server;
let gw: TabGateway;
/** Upgrade requests that reached the gateway's server: a refused join must send none. */
let upgrades = 0;

test.before(async () => {
  node = await startNode(`joinopts${process.pid}@localhost`, quiet());
  await node.spawnRegister('board', () => new BoardActor());
  server = createServer();
  server.on('upgrade', () => upgrades++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gw = await createTabGateway(node, { admit: () => ({ names: { board: Board } }), server });
});
test.after(async () => {
  await gw.stop();
  await new Promise((r) => server.close(r));
  await node.stop();
});

const url = (): string => `ws://127.0.0.1:${(server.address() as AddressInfo).port}/tabs`;

/** A join that rejects with ERR_INCORRECT (not a TypeError) and sent no upgrade to the gateway. */
async function refused(join: () => Promise<unknown>, what: string): Promise<void> {
  const before = upgrades;
  await assert.rejects(join(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_INCORRECT', `${what}: ${err.name} ${err.message}`);
    return true;
  });
  assert.equal(upgrades, before, `${what}: no socket reached the gateway`);
}

const BAD_MS: unknown[] = [2 ** 31, MAX + 0.5, Number.POSITIVE_INFINITY, Number.NaN, -1, '100', null, {}];

test('reconnect delays and joinTimeout past 2^31 - 1 ms, or not numbers, are refused before a dial (full and light)', async () => {
  for (const v of BAD_MS) {
    const cases: [string, Record<string, unknown>][] = [
      ['reconnect.minDelay', { reconnect: { minDelay: v } }],
      ['reconnect.maxDelay', { reconnect: { maxDelay: v } }],
      ['joinTimeout', { joinTimeout: v }],
    ];
    for (const [k, extra] of cases) {
      const what = `${k} = ${String(v)}`;
      await refused(() => joinGateway({ url: url(), token: 't', node: quiet(), ...extra }), `full ${what}`);
      await refused(() => joinLight({ url: url(), token: 't', ...extra }), `light ${what}`);
    }
  }
  await refused(() => joinGateway({ url: url(), token: 't', reconnect: 'yes' as never }), 'full reconnect a string');
  await refused(() => joinLight({ url: url(), token: 't', reconnect: 5 as never }), 'light reconnect a number');
});

test("a light tab's call timeout past 2^31 - 1 ms is refused at the join; at 2^31 - 1 a call is answered, no timer overflows", async (t) => {
  for (const v of [2 ** 31, 0, -5, Number.NaN, '5000'])
    await refused(() => joinLight({ url: url(), token: 't', timeout: v as number }), `timeout = ${String(v)}`);
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const tab = await joinLight({ url: url(), token: 't', timeout: MAX });
  t.after(() => tab.leave());
  const board = Board.processID('board', node.name);
  assert.equal(await tab.call(board, 1), 2);
  assert.equal(await tab.call(board, 2, MAX), 3);
  // A warning is emitted on the next tick of the timer's arming: a round trip later it is there.
  assert.equal(await tab.call(board, 3), 4);
  await new Promise<void>((r) => setImmediate(r));
  assert.deepEqual(
    warnings.filter((w) => w.name === 'TimeoutOverflowWarning').map((w) => w.message),
    [],
    'no timer was armed past 2^31 - 1 ms',
  );
});

test('options that are no object, or a Proxy whose reads throw, are refused with the code (full and light)', async () => {
  const throwing = new Proxy(
    {},
    {
      get() {
        throw new Error('read refused');
      },
    },
  );
  for (const o of [null, undefined, throwing]) {
    await refused(() => joinGateway(o as never), `full ${String(o === throwing ? 'a throwing Proxy' : o)}`);
    await refused(() => joinLight(o as never), `light ${String(o === throwing ? 'a throwing Proxy' : o)}`);
  }
});

test('an option whose read throws after the welcome (keep): the join rejects with it, and nothing of the tab stays', async () => {
  const options = { url: url(), token: 't', node: quiet() };
  const late = new Proxy(options, {
    get(target, key) {
      if (key === 'keep') throw new Error('keep read refused');
      return (target as Record<string | symbol, unknown>)[key];
    },
  });
  const before = new Set(gw.tabs().map((s) => s.node));
  await assert.rejects(joinGateway(late as never), /keep read refused/);
  // The tab was welcomed (a session at the gateway), then left: its socket closed, its session ends.
  const tabs = gw.tabs().filter((s) => !before.has(s.node));
  assert.equal(tabs.length, 1, 'the welcomed session');
  const name = tabs[0]!.node;
  await eventually(() => gw.tabs().find((s) => s.node === name)?.connected !== true, "the tab's socket closed");
});
