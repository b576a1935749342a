// Node.processRangeShortInfo (Ergo's ProcessRangeShortInfo; added for @ergo-ts/metrics, issue 22):
// visits every local process without building a list, stops when the callback returns false,
// and refuses a non-function and a stopped node.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, ErrNodeTerminated, isError, type PID, type ProcessShortInfo } from '../src/index.js';
import { noUnhandled, quietNode, withNode } from './helpers.js';

noUnhandled();

class Idle extends Actor {}

test('visits every process with its short info, and stops on false', async () => {
  await withNode(async (node) => {
    const pids: PID[] = [];
    for (let i = 0; i < 5; i++) pids.push(await node.spawn(Idle, {}));
    node.send(pids[2]!, 'hello');
    const seen: ProcessShortInfo[] = [];
    node.processRangeShortInfo((info) => {
      seen.push(info);
    });
    assert.deepEqual(
      seen.map((i) => i.pid.toString()).sort(),
      node
        .processList()
        .map((p) => p.toString())
        .sort(),
    );
    const byList = node.processListShortInfo(1000, 1000);
    for (const info of seen) {
      const same = byList.find((i) => i.pid.equals(info.pid))!;
      assert.equal(info.behavior, 'Idle');
      assert.equal(info.messagesIn, same.messagesIn);
      assert.equal(info.uptime, same.uptime);
    }
    let calls = 0;
    node.processRangeShortInfo(() => ++calls < 2);
    assert.equal(calls, 2, 'false ends the scan');
    assert.throws(() => node.processRangeShortInfo(42 as never), /fn must be a function/);
  });
});

test('refused once the node stopped', async () => {
  const node = await quietNode();
  await node.stop();
  assert.throws(
    () => node.processRangeShortInfo(() => true),
    (e: unknown) => isError(e, ErrNodeTerminated),
  );
});
