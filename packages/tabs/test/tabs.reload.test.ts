// A page reload that keeps processes (simulated tabs: a reload is `unload()` of the old page's
// tab and a `joinGateway` with the same storage): a kept process comes back under the same PID
// with its saved state, the links and monitors the gateway node and a server node (another OS
// process) hold on it neither fire nor get lost (they fire when it ends later), what was sent to
// it during the reload arrives in order; a process not kept ends for its watchers with
// `noconnection`; a call the old page had taken fails with ERR_TAB_RELOADED; a page cannot claim
// a PID its old page did not keep; an important send the old page got and never acknowledged
// fails with ERR_TAB_RELOADED at the reload.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, ErrNoConnection, PID, TerminateReasonKill, type Ref } from 'ergo-ts';

import { within } from '@ergo-ts/test-support';

import { keep, type TabNode, type TabStorage, type TabWebSocket, type TabWebSocketClass } from '../src/index.js';
import { gatewayNode, pidJson, serverProcess, tabOf, ViewActor, watcherOn, type LogLines } from './helpers.js';

/** A kept view: its state is the lines it was shown; `render` answers with them. */
class KeptView extends Actor {
  shown: string[] = [];
  static calls: ((req: unknown) => void)[] = [];
  override init(state: string[]): void {
    this.shown = [...state];
  }
  override handleMessage(_from: PID, msg: unknown): void {
    this.shown.push(String(msg));
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    for (const c of KeptView.calls.splice(0)) c(req);
    if (req === 'hang') return undefined; // answered later: never, the page reloads first
    return `rendered:${String(req)}:${this.shown.join(',')}`;
  }
}

/** sessionStorage as a Map (what survives the simulated reload). */
class MemoryStorage implements TabStorage {
  readonly m = new Map<string, string>();
  getItem(k: string): string | null {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.m.set(k, v);
  }
  removeItem(k: string): void {
    this.m.delete(k);
  }
}

const keptSpec = { view: keep(KeptView, { initial: [], save: (v) => v.shown }) };
const esc = (s: string): string => s.replace(/[.$]/g, '\\$&');

async function reload(
  t: Parameters<typeof tabOf>[0],
  gw: Parameters<typeof tabOf>[1],
  lines: LogLines,
  old: TabNode,
  storage: TabStorage,
): Promise<TabNode> {
  await old.unload();
  await lines.waitFor(new RegExp(`tab ${esc(old.name)} away`), 'the gateway sees the old page gone');
  return tabOf(t, gw, 'good', { storage, keep: keptSpec });
}

test('a reload keeps a kept process: its PID, its state, its watchers; a process not kept ends with noconnection', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, { reconnectWindow: 30_000 });
  const srv = await serverProcess(t, g);
  const storage = new MemoryStorage();
  const first = await tabOf(t, gw, 'good', { storage, keep: keptSpec });
  const kept = first.kept.get('view')!;
  assert.ok(kept instanceof PID);
  const plain = await first.node.spawn(() => new ViewActor());
  const gKept = await watcherOn(g);
  await gKept.watch(kept);
  const gPlain = await watcherOn(g);
  await gPlain.watch(plain);
  assert.equal(await srv.ipc.value('watch', { pid: pidJson(kept) }), 'watching');
  assert.equal(await srv.ipc.value('watch', { pid: pidJson(plain) }), 'watching');
  await srv.ipc.value('send', { pid: pidJson(kept), text: 'a' });
  // The same path as the send (server node → gateway → tab): the call comes after it.
  assert.equal(await srv.ipc.value('call', { pid: pidJson(kept) }), 'rendered:from-server:a');

  await first.unload();
  await lines.waitFor(new RegExp(`tab ${esc(first.name)} away`), 'the gateway sees the old page gone');
  // Sent during the reload: held at the gateway for the kept process, in order.
  await srv.ipc.value('send', { pid: pidJson(kept), text: 'b1' });
  await srv.ipc.value('send', { pid: pidJson(kept), text: 'b2' });

  const second = await tabOf(t, gw, 'good', { storage, keep: keptSpec });
  assert.equal(second.name, first.name);
  assert.ok(second.kept.get('view')!.equals(kept), 'the same PID');
  assert.equal(await srv.ipc.value('call', { pid: pidJson(kept) }), 'rendered:from-server:a,b1,b2');
  assert.ok(second.node.processPID('view').equals(kept), 'the same registered name');
  // The process not kept: its watchers on both nodes heard noconnection; the kept one's nothing.
  const code = ErrNoConnection.code;
  await within(gPlain.seen.wait, 'the process not kept ends for its watcher', 20_000);
  assert.deepEqual([gPlain.seen.exits.map((x) => x.code), gPlain.seen.downs.map((x) => x.code)], [[code], [code]]);
  assert.deepEqual(await srv.ipc.value('downs'), {
    exits: [{ pid: first.name, code }],
    downs: [{ pid: first.name, code }],
  });
  assert.deepEqual([gKept.seen.exits, gKept.seen.downs], [[], []]);
  // New spawns never take an id of the old page.
  const fresh = await second.node.spawn(() => new ViewActor());
  assert.ok(fresh.id >= 2 ** 32 && fresh.creation === kept.creation, `a new id: ${fresh.id}`);

  // The watchers are in the new page's core: the kept process's end reaches them.
  second.node.kill(kept);
  await within(gKept.seen.wait, "the kept process's end, at its watcher on the gateway node", 20_000);
  const kill = TerminateReasonKill.code;
  assert.deepEqual([gKept.seen.exits.map((x) => x.code), gKept.seen.downs.map((x) => x.code)], [[kill], [kill]]);
  // On the server node too (its watcher records by node name, in order of arrival).
  const onSrv = (await srv.ipc.value('until', { n: 2 })) as { exits: { code: string }[]; downs: { code: string }[] };
  assert.deepEqual(
    onSrv.exits.map((x) => x.code),
    [code, kill],
  );
  assert.deepEqual(
    onSrv.downs.map((x) => x.code),
    [code, kill],
  );
});

test('a call the old page had taken fails with ERR_TAB_RELOADED; a page cannot claim a PID it did not keep', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, { reconnectWindow: 30_000 });
  const storage = new MemoryStorage();
  const first = await tabOf(t, gw, 'good', { storage, keep: keptSpec });
  const kept = first.kept.get('view')!;
  const plain = await first.node.spawn(() => new ViewActor());
  const taken = new Promise((r) => KeptView.calls.push(r));
  const pending = g.call(kept, 'hang', { timeout: 60_000 });
  assert.equal(await taken, 'hang');
  first.save();
  // The stored record now names the process not kept: the gateway must not hand that PID over.
  const key = 'ergo-ts-tab';
  const rec = JSON.parse(storage.getItem(key)!) as { procs: Record<string, { id: number }> };
  rec.procs.view!.id = plain.id;
  storage.setItem(key, JSON.stringify(rec));
  const second = await reload(t, gw, lines, first, new MemoryStorageFrom(storage));
  await assert.rejects(pending, { code: 'ERR_TAB_RELOADED' });
  await lines.waitFor(/reload claims .* which its page did not keep/, 'the refused claim logged');
  const view = second.kept.get('view')!;
  assert.ok(!view.equals(plain) && !view.equals(kept), `${view} is a new PID`);
  assert.ok(view.id >= 2 ** 32);
  await assert.rejects(g.call(plain, 'x'), (e: { code?: string }) => e.code !== undefined);
});

/** A copy of a storage (the old page's writes after its unload must not reach the new one). */
class MemoryStorageFrom extends MemoryStorage {
  constructor(from: MemoryStorage) {
    super();
    for (const [k, v] of from.m) this.m.set(k, v);
  }
}

/** Sends `kept` an important message when told to, and says how that send ended. */
class ImportantSender extends Actor {
  constructor(readonly outcome: (code: string) => void) {
    super();
  }
  override handleMessage(_from: PID, to: unknown): void {
    this.sendImportant(to as PID, 'lost with the page').then(
      () => this.outcome('delivered'),
      (e: unknown) => this.outcome(String((e as { code?: unknown }).code ?? e)),
    );
  }
}

/** A WebSocket class whose sockets stop reading once `deaf.on` (a page frozen before its unload). */
function deafWebSocket(deaf: { on: boolean; dropped(): void }): TabWebSocketClass {
  const Base = (globalThis as unknown as { WebSocket: TabWebSocketClass }).WebSocket;
  return class DeafSocket implements TabWebSocket {
    readonly inner: TabWebSocket;
    onopen: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    onclose: ((ev: unknown) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    constructor(url: string) {
      this.inner = new Base(url);
      this.inner.onopen = (ev) => this.onopen?.(ev);
      this.inner.onclose = (ev) => this.onclose?.(ev);
      this.inner.onerror = (ev) => this.onerror?.(ev);
      this.inner.onmessage = (ev) => (deaf.on ? deaf.dropped() : this.onmessage?.(ev));
    }
    get binaryType(): string {
      return this.inner.binaryType;
    }
    set binaryType(v: string) {
      this.inner.binaryType = v;
    }
    get readyState(): number {
      return this.inner.readyState;
    }
    get bufferedAmount(): number {
      return this.inner.bufferedAmount;
    }
    send(data: Uint8Array): void {
      this.inner.send(data);
    }
    close(code?: number, reason?: string): void {
      this.inner.close(code, reason);
    }
  };
}

test('an important send the old page got and never acknowledged fails with ERR_TAB_RELOADED at the reload', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, { reconnectWindow: 30_000 });
  const storage = new MemoryStorage();
  let dropped!: () => void;
  const reached = new Promise<void>((r) => (dropped = r));
  const deaf = { on: false, dropped: () => dropped() };
  const first = await tabOf(t, gw, 'good', { storage, keep: keptSpec, WebSocket: deafWebSocket(deaf) });
  const kept = first.kept.get('view')!;
  let outcome!: (code: string) => void;
  const ended = new Promise<string>((r) => (outcome = r));
  const sender = await g.spawn(() => new ImportantSender(outcome));
  deaf.on = true;
  g.send(sender, kept);
  await within(reached, 'the important send reached the old page, which never read it', 20_000);
  const second = await reload(t, gw, lines, first, storage);
  assert.ok(second.kept.get('view')!.equals(kept));
  assert.equal(await within(ended, 'the important send is answered at the reload', 20_000), 'ERR_TAB_RELOADED');
});
