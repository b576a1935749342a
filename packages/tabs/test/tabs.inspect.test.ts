// The gateway's inspector of its tabs (`tabs_inspect`, src/inspect.ts), what the Observer asks:
// the tabs with their label, connection and traffic; a tab's processes with their mailboxes,
// asked of the tab's own inspector (`tab_inspect`); one process with its relations and its
// handleInspect map. A tab that is away, runs no inspector, never answers or answers garbage
// gets a coded error while the gateway goes on answering; a tab cannot use the inspector to
// learn of other tabs, even with a grant that names it.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, ProcessID, ReplyLater, type Atom, type Node, type PID, type Ref } from 'ergo-ts';

import { TAB_INSPECT, TAB_INSPECT_TIMEOUT, TABS_INSPECT, type TabGrant, type TabsList } from '../src/index.js';
import type { TabProcessDetail, TabProcessList } from '../src/tab/index.js';
import { BoardActor, gatewayNode, tabOf, ViewActor } from './helpers.js';
import { Board } from './protocols.js';

type Answer<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/** Asks the gateway node's `tabs_inspect` (as the Observer does) and reads its JSON answer. */
async function ask<T>(g: Node, request: Record<string, unknown>): Promise<Answer<T>> {
  const text = await g.call(new ProcessID(TABS_INSPECT as Atom, g.name), request);
  assert.equal(typeof text, 'string', 'the answer is a JSON text');
  return JSON.parse(text as string) as Answer<T>;
}

function value<T>(a: Answer<T>): T {
  if (!a.ok) assert.fail(`refused: ${a.code} ${a.message}`);
  return a.value;
}

/** Holds its first message until `release()`: the messages after it wait in its mailbox. */
class Stuck extends Actor {
  static release: () => void = () => undefined;
  static holding: () => void = () => undefined;
  #held = false;
  override async handleMessage(): Promise<void> {
    if (this.#held) return;
    this.#held = true;
    const held = new Promise<void>((r) => (Stuck.release = r));
    Stuck.holding();
    await held;
  }
}

/** A process with a handleInspect map. */
class Counter extends Actor {
  override handleInspect(): Record<string, string> {
    return { counted: '3' };
  }
}

test('the gateway lists its tabs and a tab’s processes with their mailboxes', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, {
    admit: (token) => ({ names: { board: Board }, label: `user ${token}` }),
  });
  await g.spawnRegister('board', () => new BoardActor());
  const ann = await tabOf(t, gw, 'ann');
  // bob does not dial again within the test: it stays away once cut.
  const bob = await tabOf(t, gw, 'bob', { reconnect: { minDelay: 3_600_000, maxDelay: 3_600_000 } });
  assert.equal(await ann.node.call(Board.processID('board', g.name), 1), 2);

  const view = await ann.node.spawnRegister('view', () => new ViewActor());
  const counter = await ann.node.spawn(Counter);
  const stuck = await ann.node.spawn(Stuck);
  t.after(() => Stuck.release()); // a failed assertion must not leave the node's stop waiting on it
  // The first message holds the process; two more wait behind it.
  const holding = new Promise<void>((r) => (Stuck.holding = r));
  ann.node.send(stuck, 'first');
  await holding;
  ann.node.send(stuck, 'second');
  ann.node.send(stuck, 'third');

  const list = value(await ask<TabsList>(g, { '~tabs': 'list' }));
  assert.equal(list.gateway, g.name);
  assert.ok(list.at > 0 && list.window > 0);
  const byNode = new Map(list.tabs.map((x) => [x.node, x]));
  const a = byNode.get(ann.name)!;
  assert.equal(a.label, 'user ann');
  assert.equal(byNode.get(bob.name)?.label, 'user bob');
  assert.ok(a.connected && a.awaySince === 0);
  assert.ok(a.messagesIn >= 1 && a.messagesOut >= 1 && a.bytesIn > 0 && a.bytesOut > 0, JSON.stringify(a));

  const procs = value(await ask<TabProcessList>(g, { '~tabs': 'processes', tab: ann.name }));
  assert.equal(procs.node, ann.name);
  assert.equal(procs.total, procs.processes.length);
  const names = procs.processes.map((p) => p.name);
  assert.ok(names.includes('view') && names.includes(TAB_INSPECT), names.join());
  const s = procs.processes.find((p) => p.id === stuck.id)!;
  assert.equal(s.mailbox.main, 2, 'two messages wait behind the one it holds');
  assert.equal(s.state, 'running');
  assert.equal(s.behavior, 'Stuck');
  assert.equal(s.pid, stuck.toString());
  Stuck.release();

  // A page of one: the tab lists no more than asked.
  const one = value(await ask<TabProcessList>(g, { '~tabs': 'processes', tab: ann.name, limit: 1 }));
  assert.equal(one.processes.length, 1);
  assert.ok(one.total >= 4);

  const detail = value(await ask<TabProcessDetail>(g, { '~tabs': 'process', tab: ann.name, id: counter.id }));
  assert.equal(detail.behavior, 'Counter');
  assert.deepEqual(detail.inspect, { counted: '3' });
  assert.equal(detail.parent, ann.node.pid.toString());
  const viewDetail = value(await ask<TabProcessDetail>(g, { '~tabs': 'process', tab: ann.name, id: view.id }));
  assert.equal(viewDetail.name, 'view');
  assert.equal(value(await ask<TabProcessDetail | null>(g, { '~tabs': 'process', tab: ann.name, id: 999_999 })), null);

  // Unknown tab, bad id: coded.
  const unknown = await ask(g, { '~tabs': 'processes', tab: 'tab-00000n0pe00000-' + g.name });
  assert.equal(unknown.ok ? '' : unknown.code, 'ERR_TAB_INSPECT');
  const badId = await ask(g, { '~tabs': 'process', tab: ann.name, id: 'x' });
  assert.equal(badId.ok ? '' : badId.code, 'ERR_TAB_INSPECT');

  // A tab away (within its window) is listed as away; its processes are out of reach, said so.
  bob.dropConnection();
  await lines.waitFor(new RegExp(`tab ${bob.name.replace(/[.$]/g, '\\$&')} away`), 'bob away');
  const away = value(await ask<TabsList>(g, { '~tabs': 'list' })).tabs.find((x) => x.node === bob.name)!;
  assert.equal(away.connected, false);
  assert.ok(away.awaySince > 0);
  const out = await ask(g, { '~tabs': 'processes', tab: bob.name });
  assert.ok(!out.ok && out.code === 'ERR_TAB_INSPECT' && /away/.test(out.message), JSON.stringify(out));
});

/** A tab's `tab_inspect` of the test's own: never answers, or answers what it is given. */
class FakeInspect extends Actor {
  constructor(readonly answer: (() => unknown) | null) {
    super();
  }
  override handleCall(_from: PID, _ref: Ref): unknown {
    return this.answer === null ? ReplyLater : this.answer();
  }
}

test('a tab that runs no inspector, never answers or answers garbage: a coded error, the gateway answers on', async (t) => {
  const { g, gw } = await gatewayNode(t);
  const none = await tabOf(t, gw, 'good', { inspect: false });
  const silent = await tabOf(t, gw, 'good', { inspect: false });
  await silent.node.spawnRegister(TAB_INSPECT, () => new FakeInspect(null));
  const liar = await tabOf(t, gw, 'good', { inspect: false });
  let lie: unknown = 'not a list';
  await liar.node.spawnRegister(TAB_INSPECT, () => new FakeInspect(() => lie));

  const no = await ask(g, { '~tabs': 'processes', tab: none.name });
  assert.ok(!no.ok && no.code === 'ERR_TAB_INSPECT' && /no inspector/.test(no.message), JSON.stringify(no));

  // The silent tab holds up its own request only: the list and another tab answer meanwhile.
  let settled = false;
  const slow = ask(g, { '~tabs': 'processes', tab: silent.name }).finally(() => (settled = true));
  slow.catch(() => undefined); // awaited below; a failed assertion before must not leave it unhandled
  const list = value(await ask<TabsList>(g, { '~tabs': 'list' }));
  assert.equal(list.tabs.length, 3);
  const garbage = await ask(g, { '~tabs': 'processes', tab: liar.name });
  assert.ok(!garbage.ok && garbage.code === 'ERR_TAB_INSPECT', JSON.stringify(garbage));
  assert.equal(settled, false, `the silent tab is still waited for (${TAB_INSPECT_TIMEOUT} ms)`);
  const timedOut = await slow;
  assert.ok(!timedOut.ok && timedOut.code === 'ERR_TIMEOUT', JSON.stringify(timedOut));
  assert.match(timedOut.ok ? '' : timedOut.message, /did not answer within 3 s/);

  // Garbage inside a list is rebuilt: bounded text, numbers or 0, no foreign fields.
  lie = {
    total: 'many',
    processes: [{ id: 'x', pid: 'p'.repeat(10_000), name: 42, mailbox: null, state: 'sleep', extra: 'dropped' }],
  };
  const cleaned = value(await ask<TabProcessList>(g, { '~tabs': 'processes', tab: liar.name }));
  assert.equal(cleaned.total, 0);
  const row = cleaned.processes[0]!;
  assert.equal(row.id, 0);
  assert.equal(row.pid.length, 256);
  assert.equal(row.name, '');
  assert.deepEqual(row.mailbox, { main: 0, system: 0, urgent: 0, log: 0 });
  assert.equal('extra' in row, false);
  lie = { processes: 'none' };
  const noList = await ask(g, { '~tabs': 'processes', tab: liar.name });
  assert.ok(!noList.ok && /without a list/.test(noList.message));
});

test('a tab cannot ask tabs_inspect, not even with a grant that names it', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, {
    admit: (token): TabGrant => (token === 'lax' ? { names: { [TABS_INSPECT]: true } } : { names: { board: Board } }),
  });
  const other = await tabOf(t, gw, 'good');
  const strict = await tabOf(t, gw, 'good');
  // Inspected by the gateway first: what the tab learnt from the call opens nothing.
  value(await ask(g, { '~tabs': 'processes', tab: strict.name }));
  const to = new ProcessID(TABS_INSPECT as Atom, g.name);
  await assert.rejects(strict.node.call(to, { '~tabs': 'list' }), { code: 'ERR_TAB_NOT_GRANTED' });

  const lax = await tabOf(t, gw, 'lax');
  const answer = JSON.parse((await lax.node.call(to, { '~tabs': 'list' })) as string) as Answer<TabsList>;
  assert.ok(!answer.ok && answer.code === 'ERR_TAB_NOT_GRANTED', JSON.stringify(answer));
  assert.ok(!JSON.stringify(answer).includes(other.name), 'nothing about the other tab');
  await lines.waitFor(/tabs_inspect: .* refused/, 'the refusal logged');
});
