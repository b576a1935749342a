// The light tab: a page that only calls, sends to and hears from server processes joins the
// gateway without a node. It speaks the same frames and the same hello / welcome as the full tab
// (it dials with the full tab's GatewaySocket: the same grant, limits, refusal of a frame above
// maxFrameBytes at the tab, redial with backoff within the reconnect window, resume), and answers
// the frames a node would (Acks, error Responses, Terminate to the watchers of a mailbox that
// closed) and the gateway's inspector (`tab_inspect`: its mailboxes), so the gateway serves it as
// any tab. What it has instead of processes is mailboxes:
// PIDs of the tab's node whose messages and calls go to callbacks. No scheduler, behaviours,
// supervisor or node runtime: its bundle (dist/browser/light.js) is the codec, the socket and
// this file, under its own budget (scripts/bundle-browser.mjs).

import {
  Alias,
  CallFailure,
  ErrIncorrect,
  ErrNoConnection,
  ErrProcessUnknown,
  ErrTimeout,
  ErrUnsupported,
  Event,
  PID,
  ProcessID,
  Ref,
  TerminateReasonNormal,
  type ErgoError,
} from 'ergo-ts';
import { Ctl, ErrTabSessionEnded, errorFromWire, errorToWire, Op, type Frame } from '../frame.js';
import { GatewaySocket, readDial, timerMs, type Welcome } from '../tab/socket.js';
import { callDeadlines } from './call_deadlines.js';
import type {
  JoinLightOptions,
  LightMailbox,
  LightSubscription,
  LightTab,
  LightTarget,
  LightWatch,
  MailboxHandlers,
} from './types.js';

/** The ids of one page incarnation (a reload that keeps the session): as the full tab's node. */
const INCARNATION_IDS = 2 ** 32;
/** Default timeout of a light tab's calls (ms): the core's DEFAULT_REQUEST_TIMEOUT. */
const DEFAULT_TIMEOUT = 5000;
/** The name the gateway's inspector calls on every tab node (tab/inspect.ts' TAB_INSPECT). */
const TAB_INSPECT = 'tab_inspect';

interface Waiter {
  resolve(v: unknown): void;
  reject(e: Error): void;
  /** The node it waits on (its node going fails it). */
  node: string;
  /** A call's: its target and timeout (its deadline is in the hub's CallDeadlines). */
  to?: LightTarget;
  timeoutMs?: number;
}

/** A monitor, link or event subscription of a mailbox on a server target. */
interface Watch {
  box: Box;
  target: PID | ProcessID | Event;
  kind: 'monitor' | 'link';
  /** Called once, when the target ends (then the watch is gone). */
  end(reason: Error): void;
  event?: (message: unknown, from: PID | undefined) => void;
}

/**
 * Joins the gateway at `url` with `token` as a light tab. Rejects with the gateway's coded
 * refusal (ERR_TAB_ADMISSION...) or the socket's failure; nothing is left open then.
 */
export async function joinLight<P = unknown>(options: JoinLightOptions<P>): Promise<LightTab<P>> {
  const d = readDial('joinLight', options);
  // Each call's own timeout is checked as it is made; the default is checked here, before a dial.
  if (options.timeout !== undefined) timerMs('joinLight timeout', options.timeout, 1);
  const key = options.storageKey ?? 'ergo-ts-light-tab';
  const stored = readStored(options.storage?.getItem(key) ?? null);
  const resume = options.resume ?? stored?.resume ?? '';
  const [secret = '', created = '0'] = resume.split('.');
  // With storage, a resume is a reload that keeps the session and claims the kept mailboxes' PIDs.
  const mine = stored?.resume === resume ? stored : null;
  const claims =
    options.storage !== undefined && secret !== ''
      ? Object.values(mine?.kept ?? {})
          .filter((id) => Number.isSafeInteger(id) && id > 0)
          .map((id) => new PID(mine!.node, id, Number(created)))
      : undefined;
  const early: Frame[] = [];
  const dial = async (s: string, claims?: unknown[]): Promise<[GatewaySocket, Welcome]> => {
    const socket = new GatewaySocket(d, s, claims);
    socket.handlers = { frame: (f) => early.push(f), connected: () => undefined, ended: () => undefined };
    return [socket, await socket.open()];
  };
  let socket: GatewaySocket;
  let welcome: Welcome;
  try {
    [socket, welcome] = await dial(secret, claims);
  } catch (e) {
    // A session already ended (its window passed): this tab joins as a new one.
    if (secret === '' || (e as { code?: unknown }).code !== ErrTabSessionEnded.code) throw e;
    [socket, welcome] = await dial('');
  }
  // The session goes on: the old creation, ids above the old page's. A fresh page under the old
  // name: a later creation, so no PID of the old page names a mailbox of this one.
  const old = Number(created) || 0;
  const now = Math.floor(Date.now() / 1000);
  const creation = welcome.incarnation > 0 ? old : Math.max(now, old + 1);
  const hub = new Hub(socket, welcome, creation, options, welcome.incarnation * INCARNATION_IDS || 1000);
  const tab = new Tab(hub, options.receive ?? {});
  // The kept mailboxes, before any frame: the gateway put back the PIDs it accepted (and replays
  // the relations others hold on them, then the mail held for them, right after its welcome).
  const back = new Set(welcome.kept.map((p) => (p instanceof PID ? p.id : 0)));
  for (const [name, handlers] of Object.entries(options.keep ?? {})) {
    const id = mine?.kept[name];
    const box = new Box(
      hub,
      handlers as MailboxHandlers<never>,
      name,
      id !== undefined && back.has(id) ? id : undefined,
    );
    box.keep(true);
    hub.kept.set(name, box);
  }
  hub.save = () =>
    options.storage?.setItem(
      key,
      JSON.stringify({
        resume: tab.resume,
        node: hub.name,
        kept: Object.fromEntries([...hub.kept].map(([n, b]) => [n, b.pid.id])),
      } satisfies StoredLight),
    );
  hub.save();
  hub.leaveStorage = () => options.storage?.removeItem(key);
  for (const f of early) hub.frame(f);
  return tab as LightTab<P>;
}

/** What a page keeps under its storage key: the resume and the kept mailboxes' PID ids by name. */
interface StoredLight {
  resume: string;
  node: string;
  kept: Record<string, number>;
}

function readStored(text: string | null): StoredLight | null {
  try {
    const v = JSON.parse(text ?? 'null') as StoredLight | null;
    return typeof v?.resume === 'string' && typeof v.node === 'string' && typeof v.kept === 'object' ? v : null;
  } catch {
    return null; // not ours: nothing stored
  }
}

/** One light tab's session: its socket, mailboxes, requests and watches. */
class Hub {
  readonly name: string;
  readonly gateway: string;
  readonly boxes = new Map<number, Box>();
  readonly named = new Map<string, Box>();
  readonly #acks = new Map<number, Waiter>();
  readonly #calls = new Map<number, Waiter>();
  readonly #deadlines = callDeadlines(
    (id) => this.#calls.has(id),
    (id) => this.#settle(this.#calls, id, ErrTimeout.with(`call to ${String(this.#calls.get(id)?.to)}`)),
  );
  readonly watches = new Set<Watch>();
  readonly #subs = new Map<string, Set<Watch>>();
  #waiters: (() => void)[] = [];
  #seq = 0;
  #ended = false;
  readonly ended: Promise<Error>;
  #endedResolve!: (e: Error) => void;
  leaveStorage = (): void => undefined;
  /** Writes the tab to its storage (no storage: nothing). */
  save = (): void => undefined;
  /** The kept mailboxes by name. */
  readonly kept = new Map<string, Box>();

  constructor(
    readonly socket: GatewaySocket,
    welcome: Welcome,
    readonly creation: number,
    readonly options: JoinLightOptions<never>,
    public nextId: number,
  ) {
    this.name = welcome.name;
    this.gateway = welcome.gateway;
    this.ended = new Promise<Error>((r) => (this.#endedResolve = r));
    socket.handlers = {
      frame: (f) => this.frame(f),
      connected: (up) => {
        if (up) for (const w of this.#waiters.splice(0)) w();
      },
      ended: (reason) => this.#end(reason),
    };
  }

  whenConnected(): Promise<void> {
    return this.socket.connected ? Promise.resolve() : new Promise<void>((r) => this.#waiters.push(r));
  }

  /** Writes `f`. @throws what the socket throws (ended, queue full, frame too big, a value it cannot carry). */
  post(f: unknown[]): void {
    this.socket.send(f);
  }

  /** Posts a request frame built with its id; resolves with the Ack's value. */
  ask(node: string, build: (id: number) => unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = ++this.#seq;
      this.post(build(id));
      this.#acks.set(id, { resolve, reject, node });
    });
  }

  call(
    box: Box,
    to: LightTarget,
    request: unknown,
    timeoutMs = this.options.timeout ?? DEFAULT_TIMEOUT,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      target(to);
      timerMs('call timeout', timeoutMs, 1);
      const seq = ++this.#seq;
      const ref = new Ref(this.name, this.creation, [seq, 0, Math.ceil((Date.now() + timeoutMs) / 1000)]);
      this.post([Op.Call, this.name, to.node, 0, 0, box.pid, to, ref, request]);
      this.#calls.set(seq, { resolve, reject, node: to.node, to, timeoutMs });
      this.#deadlines.add(seq, timeoutMs);
    });
  }

  send(box: Box, to: LightTarget, message: unknown, important: boolean): Promise<void> | void {
    target(to);
    if (!important) return this.post([Op.Send, this.name, to.node, 0, 0, box.pid, to, message]);
    return this.ask(to.node, (id) => [Op.Send, this.name, to.node, id, 0, box.pid, to, message]).then(() => undefined);
  }

  async watch(
    box: Box,
    t: PID | ProcessID | Event,
    kind: Watch['kind'],
    end: (reason: Error) => void,
    event?: Watch['event'],
  ): Promise<Watch> {
    if (!(t instanceof PID || t instanceof ProcessID || t instanceof Event))
      throw ErrIncorrect.with('a watch of something not a PID, ProcessID or Event');
    const w: Watch = { box, target: t, kind, end, event };
    const buffered = await this.ask(t.node, (id) => [Op.Relation, this.name, t.node, id, kind, box.pid, t]);
    if (box.closed || this.#ended) {
      this.unwatch(w);
      throw ErrNoConnection.with('the mailbox closed');
    }
    this.watches.add(w);
    if (kind === 'link') box.watchers.add(t.node);
    if (t instanceof Event) {
      let s = this.#subs.get(t.key);
      if (s === undefined) this.#subs.set(t.key, (s = new Set()));
      s.add(w);
      // The event's buffer, as the Ack carries it: [event, timestamp, message][] (no publisher).
      if (Array.isArray(buffered)) for (const b of buffered as unknown[][]) event?.(b[2], undefined);
    }
    return w;
  }

  /** Ends watch `w` where it lives (the Relation's undoing; nothing is waited for). */
  unwatch(w: Watch): void {
    this.#forget(w);
    if (this.#ended) return;
    try {
      this.post([
        Op.Relation,
        this.name,
        w.target.node,
        0,
        w.kind === 'link' ? 'unlink' : 'demonitor',
        w.box.pid,
        w.target,
      ]);
    } catch {
      // The session ended or its queue is full: the gateway drops the relation with the session.
    }
  }

  #forget(w: Watch): boolean {
    if (!this.watches.delete(w)) return false;
    if (w.target instanceof Event) this.#subs.get(w.target.key)?.delete(w);
    return true;
  }

  /** Fires the watches `match` selects with `reason`. */
  #fire(match: (w: Watch) => boolean, reason: Error): void {
    for (const w of [...this.watches]) if (match(w) && this.#forget(w)) w.end(reason);
  }

  #settle(map: Map<number, Waiter>, id: number, error: Error | null, value?: unknown): void {
    const w = map.get(id);
    if (w === undefined) return;
    map.delete(id);
    if (w.timeoutMs !== undefined) this.#deadlines.answered(w.timeoutMs);
    if (error === null) w.resolve(value);
    else w.reject(error);
  }

  /** Fails every request waiting on `node` (every one: undefined) with `reason`. */
  #failWaiting(reason: Error, node?: string): void {
    for (const map of [this.#acks, this.#calls])
      for (const [id, w] of [...map]) if (node === undefined || w.node === node) this.#settle(map, id, reason);
  }

  #box(to: unknown): Box | undefined {
    if (to instanceof PID) {
      const b = this.boxes.get(to.id);
      return b !== undefined && b.pid.equals(to) ? b : undefined;
    }
    return to instanceof ProcessID && to.node === this.name ? this.named.get(to.name) : undefined;
  }

  #ack(src: string, id: unknown, error: Error | null): void {
    if (typeof id === 'number' && id > 0)
      this.post([Op.Ack, this.name, src, id, error === null ? null : errorToWire(error), null]);
  }

  /** A frame from the gateway. Never throws (a frame it cannot apply is dropped). */
  frame(f: Frame): void {
    try {
      if (f[0] === Ctl.Refusal) return this.#refusal(f);
      if (f[0] >= Ctl.Hello || f[2] !== this.name) return;
      this.#apply(f, f[1] as string);
    } catch (e) {
      // A mailbox callback threw, or the session ended meanwhile: the page's console says it.
      console.error(`tab ${this.name}: frame ${f[0]} from the gateway:`, e);
    }
  }

  #apply(f: Frame, src: string): void {
    switch (f[0]) {
      case Op.Send: {
        const box = this.#box(f[6]);
        this.#ack(src, f[3], box === undefined ? ErrProcessUnknown : null);
        if (box === undefined || !(f[5] instanceof PID)) return;
        box.in++;
        box.handlers.message?.(f[5], f[7] as never);
        return;
      }
      case Op.Call: {
        const [, , , id, , from, to, ref, request] = f;
        if (!(from instanceof PID) || !(ref instanceof Ref)) return;
        const box = this.#box(to);
        this.#ack(src, id, box === undefined ? ErrProcessUnknown : null);
        // Important: the Ack said it. Plain: the caller learns it from an error response.
        if (box === undefined && id !== 0) return;
        const me = box?.pid ?? new PID(this.name, 1, this.creation);
        const answer = (ok: boolean, v: unknown): void => {
          try {
            this.post([Op.Response, this.name, src, 0, 0, me, from, ref, ok, ok ? v : errorToWire(v)]);
          } catch (e) {
            // A reply the codec cannot carry (or above maxFrameBytes): the caller gets its code.
            if (ok) answer(false, e);
          }
        };
        // The gateway's inspector (the Observer's Tabs page) asks `tab_inspect`: the mailboxes answer.
        if (box === undefined && to instanceof ProcessID && to.name === TAB_INSPECT)
          return answer(true, this.#inspect(request));
        const h = box?.handlers.call;
        if (h === undefined) return answer(false, box === undefined ? ErrProcessUnknown : ErrUnsupported);
        box!.in++;
        new Promise((r) => r(h.call(box!.handlers, from, request as never))).then(
          (v) => answer(true, v),
          (e: unknown) => answer(false, e),
        );
        return;
      }
      case Op.Response: {
        const ref = f[7];
        this.#ack(src, f[3], null);
        if (!(ref instanceof Ref) || ref.node !== this.name) return;
        const v = f[9];
        if (f[8] !== true) this.#settle(this.#calls, ref.id[0], errorFromWire(v));
        else if (v instanceof CallFailure) this.#settle(this.#calls, ref.id[0], v);
        else this.#settle(this.#calls, ref.id[0], null, v);
        return;
      }
      case Op.Exit: {
        const box = this.#box(f[4]);
        if (box !== undefined && f[3] instanceof PID) box.handlers.exit?.(f[3], errorFromWire(f[5]));
        return;
      }
      case Op.Event: {
        const ev = f[4];
        if (!(ev instanceof Event) || !(f[3] instanceof PID)) return;
        for (const w of [...(this.#subs.get(ev.key) ?? [])]) w.event?.(f[6], f[3]);
        return;
      }
      case Op.Relation: {
        // A server process links to or monitors a mailbox: its node hears of the mailbox's end.
        const box = this.#box(f[6]);
        if (box !== undefined && (f[4] === 'link' || f[4] === 'monitor')) box.watchers.add(src);
        this.#ack(src, f[3], box === undefined && (f[4] === 'link' || f[4] === 'monitor') ? ErrProcessUnknown : null);
        return;
      }
      case Op.Terminate: {
        const t = f[3];
        const reason = errorFromWire(f[4]);
        this.#fire((w) => typeof w.target.equals === 'function' && w.target.equals(t), reason);
        return;
      }
      case Op.Ack:
        this.#settle(
          this.#acks,
          f[3] as number,
          f[4] === null || f[4] === undefined ? null : errorFromWire(f[4]),
          f[5],
        );
        return;
      case Op.NodeDown: {
        const node = String(f[3]);
        const reason = errorFromWire(f[4]);
        this.#failWaiting(reason, node);
        this.#fire((w) => w.target.node === node, reason);
        for (const b of this.boxes.values()) b.watchers.delete(node);
        return;
      }
    }
  }

  /**
   * The answer to the gateway's inspector (tab/inspect.ts' requests): the mailboxes as its
   * process rows (a mailbox's `behavior` is `mailbox`), one with its links and monitors.
   */
  #inspect(request: unknown): unknown {
    const r = request as { op?: unknown; id?: unknown; limit?: unknown } | null;
    const row = (b: Box) => ({
      id: b.pid.id,
      pid: b.pid.toString(),
      name: b.regName ?? '',
      behavior: 'mailbox',
      state: 'sleep',
      messagesIn: b.in,
      messagesOut: b.out,
      uptime: Math.floor((Date.now() - b.since) / 1000),
    });
    if (r?.op === 'process') {
      const b = this.boxes.get(Number(r.id));
      if (b === undefined) return null;
      const mine = [...this.watches].filter((w) => w.box === b);
      const of = (kind: Watch['kind']) => mine.filter((w) => w.kind === kind).map((w) => String(w.target));
      return {
        ...row(b),
        links: of('link'),
        monitors: of('monitor'),
        inspect: { watchedFrom: [...b.watchers].join(' ') },
      };
    }
    const limit = typeof r?.limit === 'number' ? r.limit : 100;
    return { node: this.name, total: this.boxes.size, processes: [...this.boxes.values()].slice(0, limit).map(row) };
  }

  #refusal(f: Frame): void {
    const err = errorFromWire(f[3]) as ErgoError;
    // A request's id (from 1; 0 for none): the Ack it waits for is this refusal.
    const id = f[2] as number;
    if (this.#acks.has(id)) return this.#settle(this.#acks, id, err);
    const ref = f[6];
    if (ref instanceof Ref && ref.node === this.name && this.#calls.has(ref.id[0]))
      return this.#settle(this.#calls, ref.id[0], err);
    // A run of plain frames refused alike comes as one frame with their count (frame.ts: Refusal).
    const what = String(f[4]);
    for (let n = Number(f[7]) || 1; n > 0; n--)
      if (this.options.onRefusal !== undefined) this.options.onRefusal(err, what);
      else console.warn(`tab ${this.name}: ${what} refused by the gateway: ${err.message}`);
  }

  #end(reason: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failWaiting(ErrNoConnection);
    this.#deadlines.stop();
    this.#fire(() => true, ErrNoConnection);
    this.#endedResolve(reason);
    this.options.onEnded?.(reason);
  }

  leave(): void {
    this.leaveStorage();
    this.socket.close();
    this.#end(ErrTabSessionEnded.with('the tab left its gateway'));
  }

  unload(): void {
    this.socket.unload();
    this.#end(ErrTabSessionEnded.with('the page unloaded'));
  }

  /** A mailbox closed: every node that watches it hears it ended. */
  closed(box: Box, reason: Error): void {
    this.boxes.delete(box.pid.id);
    if (box.regName !== undefined) this.named.delete(box.regName);
    if (box.regName !== undefined && this.kept.get(box.regName) === box) {
      this.kept.delete(box.regName);
      box.keep(false);
      this.save();
    }
    for (const w of [...this.watches]) if (w.box === box) this.unwatch(w);
    if (this.#ended) return;
    for (const node of box.watchers)
      try {
        this.post([Op.Terminate, this.name, node, box.pid, errorToWire(reason)]);
      } catch {
        // The session is going: its end tells the watchers (noconnection).
      }
  }
}

/** @throws ErrIncorrect for an address a light tab cannot send to or call. */
function target(to: unknown): asserts to is LightTarget {
  if (!(to instanceof PID || to instanceof ProcessID || to instanceof Alias))
    throw ErrIncorrect.with('a light tab sends to and calls a PID, ProcessID or Alias');
}

/** A mailbox: a PID of the tab's node and its callbacks. */
class Box implements LightMailbox {
  readonly pid: PID;
  /** Nodes that link to or monitor this mailbox (and those it links to). */
  readonly watchers = new Set<string>();
  closed = false;
  /** Messages and calls it got and sent, and when it was made (for the gateway's inspector). */
  in = 0;
  out = 0;
  readonly since = Date.now();

  constructor(
    readonly hub: Hub,
    readonly handlers: MailboxHandlers<never>,
    readonly regName?: string,
    id?: number,
  ) {
    if (regName !== undefined && hub.named.has(regName)) throw ErrIncorrect.with(`a mailbox named ${regName} exists`);
    this.pid = new PID(hub.name, id ?? ++hub.nextId, hub.creation);
    hub.boxes.set(this.pid.id, this);
    if (regName !== undefined) hub.named.set(regName, this);
  }

  send(to: LightTarget, message: unknown, options?: { important?: boolean }): never {
    const r = this.hub.send(this, to, message, options?.important === true);
    this.out++;
    return r as never;
  }

  call(to: LightTarget, request: unknown, timeoutMs?: number): never {
    this.out++;
    return this.hub.call(this, to, request, timeoutMs) as never;
  }

  monitor(t: PID | ProcessID, onDown: (reason: Error) => void): Promise<LightWatch> {
    return this.#watch(t, 'monitor', onDown);
  }

  link(t: PID | ProcessID, onExit: (reason: Error) => void): Promise<LightWatch> {
    return this.#watch(t, 'link', onExit);
  }

  async #watch(t: PID | ProcessID | Event, kind: Watch['kind'], end: (r: Error) => void, ev?: Watch['event']) {
    const w = await this.hub.watch(this, t, kind, end, ev);
    return { cancel: () => this.hub.unwatch(w) };
  }

  subscribe(
    event: Event,
    onEvent: (m: never, from: PID | undefined) => void,
    onEnd?: (r: Error) => void,
  ): Promise<LightSubscription> {
    return this.#watch(event, 'monitor', onEnd ?? (() => undefined), onEvent as Watch['event']);
  }

  /** Tells the gateway this mailbox is kept across a reload (or no more). */
  keep(kept: boolean): void {
    try {
      this.hub.post([Ctl.Keep, this.pid, kept, this.regName]);
    } catch {
      // The session ended: nothing to keep.
    }
  }

  close(reason: Error = TerminateReasonNormal): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.closed(this, reason);
  }
}

/** The joined tab: its own mailbox and its session. */
class Tab extends Box implements LightTab {
  get name(): string {
    return this.hub.name;
  }
  get gateway(): string {
    return this.hub.gateway;
  }
  get resume(): string {
    return `${this.hub.socket.secret}.${this.hub.creation}`;
  }
  get connected(): boolean {
    return this.hub.socket.connected;
  }
  get ended(): Promise<Error> {
    return this.hub.ended;
  }
  get kept(): ReadonlyMap<string, LightMailbox> {
    return this.hub.kept;
  }
  mailbox(handlers: MailboxHandlers<never>, name?: string): never {
    return new Box(this.hub, handlers, name) as never;
  }
  dropConnection(): void {
    this.hub.socket.drop();
  }
  whenConnected(): Promise<void> {
    return this.hub.whenConnected();
  }
  unload(): void {
    this.hub.unload();
  }
  leave(): void {
    this.hub.leave();
  }
}
