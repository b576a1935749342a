// Whole error chains (issue 91 item 5): a step's error with a cause chain, a stack and details
// attached by the user used to be journaled as `{name, message, code}`, so a caller's
// `err.cause.cause` was undefined. The journal keeps the chain now (MAX_CAUSE_DEPTH causes deep,
// stacks cut, details a store keeps, all within a byte budget), and so does what a caller on
// another node gets: checked here from a client-only node, after a replay of the body from the
// store on another member, and on the stored form itself (bounds, cycles, records of the old
// shape).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { ErgoError, schema, startNode, type Node } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import { structuredCodec } from '../src/contract/structured_codec.js';
import { postgresMissing, startPostgres } from '@ergo-ts/test-support';

import {
  ErrWorkflowStepFailed,
  MemoryStore,
  PostgresStore,
  type AnyWorkflowKind,
  defineWorkflow,
  startEntities,
  terminalError,
  type Entities,
} from '../src/index.js';
import {
  MAX_CAUSE_DEPTH,
  MAX_STORED_ERROR_BYTES,
  revivedError,
  storedError,
  type StoredError,
} from '../src/workflow/model/stored_error.js';
import { freeTcpUdpPort } from './dist_helpers.js';
import { CardError, Declined, cardConverter, runsOf } from './workflow_api_kinds.js';

const watch = new UnhandledWatch('workflow error chains');
test.before(() => watch.start());
test.after(() => watch.stop());

const DETAILS = { reason: 'insufficient funds', tries: [1, 2], retryAfter: null, at: new Date(0) };

/** How many times a card was charged (in this process: every member's). */
let charges = 0;

/** A card refused three errors deep: declined ← the gateway's refusal ← a socket closed. */
function chargeCard(): never {
  charges++;
  const socket = new Error('socket closed by peer');
  const gateway = new ErgoError('ERR_GATEWAY', 'gateway refused the charge', { cause: socket });
  const declined = new ErgoError('ERR_CARD_DECLINED', 'card declined', { cause: gateway });
  declined.name = 'CardDeclined';
  (declined as { details?: unknown }).details = DETAILS;
  throw terminalError(declined);
}

const Charge = defineWorkflow('wf-chain-charge', async (ctx) => {
  await ctx.step('charge', () => chargeCard());
  return 'charged';
});

/** Catches the step's failure, waits for `go`, then fails with it: on a replay, as the journal kept it. */
const ChargeLater = defineWorkflow('wf-chain-later', { signals: { go: schema.boolean() } }, async (ctx) => {
  let failure: unknown;
  try {
    await ctx.step('charge', () => chargeCard());
  } catch (err) {
    failure = err;
  }
  await ctx.signal('go');
  throw failure;
});

/** The chain a caller sees below ERR_WORKFLOW_FAILED: the step's failure, then the card's three errors. */
function assertChain(err: unknown): void {
  const failed = err as Error & { code?: string };
  assert.equal(failed.code, 'ERR_WORKFLOW_FAILED');
  const step = failed.cause as Error & { code?: string };
  assert.ok(ErrWorkflowStepFailed.is(step), `the cause is the step's failure: ${String(step)}`);
  const declined = step.cause as ErgoError & { details?: unknown };
  assert.ok(declined instanceof ErgoError);
  assert.equal(declined.code, 'ERR_CARD_DECLINED');
  assert.equal(declined.name, 'CardDeclined');
  assert.equal(declined.message, 'card declined');
  assert.deepEqual(declined.details, DETAILS);
  assert.match(declined.stack ?? '', /chargeCard/, 'the stack is where it was thrown');
  const gateway = declined.cause as Error & { code?: string };
  assert.equal(gateway.code, 'ERR_GATEWAY');
  assert.equal(gateway.message, 'gateway refused the charge');
  const socket = gateway.cause as Error & { code?: string };
  assert.ok(socket instanceof Error);
  assert.equal(socket.code, undefined);
  assert.equal(socket.message, 'socket closed by peer');
  assert.equal(socket.cause, undefined);
}

interface Cluster {
  readonly store: MemoryStore | PostgresStore;
  readonly nodes: Node[];
  readonly members: Entities[];
  readonly client: Entities;
}

/** Members `names` and a client-only node, all on one store, the client seeing every member. */
async function cluster(
  tag: string,
  count: number,
  stops: (() => Promise<void>)[],
  store: MemoryStore | PostgresStore = new MemoryStore(),
  kinds: AnyWorkflowKind[] = [Charge, ChargeLater],
): Promise<Cluster> {
  const port = await freeTcpUdpPort();
  const network = () => ({
    cookie: 'wf-chain',
    acceptors: [{ host: '127.0.0.1', port: 0 }],
    registrar: createEmbeddedRegistrar({ port, retryInterval: 100 }),
  });
  const nodes: Node[] = [];
  for (let i = 0; i <= count; i++) {
    const node = await startNode(`wfchain${tag}${i}_${process.pid}@localhost`, {
      log: { level: 'error' },
      network: network(),
    });
    nodes.push(node);
    stops.push(() => node.stop());
  }
  const names = nodes.slice(0, count).map((n) => n.name);
  const members: Entities[] = [];
  for (const node of nodes.slice(0, count)) {
    const e = await startEntities(node, { store, kinds, members: names, probeIntervalMs: 100 });
    members.push(e);
    stops.push(() => e.stop());
  }
  const client = await startEntities(nodes[count]!, {
    store,
    kinds,
    role: 'client',
    members: names,
    probeIntervalMs: 100,
  });
  stops.push(() => client.stop());
  await eventually(() => client.members().length === count, 'the client sees every member');
  return { store, nodes, members, client };
}

async function stopAll(stops: (() => Promise<void>)[]): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}

test('a step’s three-deep cause chain, its details and stack reach a client on another node', async (t) => {
  const stops: (() => Promise<void>)[] = [];
  t.after(() => stopAll(stops));
  const { client } = await cluster('a', 1, stops);
  const h = await client.workflows.start(Charge, 'c1', undefined);
  await assert.rejects(h.result(), (err) => (assertChain(err), true));
  // describe() shows it whole too; a listing's row shows its head.
  const d = await h.describe();
  assert.equal(d.error?.code, 'ERR_WORKFLOW_STEP_FAILED');
  assert.equal(d.error?.cause?.code, 'ERR_CARD_DECLINED');
  assert.deepEqual(d.error?.cause?.details, DETAILS);
  assert.equal(d.error?.cause?.cause?.cause?.message, 'socket closed by peer');
  const page = await client.workflows.list(Charge);
  assert.equal(page.items.length, 1);
  assert.deepEqual(page.items[0]!.error, {
    name: d.error!.name,
    message: d.error!.message,
    code: 'ERR_WORKFLOW_STEP_FAILED',
  });
});

test('the chain as the journal kept it, after the body is replayed from the store on another member', async (t) => {
  const stops: (() => Promise<void>)[] = [];
  t.after(() => stopAll(stops));
  const { store, nodes, members, client } = await cluster('b', 2, stops);
  const h = await client.workflows.start(ChargeLater, 'l1', undefined);
  // The step failed and was journaled; the body waits for `go`.
  await eventually(async () => {
    const rec = (await store.load({ kind: 'wf-chain-later', key: 'l1' })).state as
      { journal?: { n: string; done?: boolean; e?: StoredError }[] } | undefined;
    return rec?.journal?.some((e) => e.n === 'charge' && e.done === true && e.e !== undefined) === true;
  }, 'the step failed and was journaled');
  const charged = charges;
  const before = await h.describe();
  // Its owner leaves: the other member replays the body from the store when the signal comes.
  const ownerName = client.ownerOf({ kind: 'wf-chain-later', key: 'l1' });
  const i = nodes.findIndex((n) => n.name === ownerName);
  assert.ok(i === 0 || i === 1, `the owner is a member: ${ownerName}`);
  await members[i]!.stop();
  await nodes[i]!.stop();
  await eventually(() => client.members().length === 1, 'the client sees the member left');
  await h.signal('go', true);
  await assert.rejects(h.result(), (err) => (assertChain(err), true));
  const after = await h.describe();
  assert.ok(after.runs > before.runs, `the body ran again (runs ${before.runs} → ${after.runs})`);
  assert.equal(charges, charged, 'the replay took the failure from the journal, the card was not charged again');
});

test('the stored form: a chain, its bounds, cycles, details a store cannot keep, and the old shape', () => {
  // Through the store's codec and back: the chain as it was.
  let err: unknown;
  try {
    chargeCard();
  } catch (e) {
    err = e;
  }
  const kept = structuredCodec.decode(structuredCodec.encode(storedError(err), 'e')) as StoredError;
  const back = revivedError(kept);
  assertChain(
    Object.assign(new ErgoError('ERR_WORKFLOW_FAILED', 'failed'), {
      cause: Object.assign(new ErgoError('ERR_WORKFLOW_STEP_FAILED', 'step'), { cause: back }),
    }),
  );

  // A long chain is cut MAX_CAUSE_DEPTH causes down; a cycle ends where it closes.
  let deep: Error = new Error('e20');
  for (let n = 19; n >= 0; n--) deep = new Error(`e${n}`, { cause: deep });
  let depth = 0;
  for (let e: StoredError | undefined = storedError(deep).cause; e !== undefined; e = e.cause) depth++;
  assert.equal(depth, MAX_CAUSE_DEPTH);
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  const cyc = storedError(a);
  assert.equal(cyc.cause?.message, 'b');
  assert.equal(cyc.cause?.cause, undefined);

  // A cause that is not an Error stands as its text; details a store cannot keep are left out.
  const odd = Object.assign(new Error('odd', { cause: 'a string' }), { details: { f: () => 1 } });
  const s = storedError(odd);
  assert.equal(s.details, undefined);
  assert.deepEqual({ name: s.cause?.name, message: s.cause?.message }, { name: 'Error', message: 'a string' });

  // Over the budget, the stacks go first, then the details, then the causes' long messages.
  const big = Object.assign(new Error('big', { cause: new Error('x'.repeat(5000)) }), { details: 'd'.repeat(2000) });
  big.stack = `Error: big\n${'    at f (file.js:1:1)\n'.repeat(100)}`;
  assert.ok((storedError(big).stack?.length ?? 0) > 0);
  const noStack = storedError(big, 8000);
  assert.equal(noStack.stack, undefined);
  assert.equal(noStack.details, 'd'.repeat(2000));
  const noDetails = storedError(big, 6000);
  assert.equal(noDetails.details, undefined);
  assert.equal(noDetails.cause?.message.length, 5000);
  const short = storedError(big, 1000);
  assert.ok(short.cause !== undefined && short.cause.message.length < 600);
  assert.deepEqual(storedError(big, 100), { name: 'Error', message: 'big' });
  assert.ok(structuredCodec.encode(storedError(deep), 'e').length <= MAX_STORED_ERROR_BYTES);

  // A record of the old shape revives as it did: its code and name, no cause.
  const old = revivedError({ name: 'CardDeclined', message: 'card declined', code: 'ERR_CARD_DECLINED' });
  assert.ok(old instanceof ErgoError);
  assert.equal(old.code, 'ERR_CARD_DECLINED');
  assert.equal(old.name, 'CardDeclined');
  assert.equal(old.cause, undefined);
  assert.equal((old as { details?: unknown }).details, undefined);
});

const pgMissing = postgresMissing();

test(
  'on PostgreSQL across nodes: the kind’s failure converter gives the class back on a member that replays the body and at a client node',
  { skip: pgMissing },
  async (t) => {
    const pg = await startPostgres();
    const stops: (() => Promise<void>)[] = [() => pg.stop()];
    t.after(() => stopAll(stops));
    const store = await PostgresStore.open(pg.url, { tablePrefix: 'wfchain_' });
    stops.push(() => store.close());
    const { nodes, members, client } = await cluster('pg', 2, stops, store, [Declined]);
    const from = { ...cardConverter.calls };
    const h = await client.workflows.start(Declined, 'pg1', undefined);
    await eventually(async () => {
      const d = await h.describe();
      return d.history.some((e) => e.n === 'charge' && e.e !== undefined);
    }, 'the step failed and was journaled');
    // Its owner leaves: the other member replays the body from PostgreSQL (the converter rebuilds the CardError there).
    const ownerName = client.ownerOf({ kind: 'wf-declined', key: 'pg1' });
    const i = nodes.findIndex((n) => n.name === ownerName);
    assert.ok(i === 0 || i === 1, `the owner is a member: ${ownerName}`);
    const before = await h.describe();
    await members[i]!.stop();
    await nodes[i]!.stop();
    await eventually(() => client.members().length === 1, 'the client sees the member left');
    await h.signal('go', 1);
    await assert.rejects(h.result(), (err: unknown) => {
      const card = (err as Error).cause;
      assert.ok(card instanceof CardError, `a CardError at the client node: ${String(card)}`);
      assert.equal(card.last4, '4242');
      const gateway = card.cause as Error & { code?: string };
      assert.equal(gateway.code, 'ERR_GATEWAY');
      assert.equal((gateway.cause as Error).message, 'socket closed by peer');
      return true;
    });
    const after = await h.describe();
    assert.ok(after.runs > before.runs, `the body ran again (runs ${before.runs} → ${after.runs})`);
    assert.equal(runsOf('wf-declined', 'pg1', 0), 1, 'the replay took the failure from the journal');
    assert.deepEqual(after.error?.details, { class: 'CardError', last4: '4242' });
    assert.ok(cardConverter.calls.fromStored > from.fromStored);
  },
);

test('a failure converter: checked at definition; one that throws or returns no Error is skipped, the error kept as thrown', () => {
  assert.throws(() => defineWorkflow('wf-bad-conv', async () => 1, { failureConverter: 5 as never }), {
    code: 'ERR_WORKFLOW_INCORRECT',
  });
  assert.throws(() => defineWorkflow('wf-bad-conv2', async () => 1, { failureConverter: { toStored: 'x' } as never }), {
    code: 'ERR_WORKFLOW_INCORRECT',
  });
  const throwing = {
    toStored: (): never => {
      throw new Error('converter broke');
    },
    fromStored: (): never => {
      throw new Error('converter broke');
    },
  };
  const err = new ErgoError('ERR_X', 'x', { cause: new Error('below') });
  const kept = storedError(err, undefined, throwing);
  assert.equal(kept.code, 'ERR_X');
  assert.equal(kept.cause?.message, 'below');
  const back = revivedError(kept, throwing) as ErgoError;
  assert.equal(back.code, 'ERR_X');
  assert.equal(revivedError(kept, { fromStored: () => 'no error' as never }).message, 'x');
  const renamed = revivedError(kept, { fromStored: (e) => Object.assign(e, { name: 'Renamed' }) });
  assert.equal(renamed.name, 'Renamed');
});
