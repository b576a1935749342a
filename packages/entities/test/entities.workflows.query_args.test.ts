// A query with several arguments: `handle.query(name, undefined, { args: [a, b] })` calls the
// body's handler `(a, b) => …` with them in order, while `handle.query(name, arg)` still calls it
// with its one argument (an array stays one argument). Asked of a running instance and of an ended
// one (answered from a read-only replay); a wrong call is refused before anything is sent, and
// the wrong shapes are compile errors (checked by `tsc -b` on this file: `@ts-expect-error`).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { schema } from 'ergo-ts';

import { defineWorkflow } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

const WfPrices = defineWorkflow(
  'wfprices',
  {
    signals: { add: schema.number(), stop: schema.unknown() },
    queries: { total: schema.string(), first: schema.unknown() },
    determinismGuard: 'throw',
  },
  async (ctx): Promise<number> => {
    let cents = 0;
    ctx.onQuery('total', (currency, places) => `${(cents / 100).toFixed(Number(places ?? 2))} ${String(currency)}`);
    ctx.onQuery('first', (...args) => ({ first: args[0], count: args.length }));
    let stopped = false;
    ctx.onSignal('add', (n) => {
      cents += n;
    });
    ctx.onSignal('stop', () => {
      stopped = true;
    });
    await ctx.condition(() => stopped);
    return cents;
  },
);

test('a query with several arguments: the handler gets them in order; one argument as before', async () => {
  await using k = await startTestEntities({ kinds: [WfPrices] });
  const h = await k.entities.workflows.start(WfPrices, 'p1', undefined);
  await h.signal('add', 1234);
  assert.equal(await h.query('total', undefined, { args: ['EUR', 1] }), '12.3 EUR');
  assert.equal(await h.query('total', 'USD'), '12.34 USD');
  // An array as the one argument stays one argument.
  assert.deepEqual(await h.query('first', ['a', 'b']), { first: ['a', 'b'], count: 1 });
  assert.deepEqual(await h.query('first', undefined, { args: ['a', 'b'] }), { first: 'a', count: 2 });
  assert.deepEqual(await h.query('first', undefined, { args: [] }), { first: undefined, count: 0 });
  // Ended: answered from the read-only replay, with its arguments.
  await h.signal('stop', null);
  assert.equal(await h.result(), 1234);
  assert.equal(await h.query('total', undefined, { args: ['CHF', 0] }), '12 CHF');
});

test('a wrong query call is refused with ERR_WORKFLOW_INCORRECT before anything is sent, and does not compile', async () => {
  await using k = await startTestEntities({ kinds: [WfPrices] });
  const h = await k.entities.workflows.start(WfPrices, 'p2', undefined);
  const raw = h as unknown as { query(n: string, a: unknown, o: unknown): Promise<unknown> };
  await assert.rejects(raw.query('total', undefined, { args: 'EUR' }), { code: 'ERR_WORKFLOW_INCORRECT' });
  await assert.rejects(raw.query('total', 'EUR', { args: ['USD'] }), { code: 'ERR_WORKFLOW_INCORRECT' });
  if (process.env.NEVER_SET_QUERY_ARGS_TYPES === 'run') {
    // Compile-time checks only (never run): each line is a type error, or tsc fails on this file.
    // @ts-expect-error args is an array
    await h.query('total', undefined, { args: 'EUR' });
    // @ts-expect-error an argument and args both
    await h.query('total', 'EUR', { args: ['USD'] });
    // @ts-expect-error an undeclared query
    await h.query('nope', undefined, { args: [] });
  }
  assert.equal(await h.query('total', undefined, { args: ['EUR'] }), '0.00 EUR');
});
