// Tabs and a real Go Ergo 3.2 node (`ergo-peer`, its own OS process) through the gateway's ENP
// bridge: the gateway node serves the host's embedded registrar on a free port, the Go node
// registers with it, and each tab's endpoint registers the tab's own name. A tab calls and sends
// to Go processes by name and by PID; the Go node resolves a tab's name, calls it, sends to it,
// links to and monitors its processes, and hears `no connection` when the tab's session ends; a
// Go value the tab frame codec cannot carry is refused at the gateway with ERR_TAB_VALUE and a
// log line, and nothing else is lost. Skips without the Go peer (fails under CI=true).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  Actor,
  Event,
  MessageDownPID,
  MessageExitPID,
  PID,
  ProcessID,
  startNode,
  type Atom,
  type MessageEvent,
  type Node,
} from 'ergo-ts';
import { defaultRegistry, EmbeddedRegistrar, Go } from 'ergo-ts/net';
import { freeTcpUdpPort, Peer, requirePeer, type Line } from '@ergo-ts/test-support';

import { createTabGateway, type TabGateway } from '../src/index.js';
import { BoardActor, COOKIE, LogLines, quiet, Subscriber, tabOf, ViewActor } from './helpers.js';
import { Board } from './protocols.js';

/** `#main/Point` of ergo-peer: a registered struct, which tab frames do not carry. */
class Point {
  constructor(
    public x: number | bigint = 0,
    public y: number | bigint = 0,
    public label = '',
  ) {}
}
defaultRegistry.type('#main/Point') ??
  defaultRegistry.register({
    name: '#main/Point',
    class: Point,
    fields: { x: Go.int64, y: Go.int64, label: Go.string },
  });

let seq = 0;

/** Log lines with a wait for the n-th line that matches (a name's second endpoint, ...). */
class CountedLines extends LogLines {
  #nth: { re: RegExp; n: number; resolve: () => void }[] = [];
  constructor() {
    super();
    const base = this.write;
    this.write = (line: string): boolean => {
      base(line);
      this.#nth = this.#nth.filter((w) => {
        if (this.count(w.re) < w.n) return true;
        w.resolve();
        return false;
      });
      return true;
    };
  }
  /** Resolves once `n` lines (logged already or to come) match `re`. */
  nth(re: RegExp, n: number): Promise<void> {
    if (this.count(re) >= n) return Promise.resolve();
    return new Promise((resolve) => this.#nth.push({ re, n, resolve }));
  }
}

/** A RegExp matching `s` literally. */
const literal = (s: string): string => s.replace(/[.$]/g, '\\$&');

/** ergo-peer's address form of a PID. */
const addr = (p: PID): { node: string; id: number; creation: number } => ({
  node: p.node,
  id: p.id,
  creation: p.creation,
});

/** A PID of the Go node as its `ready` line lists it. */
function goPid(go: Peer, name: string): PID {
  const v = (go.ready.processes as Record<string, { v?: PidLine } & PidLine>)[name]!;
  const p = v.v ?? v;
  return new PID(p.node as Atom, p.id, p.creation);
}
interface PidLine {
  node: string;
  id: number;
  creation: number;
}

/**
 * The gateway node serving the registrar on a free port, its gateway with the ENP bridge for
 * the Go node, and the Go node registered with it; all stop after the test.
 */
async function cluster(t: {
  after(fn: () => Promise<void>): void;
  skip(msg: string): void;
}): Promise<{ g: Node; gw: TabGateway; go: Peer; goName: string; lines: CountedLines } | undefined> {
  const bin = requirePeer(t);
  if (bin === undefined) return undefined;
  const port = await freeTcpUdpPort();
  const lines = new CountedLines();
  const goName = `go${process.pid}x${seq}@localhost`;
  const g = await startNode(`gwgo${process.pid}x${seq++}@localhost`, {
    ...quiet(lines),
    network: {
      cookie: COOKIE,
      acceptors: [{ port: 0 }],
      registrar: new EmbeddedRegistrar({ port, registerTimeout: 15_000, resolveTimeout: 15_000 }),
    },
  });
  await g.spawnRegister('board', () => new BoardActor());
  const gw = await createTabGateway(g, {
    admit: () => ({ names: { board: Board, calc: true, echo: true }, events: ['peer_events'] }),
    enp: { nodes: [goName] },
  });
  const go = await Peer.start(bin, ['-name', goName, '-cookie', COOKIE, '-registrar-port', String(port)], 30_000);
  t.after(async () => {
    await go.stop();
    await gw.stop();
    await g.stop();
  });
  return { g, gw, go, goName, lines };
}

/** Sends `hello` to `to` at init; records what comes back. */
class Sender extends Actor {
  constructor(
    readonly to: PID,
    readonly got: (m: unknown) => void,
  ) {
    super();
  }
  override init(): void {
    this.send(this.to, 'hello from a tab');
  }
  override handleMessage(_from: PID, m: unknown): void {
    this.got(m);
  }
}

/** A tab view that tells a waiter of each message it shows. */
class WaitingView extends ViewActor {
  constructor(
    shown: string[],
    readonly onShow: (s: string) => void,
  ) {
    super(shown);
  }
  override handleMessage(from: PID, msg: string): void {
    super.handleMessage(from, msg);
    this.onShow(msg);
  }
}

/** A view's factory, what it showed, and a wait for the next message it shows. */
function viewWith(): { shown: string[]; next: () => Promise<string>; make: () => ViewActor } {
  const shown: string[] = [];
  let waiter: ((s: string) => void) | null = null;
  return {
    shown,
    next: () => new Promise<string>((r) => (waiter = r)),
    make: () =>
      new WaitingView(shown, (s) => {
        waiter?.(s);
        waiter = null;
      }),
  };
}

test('a tab and a Go Ergo node call and send to each other by registered name and by PID', async (t) => {
  const c = await cluster(t);
  if (c === undefined) return;
  const { gw, go, goName } = c;
  const tab = await tabOf(t, gw);
  const v = viewWith();
  const view = await tab.node.spawnRegister('view', v.make);

  // tab → Go by registered name (calc upper-cases a string), then by PID (echo answers the request)
  assert.equal(await tab.node.call(new ProcessID('calc' as Atom, goName as Atom), 'hello'), 'HELLO');
  // The grant holds for Go nodes too: a name it does not list, a PID not handed out.
  await assert.rejects(tab.node.call(new ProcessID('ctl' as Atom, goName as Atom), 'x'), {
    code: 'ERR_TAB_NOT_GRANTED',
  });
  await assert.rejects(tab.node.call(goPid(go, 'echo'), 'x'), { code: 'ERR_TAB_NOT_GRANTED' });
  // A tab addresses a PID once it got mail from it or the application handed it out.
  const echo = goPid(go, 'echo');
  gw.handOut(tab.name, echo);
  assert.equal(await tab.node.call(echo, 'by pid'), 'by pid');

  // tab process → Go by PID; echo sends it back to the tab process's PID
  let back!: (m: unknown) => void;
  const echoed = new Promise<unknown>((r) => (back = r));
  const since = go.mark();
  const sender = await tab.node.spawn(() => new Sender(echo, back));
  const recv = await go.waitFor((l) => l.kind === 'recv' && l.process === 'echo', { since, timeout: 15_000 });
  assert.equal(recv.msg, 'hello from a tab');
  assert.equal((recv.from as { v: PidLine }).v.node, tab.name, 'Go saw the tab process as the sender');
  assert.equal((recv.from as { v: PidLine }).v.id, sender.id);
  assert.equal(await echoed, 'hello from a tab');

  // Go → tab by PID: a send, then a call (the call finds the send delivered: one path)
  const shown = v.next();
  assert.equal((await go.cmd('send', { to: addr(view), msg: 'from go' })).kind, 'result');
  assert.equal(await shown, 'from go');
  const call = await go.cmd('call', { to: addr(view), req: 'go' });
  assert.deepEqual([call.kind, call.value], ['result', 'rendered:go']);
  // Go → tab by registered name
  const byName = await go.cmd('call', { to: { name: 'view', node: tab.name }, req: 'named' });
  assert.deepEqual([byName.kind, byName.value], ['result', 'rendered:named']);

  // The gateway lists the Go node among the tab's peers.
  assert.ok(
    gw
      .tabs()
      .find((x) => x.node === tab.name)!
      .peers.includes(goName),
  );
});

/**
 * Traps exits, links to and monitors `target` in init, then calls it: one sender's link request,
 * monitor request and call share one ENP link, so once the call is answered the Go node holds
 * both. Reports each exit and down it gets.
 */
class GoWatcher extends Actor {
  constructor(
    readonly target: PID,
    readonly seen: (kind: 'exit' | 'down', pid: PID, code: string) => void,
  ) {
    super();
  }
  override async init(): Promise<void> {
    this.setTrapExit(true);
    this.link(this.target);
    this.monitor(this.target);
    await this.call(this.target, 'after the link');
  }
  override handleMessage(_from: PID, m: unknown): void {
    const code = (r: Error): string => String((r as { code?: unknown }).code ?? r.message);
    if (m instanceof MessageExitPID) this.seen('exit', m.pid, code(m.reason));
    if (m instanceof MessageDownPID) this.seen('down', m.pid, code(m.reason));
  }
}

/**
 * Spawns a GoWatcher of `target` on `node` (resolving once the Go node holds its link and
 * monitor) with a promise of the exit's and the down's codes.
 */
async function goWatcher(node: Node, target: PID): Promise<{ ended: Promise<string[]> }> {
  const got = new Map<string, string>();
  let both!: (codes: string[]) => void;
  const ended = new Promise<string[]>((r) => (both = r));
  await node.spawn(
    () =>
      new GoWatcher(target, (kind, pid, code) => {
        assert.ok(pid.equals(target), `the ${kind} names the target`);
        got.set(kind, code);
        if (got.size === 2) both([got.get('exit')!, got.get('down')!]);
      }),
  );
  return { ended };
}

test('a tab process links to and monitors Go processes, subscribes to a Go event, and hears no connection when the Go node dies', async (t) => {
  const c = await cluster(t);
  if (c === undefined) return;
  const { gw, go, goName } = c;
  const tab = await tabOf(t, gw);
  const echo = goPid(go, 'echo');
  const calc = goPid(go, 'calc');
  const gone = new PID(goName as Atom, 999_999, echo.creation);
  for (const p of [echo, calc, gone]) gw.handOut(tab.name, p);

  // A link and a monitor of echo; echo killed: both fire with its reason.
  const onEcho = await goWatcher(tab.node, echo);
  assert.equal((await go.cmd('kill', { target: 'echo' })).kind, 'result');
  assert.deepEqual(await onEcho.ended, ['TERMINATE_KILL', 'TERMINATE_KILL']);

  // A PID the Go node does not know: its refusal comes back as the reason.
  const unknown = new Promise<string[]>((resolve) => {
    const codes: string[] = [];
    void tab.node.spawn(
      () =>
        new (class extends Actor {
          override init(): void {
            this.setTrapExit(true);
            this.link(gone);
            this.monitor(gone);
          }
          override handleMessage(_from: PID, m: unknown): void {
            if (m instanceof MessageExitPID || m instanceof MessageDownPID) {
              codes.push(String((m.reason as { code?: unknown }).code));
              if (codes.length === 2) resolve(codes);
            }
          }
        })(),
    );
  });
  assert.deepEqual(await unknown, ['ERR_PROCESS_UNKNOWN', 'ERR_PROCESS_UNKNOWN']);

  // A Go event reaches the tab process that monitors it.
  let got!: (m: MessageEvent) => void;
  const published = new Promise<MessageEvent>((r) => (got = r));
  await tab.node.spawn(() => new Subscriber(new Event('peer_events' as Atom, goName as Atom), got));
  assert.equal((await go.cmd('publish', { msg: 'to the tabs' })).kind, 'result');
  assert.equal((await published).message, 'to the tabs');

  // The Go node's process is killed (a graceful stop would end calc first, with its own reason):
  // the link and the monitor of calc fire with no connection.
  const onCalc = await goWatcher(tab.node, calc);
  go.kill();
  await go.exited; // before the test's end stops it (no write to a closed stdin)
  assert.deepEqual(await onCalc.ended, ['ERR_NO_CONNECTION', 'ERR_NO_CONNECTION']);
});

test("a Go node resolves a tab's name, links and monitors its processes, and hears no connection when the session ends", async (t) => {
  const c = await cluster(t);
  if (c === undefined) return;
  const { g, gw, go, lines } = c;
  const tab = await tabOf(t, gw);
  const v1 = await tab.node.spawn(() => new ViewActor());
  const v2 = await tab.node.spawn(() => new ViewActor());
  // The tab's first frame (to the gateway's board) starts its endpoint: the name registers.
  assert.equal(await tab.node.call(Board.processID('board', g.name), 1), 2);
  await lines.waitFor(new RegExp(`tab ${tab.name.replace(/[.$]/g, '\\$&')}: ENP endpoint up`), 'the endpoint');

  // Go dials the tab's name (resolved by the registrar): the node it meets is the tab.
  const info = await go.cmd('connect', { node: tab.name }, 30_000);
  assert.equal(info.kind, 'result', JSON.stringify(info));
  const remote = info.value as { node: string; creation: number };
  assert.deepEqual([remote.node, remote.creation], [tab.name, tab.node.creation]);

  // A link and a monitor of v1 fire with the process's reason when it is killed.
  for (const cmd of ['link', 'monitor']) assert.equal((await go.cmd(cmd, { target: addr(v1) })).kind, 'result');
  let since = go.mark();
  tab.node.kill(v1);
  const ended = (kind: string, pid: PID, from: number): Promise<Line> =>
    go.waitFor((l) => l.kind === kind && (l.target as { v: PidLine }).v.id === pid.id, {
      since: from,
      timeout: 15_000,
    });
  const [exit1, down1] = await Promise.all([ended('exit', v1, since), ended('down', v1, since)]);
  assert.deepEqual([exit1.reason, down1.reason], ['kill', 'kill']);

  // A PID the tab's node does not know: the Go node's link and monitor are answered when the tab
  // answered, with its refusal (and the gateway logs it).
  const stale = new PID(tab.name as Atom, 999_999, tab.node.creation);
  for (const cmd of ['link', 'monitor']) {
    const r = await go.cmd(cmd, { target: addr(stale) });
    assert.deepEqual([r.kind, r.error], ['error', 'unknown process'], cmd);
  }
  await lines.waitFor(/a link from .* refused: unknown process/, 'the refused link logged');

  // Past the session's end (the gateway ends it), the watchers of v2 hear no connection.
  for (const cmd of ['link', 'monitor']) assert.equal((await go.cmd(cmd, { target: addr(v2) })).kind, 'result');
  since = go.mark();
  assert.ok(gw.disconnect(tab.name));
  const [exit2, down2] = await Promise.all([ended('exit', v2, since), ended('down', v2, since)]);
  assert.deepEqual([exit2.reason, down2.reason], ['no connection', 'no connection']);
});

test('a Go value tab frames cannot carry is refused at the gateway with ERR_TAB_VALUE and a log line; nothing else is lost', async (t) => {
  const c = await cluster(t);
  if (c === undefined) return;
  const { gw, go, goName, lines } = c;
  const tab = await tabOf(t, gw);
  const v = viewWith();
  const view = await tab.node.spawn(v.make);
  assert.equal(await tab.node.call(new ProcessID('calc' as Atom, goName as Atom), 'x'), 'X');

  const point = { $: 'main.Point', v: { X: 1, Y: 2, Label: 'p' } };
  const refused = await go.cmd('call', { to: addr(view), req: point });
  assert.equal(refused.kind, 'error');
  assert.match(String(refused.error), /value a tab frame cannot carry/, 'ERR_TAB_VALUE, as the Go caller reads it');
  await lines.waitFor(/a call from .* refused: .*Point instance cannot be sent/, 'the refusal logged');
  // A send of one is refused too (logged); the send after it arrives, and a call is answered.
  assert.equal((await go.cmd('send', { to: addr(view), msg: point })).kind, 'result');
  await lines.waitFor(/a send from .* refused: .*Point instance cannot be sent/, 'the send refused');
  const shown = v.next();
  assert.equal((await go.cmd('send', { to: addr(view), msg: 'after' })).kind, 'result');
  assert.equal(await shown, 'after');
  assert.deepEqual(v.shown, ['after']);
  assert.equal((await go.cmd('call', { to: addr(view), req: 'still' })).value, 'rendered:still');

  // The other way: a tab value Go cannot take (a Set has no Go type) fails the tab's call.
  gw.handOut(tab.name, goPid(go, 'echo'));
  await assert.rejects(tab.node.call(goPid(go, 'echo'), new Set([1])), { code: 'ERR_EDF_UNREGISTERED' });
  assert.equal(await tab.node.call(goPid(go, 'echo'), 'and on'), 'and on');
});

test('a reloaded page keeps its name for the Go node too: the old processes are no connection there, the new ones are reached', async (t) => {
  const c = await cluster(t);
  if (c === undefined) return;
  const { g, gw, go, lines } = c;
  const first = await tabOf(t, gw, 'good', { reconnect: false });
  const view1 = await first.node.spawn(() => new ViewActor());
  assert.equal(await first.node.call(Board.processID('board', g.name), 1), 2);
  const up = new RegExp(`tab ${literal(first.name)}: ENP endpoint up`);
  await lines.nth(up, 1);
  for (const cmd of ['link', 'monitor']) assert.equal((await go.cmd(cmd, { target: addr(view1) })).kind, 'result');

  // The page goes and a fresh node joins under the name: the old endpoint stops first.
  const since = go.mark();
  first.dropConnection();
  await lines.waitFor(new RegExp(`tab ${literal(first.name)} away`), 'the tab away');
  const again = await tabOf(t, gw, 'good', { resume: first.resume });
  assert.equal(again.name, first.name);
  const ended = (kind: string): Promise<Line> =>
    go.waitFor((l) => l.kind === kind && (l.target as { v: PidLine }).v.id === view1.id, { since, timeout: 15_000 });
  const [exit1, down1] = await Promise.all([ended('exit'), ended('down')]);
  assert.deepEqual([exit1.reason, down1.reason], ['no connection', 'no connection']);

  // The new page's first frame registers the name again; the Go node resolves it anew.
  const view2 = await again.node.spawn(() => new ViewActor());
  assert.equal(await again.node.call(Board.processID('board', g.name), 2), 3);
  await lines.nth(up, 2);
  const call = await go.cmd('call', { to: addr(view2), req: 'again' }, 30_000);
  assert.deepEqual([call.kind, call.value], ['result', 'rendered:again']);
  const info = (await go.cmd('connect', { node: again.name })).value as { creation: number };
  assert.equal(info.creation, again.node.creation, 'the Go node met the new page');
});
