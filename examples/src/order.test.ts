// The test of docs/testing.md's complete example: the order actor unit-tested with the kit.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { PID, TerminateReasonNormal, LogLevel } from 'ergo-ts';
import { spawnTest, structureMatching, satisfies } from 'ergo-ts/testing';
import { AddItem, Order, Paid, Pay } from './order.js';

const customer = new PID('shop@localhost', 2001, 1);

test('an order is paid with the discount, retrying a failed payment', async () => {
  const order = await spawnTest(Order, { args: ['A-1', customer] });
  order.shouldLog().level(LogLevel.Info).message('order A-1 opened').once();

  await order.sendMessage(customer, new AddItem('book', 20));
  await order.sendMessage(customer, new AddItem('pen', 5));
  order.shouldSend().to(customer).message({ added: 'pen', count: 2 }).once();
  assert.equal((await order.call(customer, 'count')).response, 2);

  // The actor's own calls: answer pricing, fail the first payment.
  let payments = 0;
  order.respondToCalls((call) => {
    if (call.to === 'pricing') return 3;
    if (call.to === 'payments') return ++payments === 1 ? new Error('card declined') : 'ok';
  });

  await order.sendMessage(customer, new Pay());
  order.shouldCall().to('pricing').request({ discountFor: 25 }).once();
  order.shouldLog().containing('card declined').once();
  order.shouldSendAfter().to(order.pid).delay(1000).once();
  order.shouldNotTerminate().assert();

  order.advanceTime(1000); // the retry timer fires on the test clock...
  await order.deliverSelfMessages(); // ...and its message reaches the actor
  order.shouldSend().to(customer).message(new Paid('A-1', 22)).once();
  order
    .shouldSend()
    .to(customer)
    .message(structureMatching(Paid, { total: satisfies((t: number) => t < 25) }))
    .once();
  order.shouldTerminate().withReason(TerminateReasonNormal).once();
});
