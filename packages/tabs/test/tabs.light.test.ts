// The light tab (@ergo-ts/tabs/light) in Node against a real gateway, unchanged: typed calls and
// sends to server processes and from them to the tab's mailboxes, an event broadcast to several
// light tabs, monitors and links both ways, refusals with their codes (the grant, messages/s, a
// frame above maxFrameBytes refused at the tab before it is sent), a network cut within the
// window, a gateway restart (the session ends, a new join gets a new name) and a reload that
// keeps the session (storage). tabs.light.chromium.test.ts runs the bundle in a real page.

import { strict as assert } from 'node:assert';
import { createServer } from 'node:net';
import { test } from 'node:test';

import {
  Actor,
  ErrNoConnection,
  Event,
  PID,
  ProcessID,
  ReplyLater,
  startNode,
  TerminateReasonShutdown,
  type Atom,
  type Ref,
  type ErgoError,
} from 'ergo-ts';
import { within } from '@ergo-ts/test-support';

import { createTabGateway, TABS_INSPECT } from '../src/index.js';
import type { TabProcessDetail, TabProcessRow } from '../src/tab/index.js';
import { joinLight, type LightTab } from '../src/light/index.js';
import type { TabStorage } from '../src/tab/keep.js';
import { BoardActor, gatewayNode, LogLines, NewsActor, quiet, watcherOn } from './helpers.js';
import { Board, TabView } from './protocols.js';

/** A board whose notes reach `onNote` with their sender (the test learns the tab's PIDs so). */
class NoteBoard extends BoardActor {
  constructor(readonly onNote: (from: PID, text: string) => void) {
    super();
  }
  override handleMessage(from: PID, msg: string): void {
    this.onNote(from, msg);
  }
}

/** Notes in arrival order, with a wait for the next. */
function noteQueue() {
  const notes: { from: PID; text: string }[] = [];
  const waiters: ((n: { from: PID; text: string }) => void)[] = [];
  return {
    push: (from: PID, text: string): void => {
      const w = waiters.shift();
      if (w !== undefined) w({ from, text });
      else notes.push({ from, text });
    },
    next: (): Promise<{ from: PID; text: string }> =>
      within(
        notes.length > 0 ? Promise.resolve(notes.shift()!) : new Promise((r) => waiters.push(r)),
        'the next note',
        10_000,
      ),
  };
}

/** A light tab that leaves after the test. */
async function light(
  t: { after(fn: () => void): void },
  url: string,
  extra: Partial<Parameters<typeof joinLight>[0]> = {},
) {
  const tab = await joinLight({ url, token: 'good', ...extra });
  t.after(() => tab.leave());
  return tab;
}

/** Registers the event 'past' keeping its last publish; publishes what it gets; answers calls once it did. */
class PastActor extends Actor {
  token!: Ref;
  override init(): void {
    this.token = this.registerEvent('past', { buffer: 1 });
  }
  override handleMessage(_from: PID, m: unknown): void {
    this.sendEvent('past', this.token, m);
  }
  override handleCall(): string {
    return 'yes';
  }
}

/** A value and the promise that it came. */
function signal<T>(): { set(v: T): void; got: Promise<T> } {
  let set!: (v: T) => void;
  const got = new Promise<T>((r) => (set = r));
  return { set, got };
}

test('a light tab calls and sends to server processes (typed) and its mailboxes are called and sent to', async (t) => {
  const { g, gw } = await gatewayNode(t);
  const notes = noteQueue();
  await g.spawnRegister('board', () => new NoteBoard(notes.push));
  await g.spawnRegister('secret_board', () => new BoardActor());
  const shown: string[] = [];
  const showed = signal<void>();
  const tab = await light(t, gw.url, {
    receive: {
      message: (_from, m) => {
        shown.push(String(m));
        showed.set();
      },
      call: (_from, req) => `rendered:${String(req)}`,
    },
  });
  assert.match(tab.name, /^tab-[0-9a-z]{14}-gw/);
  assert.equal(tab.gateway, g.name);
  const board = Board.processID('board', g.name);
  assert.equal(await tab.call(board, 41), 42);
  tab.send(board, 'hello');
  const note = await notes.next();
  assert.equal(note.text, 'hello');
  assert.ok(note.from.equals(tab.pid), 'the board sees the tab mailbox as the sender');
  await tab.send(board, 'important', { important: true });
  assert.equal((await notes.next()).text, 'important');

  // The server calls and sends to the tab's mailbox, typed by TabView.
  assert.equal(await g.call(TabView.pid(note.from), 'x'), 'rendered:x');
  g.send(note.from, 'shown line');
  await showed.got;
  assert.deepEqual(shown, ['shown line']);

  // A second mailbox, with a registered name on the tab's node.
  const views = signal<string>();
  const view = tab.mailbox<typeof TabView>({ message: (_f, m) => views.set(m), call: (_f, r) => `view:${r}` }, 'view');
  const byName = TabView.processID('view', tab.name);
  assert.equal(await g.call(byName, 'y'), 'view:y');
  g.send(byName, 'to the view');
  assert.equal(await views.got, 'to the view');
  assert.notEqual(view.pid.id, tab.pid.id);
  view.close();
  await assert.rejects(g.call(TabView.pid(view.pid), 'z'), { code: 'ERR_PROCESS_UNKNOWN' });

  // Refused by the grant, at once and coded; a server's error answer keeps its code.
  await assert.rejects(tab.call(new ProcessID('secret_board' as Atom, g.name), 1), { code: 'ERR_TAB_NOT_GRANTED' });
  await assert.rejects(tab.call(Board.pid(new PID(g.name, 999_999, g.creation)), 1), (e: ErgoError) => {
    assert.ok(e.code === 'ERR_TAB_NOT_GRANTED' || e.code === 'ERR_PROCESS_UNKNOWN', e.code);
    return true;
  });
  // A light tab has no local names: a string is no address.
  await assert.rejects(tab.call('board' as never, 1), { code: 'ERR_INCORRECT' });
});

test('an event published on the server reaches every subscribed light tab; its end reaches them', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ names: { news: true }, events: ['news', 'past'] }) });
  const news = await g.spawnRegister('news', () => new NewsActor());
  const tabs = await Promise.all([0, 1, 2].map(() => light(t, gw.url)));
  const got = tabs.map(() => signal<{ m: unknown; from: PID | undefined }>());
  const ends = tabs.map(() => signal<Error>());
  for (const [i, tab] of tabs.entries())
    await tab.subscribe(
      new Event('news' as Atom, g.name),
      (m, from) => got[i]!.set({ m, from }),
      (r) => ends[i]!.set(r),
    );
  g.send(news, { headline: 'one publish' });
  for (const s of got) {
    const { m, from } = await within(s.got, 'the event at a tab', 10_000);
    assert.deepEqual(m, { headline: 'one publish' });
    assert.ok(from?.equals(news));
  }
  g.kill(news);
  for (const e of ends) assert.ok((await within(e.got, 'the event ended', 10_000)) instanceof Error);
  // An event with a buffer: a subscriber gets what it kept first (with no publisher: a buffer keeps none).
  const past = await g.spawnRegister('past', () => new PastActor());
  g.send(past, 'before anyone subscribed');
  assert.equal(await g.call(past, 'published?'), 'yes');
  const kept = signal<{ m: unknown; from: PID | undefined }>();
  await tabs[0]!.subscribe(new Event('past' as Atom, g.name), (m, from) => kept.set({ m, from }));
  assert.deepEqual(await within(kept.got, 'the buffered event', 10_000), {
    m: 'before anyone subscribed',
    from: undefined,
  });
  // Not granted: refused at once with the code.
  await assert.rejects(
    tabs[0]!.subscribe(new Event('other' as Atom, g.name), () => undefined),
    {
      code: 'ERR_TAB_NOT_GRANTED',
    },
  );
});

test('monitors and links: a light mailbox hears a server process end; a server hears a mailbox close', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ names: { board: Board } }) });
  const board = await g.spawnRegister('board', () => new BoardActor());
  const tab = await light(t, gw.url);
  const down = signal<Error>();
  const exit = signal<Error>();
  await tab.monitor(Board.processID('board', g.name), (r) => down.set(r));
  const signalled = signal<[PID, string]>();
  const m = tab.mailbox({ exit: (from, reason) => signalled.set([from, (reason as ErgoError).code]) });
  // An exit signal to a mailbox reaches its callback (a mailbox does not end by it).
  g.sendExit(m.pid, TerminateReasonShutdown);
  const [from, code] = await within(signalled.got, 'the exit signal', 10_000);
  assert.ok(from.node === g.name);
  assert.equal(code, 'TERMINATE_SHUTDOWN');
  // The tab links to the board's PID: its end comes with its reason, and the mailbox's link holds at the board.
  const pid = await tab.call(Board.processID('board', g.name), 'self');
  assert.ok(pid.equals(board));
  await m.link(pid, (r) => exit.set(r));
  g.sendExit(board, TerminateReasonShutdown);
  assert.equal(((await within(down.got, 'down', 10_000)) as ErgoError).code, 'TERMINATE_SHUTDOWN');
  assert.equal(((await within(exit.got, 'exit', 10_000)) as ErgoError).code, 'TERMINATE_SHUTDOWN');
  await assert.rejects(tab.monitor(new PID(g.name, 999_999, g.creation), () => undefined));

  // A server process links to and monitors a mailbox; the mailbox closes with a reason.
  const w = await watcherOn(g);
  const box = tab.mailbox({});
  assert.equal(await w.watch(box.pid), 'watching');
  box.close(TerminateReasonShutdown);
  await within(w.seen.wait, 'exit and down of the closed mailbox', 10_000);
  assert.deepEqual([w.seen.exits[0]!.code, w.seen.downs[0]!.code], ['TERMINATE_SHUTDOWN', 'TERMINATE_SHUTDOWN']);
  // The tab's own mailbox: the session's end is noconnection for its watchers.
  const w2 = await watcherOn(g);
  assert.equal(await w2.watch(tab.pid), 'watching');
  tab.leave();
  await within(w2.seen.wait, 'noconnection when the tab left', 10_000);
  assert.equal(w2.seen.downs[0]!.code, ErrNoConnection.code);
});

test('refusals at the light tab: messages/s (calls reject with the code, never ERR_TIMEOUT), a frame above maxFrameBytes', async (t) => {
  const { g, gw } = await gatewayNode(t, {
    admit: () => ({ names: { board: Board }, limits: { messagesPerSecond: 20, maxFrameBytes: 2048 } }),
  });
  await g.spawnRegister('board', () => new BoardActor());
  const refusals: string[] = [];
  const tab = await light(t, gw.url, { onRefusal: (e) => refusals.push(e.code) });
  const board = Board.processID('board', g.name);
  const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => tab.call(board, i, 60_000)));
  const codes = new Set(results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as ErgoError).code)));
  assert.deepEqual([...codes].sort(), ['ERR_TAB_RATE_LIMIT', 'ok']);

  // A frame above the welcome's maxFrameBytes: refused at the tab, nothing reaches the gateway.
  const refusedBefore = gw.tabs()[0]!.refused;
  const bytesBefore = gw.tabs()[0]!.bytesIn;
  const big = 'x'.repeat(4096);
  await assert.rejects(tab.call(Board.processID('board', g.name), big as never), { code: 'ERR_TAB_FRAME' });
  assert.throws(() => tab.send(board, big), { code: 'ERR_TAB_FRAME' });
  // A value no frame carries: coded, at the tab.
  assert.throws(() => tab.send(board, (() => 1) as never), { code: 'ERR_TAB_VALUE' });
  assert.equal(gw.tabs()[0]!.refused, refusedBefore);
  assert.equal(gw.tabs()[0]!.bytesIn, bytesBefore);
  // A plain send past the rate reaches onRefusal.
  for (let i = 0; i < 100; i++) tab.send(board, 'flood');
  await within(
    (async () => {
      while (!refusals.includes('ERR_TAB_RATE_LIMIT')) await new Promise((r) => setImmediate(r));
    })(),
    'a send refused for the rate',
    10_000,
  );
});

/** Answers a call 'now' at once; holds every other call until a message names its request. */
class HoldActor extends Actor {
  readonly held = new Map<unknown, { from: PID; ref: Ref }>();
  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request === 'now') return 'now';
    this.held.set(request, { from, ref });
    return ReplyLater;
  }
  override handleMessage(_from: PID, request: unknown): void {
    const h = this.held.get(request);
    if (h === undefined) return;
    this.held.delete(request);
    this.sendResponse(h.from, h.ref, `answered ${String(request)}`);
  }
}

test('call timeouts at the light tab: each call fails with ERR_TIMEOUT at its own deadline, answered calls around it unharmed', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ names: { hold: true } }) });
  const holder = await g.spawnRegister('hold', () => new HoldActor());
  const tab = await light(t, gw.url);
  const hold = new ProcessID('hold' as Atom, g.name);
  const timedOut = (ms: number, started: number) => (e: ErgoError) => {
    assert.equal(e.code, 'ERR_TIMEOUT');
    assert.ok(performance.now() - started >= ms, 'not before its deadline');
    return true;
  };

  // One call never answered, alone.
  let started = performance.now();
  await assert.rejects(within(tab.call(hold, 'never', 150), 'the unanswered call', 10_000), timedOut(150, started));

  // A call of a long timeout made before one of a short timeout: the short one fails first, the
  // long one is still answered; calls answered at once between them resolve.
  started = performance.now();
  const long = tab.call(hold, 'long', 60_000);
  const short = tab.call(hold, 'short', 200);
  const shortFailed = assert.rejects(within(short, 'the short call', 10_000), timedOut(200, started));
  assert.equal(await tab.call(hold, 'now', 200), 'now');
  assert.equal(await tab.call(hold, 'now', 60_000), 'now');
  await shortFailed;
  g.send(holder, 'long');
  assert.equal(await within(long, 'the long call', 10_000), 'answered long');

  // Two unanswered calls of different timeouts made together: the timer, set for the first,
  // is set again for the second when it fires.
  started = performance.now();
  const near = within(tab.call(hold, 'near', 100), 'the near call', 10_000);
  const far = within(tab.call(hold, 'far', 250), 'the far call', 10_000);
  await assert.rejects(near, timedOut(100, started));
  await assert.rejects(far, timedOut(250, started));

  // A held call behind answered ones of the same timeout, then answered ones behind a held one
  // that times out: each settles as it should, and later calls still time out.
  started = performance.now();
  const first = tab.call(hold, 'first', 300);
  const answered = await Promise.all(Array.from({ length: 50 }, () => tab.call(hold, 'now', 300)));
  assert.equal(answered.length, 50);
  await assert.rejects(within(first, 'the first call', 10_000), timedOut(300, started));
  const again = tab.call(hold, 'again', 60_000);
  started = performance.now();
  await assert.rejects(within(tab.call(hold, 'last', 100), 'the last call', 10_000), timedOut(100, started));
  g.send(holder, 'again');
  assert.equal(await within(again, 'the call answered later', 10_000), 'answered again');
});

/** A free TCP port on the loopback. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('a network cut: the light tab redials and resumes, mail both ways held meanwhile; a gateway restart ends the session', async (t) => {
  const port = await freePort();
  const lines = new LogLines();
  const start = async (name: string) => {
    const g = await startNode(`${name}${process.pid}@localhost`, quiet(lines));
    const gw = await createTabGateway(g, { admit: () => ({ names: { board: Board } }), port, reconnectWindow: 30_000 });
    await g.spawnRegister('board', () => new NoteBoard(notes.push));
    return { g, gw };
  };
  const notes = noteQueue();
  let { g, gw } = await start('lgw');
  t.after(async () => {
    await gw.stop();
    await g.stop();
  });
  const got = noteQueue();
  const tab = await light(t, gw.url, { receive: { message: (from, m) => got.push(from, String(m)) } });
  const board = Board.processID('board', g.name);
  const down = signal<Error>();
  await tab.monitor(board, (r) => down.set(r));

  tab.dropConnection();
  assert.equal(tab.connected, false);
  tab.send(board, 'sent while away'); // held at the tab
  // Once the gateway knows the tab is away, what a server sends it is held there (a frame written
  // to a socket already dying is lost: delivery across a cut is at most once).
  await lines.waitFor(/away: \d+ ms to come back/, 'the gateway sees the tab away');
  g.send(tab.pid, 'to the tab while away'); // held at the gateway
  await within(tab.whenConnected(), 'the tab back', 10_000);
  assert.equal((await notes.next()).text, 'sent while away');
  assert.equal((await got.next()).text, 'to the tab while away');
  assert.equal(await tab.call(board, 1), 2);

  // The gateway's node restarts on the same port: the tab redials until it answers, and the new
  // gateway does not know the session: it ended (the monitor fires with noconnection).
  await gw.stop();
  await g.stop();
  ({ g, gw } = await start('lgw2'));
  const reason = (await within(tab.ended, 'the session ended', 20_000)) as ErgoError;
  assert.equal(reason.code, 'ERR_TAB_SESSION_ENDED');
  assert.equal(await down.got, ErrNoConnection);
  await assert.rejects(tab.call(board, 1), { code: 'ERR_TAB_SESSION_ENDED' });
  // Joining again with the old resume: a new tab (the old session is unknown here).
  const again = await light(t, gw.url, { resume: tab.resume });
  assert.notEqual(again.name, tab.name);
  assert.equal(await again.call(Board.processID('board', g.name), 2), 3);
});

test('a reload with storage keeps the session: the same name, no new admission, the old page ends for its watchers', async (t) => {
  let admitted = 0;
  const { g, gw } = await gatewayNode(t, {
    admit: () => (admitted++, { names: { board: Board } }),
  });
  await g.spawnRegister('board', () => new BoardActor());
  const kept = new Map<string, string>();
  const storage: TabStorage = {
    getItem: (k) => kept.get(k) ?? null,
    setItem: (k, v) => void kept.set(k, v),
    removeItem: (k) => void kept.delete(k),
  };
  const first: LightTab = await joinLight({ url: gw.url, token: 'good', storage });
  const w = await watcherOn(g);
  assert.equal(await w.watch(first.pid), 'watching');
  first.unload();
  const second = await light(t, gw.url, { storage, token: 'not asked again' });
  assert.equal(second.name, first.name);
  assert.equal(admitted, 1);
  assert.equal(second.pid.creation, first.pid.creation);
  assert.ok(second.pid.id > 2 ** 32, 'ids above the old page');
  await within(w.seen.wait, "the old page's mailbox ends for its watchers", 10_000);
  assert.equal(w.seen.downs[0]!.code, ErrNoConnection.code);
  assert.equal(await second.call(Board.processID('board', g.name), 9), 10);
  // leave() forgets the tab: the next join is a new tab.
  second.leave();
  assert.equal(kept.size, 0);
});

test("the gateway's inspector (the Observer's Tabs page) lists a light tab's mailboxes and one's relations", async (t) => {
  const { g, gw } = await gatewayNode(t);
  await g.spawnRegister('board', () => new BoardActor());
  const tab = await light(t, gw.url);
  const view = tab.mailbox({ call: () => 'ok' }, 'view');
  await view.monitor(Board.processID('board', g.name), () => undefined);
  assert.equal(await view.call(Board.processID('board', g.name), 1), 2);
  const ask = async (request: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const text = await g.call(new ProcessID(TABS_INSPECT as Atom, g.name), { ...request, tab: tab.name });
    const a = JSON.parse(text as string) as { ok: boolean; value: Record<string, unknown>; code?: string };
    assert.ok(a.ok, `refused: ${a.code}`);
    return a.value;
  };
  const list = (await ask({ '~tabs': 'processes' })) as { total: number; processes: TabProcessRow[] };
  assert.equal(list.total, 2);
  assert.deepEqual(
    list.processes.map((p) => [p.id, p.name, p.behavior]),
    [
      [tab.pid.id, '', 'mailbox'],
      [view.pid.id, 'view', 'mailbox'],
    ],
  );
  const one = (await ask({ '~tabs': 'process', id: view.pid.id })) as unknown as TabProcessDetail;
  assert.equal(one.pid, view.pid.toString());
  assert.equal(one.messagesOut, 1);
  assert.deepEqual(one.monitors, [Board.processID('board', g.name).toString()]);
});

test('a kept mailbox comes back under the same PID after a reload: links and monitors on it hold, mail sent meanwhile reaches it', async (t) => {
  const { g, gw, lines } = await gatewayNode(t);
  const kept = new Map<string, string>();
  const storage: TabStorage = {
    getItem: (k) => kept.get(k) ?? null,
    setItem: (k, v) => void kept.set(k, v),
    removeItem: (k) => void kept.delete(k),
  };
  const first = await joinLight({ url: gw.url, token: 'good', storage, keep: { cart: {} } });
  const cart = first.kept.get('cart')!;
  assert.equal(
    await g.call(new ProcessID('cart' as Atom, first.name), 'x').catch((e: ErgoError) => e.code),
    'ERR_UNSUPPORTED',
  );
  const w = await watcherOn(g);
  assert.equal(await w.watch(cart.pid), 'watching');
  first.unload();
  await lines.waitFor(/away: \d+ ms to come back/, 'the gateway sees the page gone');
  g.send(cart.pid, 'sent during the reload');
  const got = signal<string>();
  const second = await light(t, gw.url, {
    storage,
    keep: { cart: { message: (_from, m) => got.set(String(m)) } },
  });
  const back = second.kept.get('cart')!;
  assert.ok(back.pid.equals(cart.pid), `${back.pid.toString()} is ${cart.pid.toString()}`);
  assert.equal(await within(got.got, 'the mail held during the reload', 10_000), 'sent during the reload');
  // The watcher heard nothing at the reload: its link and monitor fire now, with the close's reason.
  back.close(TerminateReasonShutdown);
  await within(w.seen.wait, 'exit and down of the kept mailbox', 10_000);
  assert.deepEqual(
    [w.seen.exits.map((e) => e.code), w.seen.downs.map((d) => d.code)],
    [['TERMINATE_SHUTDOWN'], ['TERMINATE_SHUTDOWN']],
  );
});
