// Everything a tab is refused is refused with a code at the tab and a log line at the gateway:
// admission (a bad token, an admit that throws), names, PIDs and events its grant does not cover
// (until the application hands a PID out), another tab's processes, system processes, exit
// signals, frames that pose as another node, malformed frames and unknown operations.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, type ErgoError, Event, PID, ProcessID, type Atom } from 'ergo-ts';

import { joinGateway } from '../src/index.js';
import { Ctl, decodeFrame, encodeFrame, Op, type Frame } from '../src/frame.js';
import { BoardActor, gatewayNode, quiet, rawTab, tabOf, ViewActor } from './helpers.js';
import { Board } from './protocols.js';

test('admission: a bad token and an admit that throws are refused with ERR_TAB_ADMISSION', async (t) => {
  const { gw, lines } = await gatewayNode(t, {
    admit: (token) => {
      if (token === 'throw') throw new Error('the token store is down');
      return token === 'good' ? { names: {} } : { refuse: `unknown token ${token}` };
    },
  });
  await assert.rejects(joinGateway({ url: gw.url, token: 'bad', node: quiet() }), { code: 'ERR_TAB_ADMISSION' });
  await lines.waitFor(/tab refused .*unknown token bad/, 'the refusal logged');
  await assert.rejects(joinGateway({ url: gw.url, token: 'throw', node: quiet() }), { code: 'ERR_TAB_ADMISSION' });
  await lines.waitFor(/tab refused .*admit threw: the token store is down/, 'the failure logged');
  const ok = await tabOf(t, gw, 'good');
  assert.match(ok.name, /^tab-[0-9a-z]{14}-/);
  assert.equal(gw.tabs().length, 1, 'refused tabs hold no session');
});

test('names, PIDs, events, other tabs, system processes and exit signals: coded refusals', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, {
    admit: () => ({ names: { board: Board }, events: ['public'] }),
  });
  await g.spawnRegister('board', () => new BoardActor());
  await g.spawnRegister('secret', () => new BoardActor());
  const unnamed = await g.spawn(() => new BoardActor());
  const refusals: ErgoError[] = [];
  const a = await tabOf(t, gw, 'a', { onRefusal: (e) => refusals.push(e) });
  const b = await tabOf(t, gw, 'b');
  const refused = (code: string) => ({ code });

  await assert.rejects(a.node.call(new ProcessID('secret' as Atom, g.name), 1), refused('ERR_TAB_NOT_GRANTED'));
  await assert.rejects(a.node.call(new ProcessID('tabs_relay' as Atom, g.name), 1), refused('ERR_TAB_NOT_GRANTED'));
  // A PID nobody handed to the tab, then the same once the application hands it out.
  await assert.rejects(a.node.call(Board.pid(unnamed), 1), refused('ERR_TAB_NOT_GRANTED'));
  gw.handOut(a.name, unnamed);
  assert.equal(await a.node.call(Board.pid(unnamed), 1), 2);

  // Another tab's process: refused until handed out, then reached through the gateway.
  const bView = await b.node.spawn(() => new ViewActor());
  await assert.rejects(a.node.call(bView, 'hi'), refused('ERR_TAB_NOT_GRANTED'));
  gw.handOut(a.name, bView);
  assert.equal(await a.node.call(bView, 'hi'), 'rendered:hi');

  // Events: only those granted (the gateway's 'public' exists, 'private' is refused before).
  class Sub extends Actor {
    override handleCall(_f: PID, _r: unknown, name: unknown): Promise<unknown> {
      return this.monitorEvent(new Event(name as Atom, g.name)).then(
        () => 'subscribed',
        (e: ErgoError) => e.code,
      );
    }
  }
  class Pub extends Actor {
    override init(): void {
      this.registerEvent('public');
      this.registerEvent('private');
    }
  }
  await g.spawn(Pub);
  const sub = await a.node.spawn(Sub);
  assert.equal(await a.node.call(sub, 'public'), 'subscribed');
  assert.equal(await a.node.call(sub, 'private'), 'ERR_TAB_NOT_GRANTED');

  // A plain send nobody waits for, and an exit signal: the tab hears the refusal (onRefusal).
  a.node.send(new ProcessID('secret' as Atom, g.name), 'note');
  a.node.sendExit(unnamed, new Error('die'));
  // Both refusals come back in order before the answer to a later call.
  assert.equal(await a.node.call(Board.processID('board', g.name), 1), 2);
  assert.deepEqual(
    refusals.map((e) => e.code),
    ['ERR_TAB_NOT_GRANTED', 'ERR_TAB_NOT_GRANTED'],
  );
  assert.equal(g.processState(unnamed) !== undefined, true, 'the exit signal did not reach its target');
  // Every refusal is logged at the gateway (4 calls, 1 monitor, 2 notices): the first of its code
  // on a line of its own, the others counted on one line, written at the latest as the tab ends.
  gw.disconnect(a.name);
  assert.equal(lines.refusals(), 7);
  assert.equal(lines.count(/refused: /), 1, 'one line of its own for the code in the interval');
});

test('frames that pose as another node, malformed frames and unknown ops: coded refusals', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, { admit: () => ({ names: { board: true } }) });
  const notes: string[] = [];
  await g.spawnRegister('board', () => new BoardActor(notes));
  const raw = await rawTab(gw.url);
  t.after(() => raw.close());
  const board = new ProcessID('board' as Atom, g.name);
  const own = new PID(raw.name as Atom, 1, 1);
  const other = new PID('tab-00000zzz000000-other@localhost' as Atom, 1, 1);
  const codeOf = async (): Promise<[number, string]> => {
    const f = await raw.next();
    assert.equal(f[0], Ctl.Refusal);
    return [f[2] as number, (f[3] as [string, string])[0]];
  };

  raw.send([Op.Send, 'tab-00000zzz000000-other@localhost', g.name, 0, 0, other, board, 'posing']);
  assert.deepEqual(await codeOf(), [0, 'ERR_TAB_POSING']);
  raw.send([Op.Send, raw.name, g.name, 7, 0, other, board, 'a sender of another node']);
  assert.deepEqual(await codeOf(), [7, 'ERR_TAB_POSING']);
  raw.send([Op.Terminate, raw.name, g.name, new PID(g.name, 1, g.creation), ['', 'ended']]);
  assert.deepEqual(await codeOf(), [0, 'ERR_TAB_POSING']);
  raw.send(new Uint8Array([1, 2, 3, 4, 5]));
  assert.deepEqual(await codeOf(), [0, 'ERR_TAB_FRAME']);
  raw.send([99, raw.name, g.name]);
  assert.deepEqual(await codeOf(), [0, 'ERR_TAB_FRAME']);
  raw.send([Ctl.Hello, 'good', '']);
  assert.deepEqual(await codeOf(), [0, 'ERR_TAB_FRAME']);
  // Its own sender to a granted name goes through.
  raw.send([Op.Send, raw.name, g.name, 8, 0, own, board, 'fine']);
  const ack = await raw.next();
  assert.deepEqual([ack[0], ack[3], ack[4]], [Op.Ack, 8, null]);
  assert.deepEqual(notes, ['fine']);
  gw.disconnect(raw.name);
  assert.equal(lines.refusals(), 6);
});

test('a hello whose fresh or batches field is not a boolean: refused with ERR_TAB_FRAME', async (t) => {
  const { gw, lines } = await gatewayNode(t);
  for (const hello of [
    [Ctl.Hello, 'good', '', 'yes', true],
    [Ctl.Hello, 'good', '', false, 1],
  ]) {
    const ws = new WebSocket(gw.url);
    ws.binaryType = 'arraybuffer';
    const answer = new Promise<Frame>((resolve) => {
      ws.onmessage = (ev) => resolve(decodeFrame(new Uint8Array(ev.data as ArrayBuffer)));
    });
    const closed = new Promise<number>((resolve) => (ws.onclose = (ev) => resolve(ev.code)));
    ws.onopen = () => ws.send(encodeFrame(hello));
    const f = await answer;
    assert.equal(f[0], Ctl.Refused);
    assert.equal((f[1] as [string, string])[0], 'ERR_TAB_FRAME');
    assert.equal(await closed, 4003);
  }
  assert.equal(gw.tabs().length, 0, 'no session');
  assert.equal(lines.count(/tab refused .*is not a boolean/), 2);
  // A hello of an older build, without either field, still joins.
  const raw = await rawTab(gw.url);
  t.after(() => raw.close());
  assert.equal(gw.tabs().length, 1);
});

test('a socket without a hello is closed as busy (1013) at helloTimeout; a socket that said it keeps its tab', async (t) => {
  const { gw } = await gatewayNode(t, { helloTimeout: 300 });
  const joined = await rawTab(gw.url);
  t.after(() => joined.close());
  // Opened after the joined tab's: when it closes, the joined tab's hello timer (if any) has run.
  const silent = new WebSocket(gw.url);
  const code = await new Promise<number>((resolve) => (silent.onclose = (ev) => resolve(ev.code)));
  assert.equal(code, 1013, 'closed for saying no hello (try again later)');
  const tabs = gw.tabs();
  assert.equal(tabs.length, 1, 'the silent socket held no session');
  assert.equal(tabs[0]!.node, joined.name);
  assert.equal(tabs[0]!.connected, true, 'the tab that said hello is still on its socket');
});
