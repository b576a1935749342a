// An activity attempt that never reached a member to run it is the engine's failure, not an
// attempt (issue 89): two members in this process over the network on one store, member a serves
// queue `gpu`, member b owns the instances (their bodies run there) and serves none of it, so every
// attempt is a call from b to a's manager. A serving member answers the activity's outcome as a
// value (`attempt`), so a call that rejects carries no error of the activity's:
// - the calls to a fail as a path does (ERR_PROCESS_UNKNOWN, ERR_NO_ROUTE: injected on b's side of
//   the call) for a while: the step waits them out, and its one allowed attempt runs and succeeds;
// - the activity's own error, whatever its code (here ERR_PROCESS_UNKNOWN too), counts: two
//   attempts, then the step fails with it, message and cause chain crossed from a;
// - a member of an older version (it answers `attempt` as an unknown request) is asked with `run`.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { eventually, freeTcpUdpPort } from '@ergo-ts/test-support';
import { ErgoError, startNode, type Node } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import { defineWorkflow, MemoryStore, startEntities, type Entities } from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { ErrWorkflowIncorrect } from '../src/workflow/model/errors.js';
import { queuesOf } from '../src/workflow/scheduling/queues.js';
import { ownerAmong } from './dist_helpers.js';

interface Input {
  readonly tag: string;
  /** The activity throws its own error with this code. */
  readonly own?: string;
  readonly maxAttempts: number;
}

const Routed = defineWorkflow(
  'wfdeliver',
  {
    activities: {
      render: (input: Input, info) => {
        if (input.own !== undefined)
          throw new Error(`render ${input.tag} gave up`, { cause: new ErgoError(input.own, 'the activity’s own') });
        return `${input.tag}#${info.attempt}@${process.pid}`;
      },
    },
  },
  async (ctx, input: Input) =>
    ctx.activity<string>('render', input, {
      queue: 'gpu',
      retry: { initialMs: 20, maxMs: 50, maxAttempts: input.maxAttempts },
    }),
);

const store = new MemoryStore();
let names: string[] = [];
const nodes: Node[] = [];
const runtimes: Entities[] = [];
/** b's calls to a: what they asked, and the fault to answer the next ones with instead. */
const asked: string[] = [];
let failNext: { count: number; error: () => Error } | undefined;

before(async () => {
  const port = await freeTcpUdpPort();
  names = ['a', 'b'].map((x) => `wfdlv${x}${process.pid}@localhost`).sort();
  for (const [i, name] of names.entries()) {
    const node = await startNode(name, {
      log: { level: 'error' },
      network: {
        cookie: 'activity-delivery',
        acceptors: [{ host: '127.0.0.1', port: 0 }],
        registrar: createEmbeddedRegistrar({ port, retryInterval: 100 }),
      },
    });
    nodes.push(node);
    const workflowQueues = { serve: i === 0 ? ['gpu'] : [], pollMs: 20 };
    runtimes.push(
      await startEntities(node, { store, kinds: [Routed], members: names, probeIntervalMs: 100, workflowQueues }),
    );
  }
  for (const rt of runtimes)
    await eventually(() => rt.members().length === 2, `${rt.node.name} sees both members`, { timeoutMs: 20_000 });
  // b's side of each call to a: recorded, and failed as told (the path's failure, before a).
  const queues = queuesOf(runtimes[1]!)!;
  const call = queues.call.bind(queues);
  queues.call = (member, request, timeoutMs) => {
    asked.push(String((request as { '~wfq': string })['~wfq']));
    if (failNext !== undefined && failNext.count > 0) {
      failNext.count--;
      return Promise.reject(failNext.error());
    }
    return call(member, request, timeoutMs);
  };
});

after(async () => {
  for (const rt of runtimes.reverse()) await rt.stop().catch(() => undefined);
  for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
});

/** A key whose instance b owns (its body runs on b; its activity on a). */
function keyOnB(stem: string): string {
  return Array.from({ length: 500 }, (_, i) => `${stem}${i}`).find((k) => ownerAmong(k, names) === names[1])!;
}

async function recordOf(key: string): Promise<WorkflowRecord> {
  return (await store.load({ kind: 'wfdeliver', key })).state as WorkflowRecord;
}

test('calls that reach no member are waited out, not counted: the one allowed attempt runs on the serving member', async () => {
  const b = runtimes[1]!;
  const key = keyOnB('nd');
  let n = 0;
  failNext = {
    count: 4,
    error: () =>
      n++ % 2 === 0
        ? new ErgoError('ERR_PROCESS_UNKNOWN', 'unknown process (injected on the path)')
        : new ErgoError('ERR_NO_ROUTE', 'no route (injected)'),
  };
  asked.length = 0;
  const h = await b.workflows.start(Routed, key, { tag: key, maxAttempts: 1 });
  const out = await h.result({ timeout: 60_000 });
  assert.equal(failNext.count, 0, 'every injected failure was met');
  assert.equal(out, `${key}#1@${process.pid}`, 'attempt 1 ran, after the calls that reached no one');
  assert.ok(asked.filter((x) => x === 'attempt').length >= 5, `asked: ${asked.join(',')}`);
  const rec = await recordOf(key);
  assert.ok(
    rec.journal.every((e) => e.t !== 'retry'),
    'no retry entry: no attempt was counted for them',
  );
});

test('the activity’s own error counts whatever its code: two attempts, then the step fails with it, its chain crossed', async () => {
  const b = runtimes[1]!;
  const key = keyOnB('own');
  failNext = undefined;
  const h = await b.workflows.start(Routed, key, { tag: key, own: 'ERR_PROCESS_UNKNOWN', maxAttempts: 2 });
  await assert.rejects(h.result({ timeout: 60_000 }), (err: Error & { code?: string; cause?: unknown }) => {
    assert.equal(err.code, 'ERR_WORKFLOW_FAILED');
    return true;
  });
  const rec = await recordOf(key);
  const step = rec.journal.find((e) => e.t === 'step' && e.n === 'render' && e.done === true);
  assert.equal(step?.a, 2, 'both attempts counted');
  const chain = JSON.stringify(step?.e);
  assert.match(chain, /gave up/);
  assert.match(chain, /ERR_PROCESS_UNKNOWN/);
  assert.match(chain, /the activity’s own/);
});

test('a member that does not know `attempt` (an older version) is asked with `run`', async () => {
  const b = runtimes[1]!;
  const key = keyOnB('old');
  failNext = { count: 1, error: () => ErrWorkflowIncorrect.with('workflow queues: unknown request') };
  asked.length = 0;
  const h = await b.workflows.start(Routed, key, { tag: key, maxAttempts: 1 });
  assert.equal(await h.result({ timeout: 60_000 }), `${key}#1@${process.pid}`);
  assert.deepEqual(asked.slice(0, 2), ['attempt', 'run']);
});
