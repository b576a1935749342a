// The gen `Connection` to a peer reached by tab frames: a tab's node sees every other node through
// one of these (posted into its WebSocket), the gateway sees each tab through one (posted into the
// tab's session), and another server node sees each tab through one (posted to the gateway's
// relay inside an ENP message). It turns what the engine asks into frames; answers to requests
// (link, monitor, important delivery) come back as Ack frames and settle the pending request.
// Remote spawn and application start are refused: tabs never take part in them.

import {
  ErrNoConnection,
  ErrUnsupported,
  type Alias,
  type ApplicationInfo,
  type Atom,
  type Connection,
  type Event,
  type EventFanOut,
  type MessageEvent,
  type MessageOptions,
  type PID,
  type ProcessID,
  type RemoteNode,
  type RemoteNodeInfo,
  type Version,
} from 'ergo-ts';
import { errorToWire, Op, type RelationKind } from './frame.js';

/** The version a frame connection reports for its peer. */
export const TAB_FRAME_VERSION: Version = { name: 'ergo-ts tab frames', release: '1', license: 'MIT' };

/**
 * What a FrameConnection does with a frame: write it (a socket, a session, a relay). `bytes`,
 * when given, is the frame already encoded (a publish to many tabs encodes its shared part once):
 * write those instead of encoding `frame` again.
 */
export type FramePost = (frame: unknown[], bytes?: Uint8Array) => void;

interface Pending {
  resolve(value: unknown): void;
  reject(e: Error): void;
}

/**
 * The Connection from node `local` to node `peer` over tab frames. `post` carries each frame;
 * it may throw (a full queue): the error reaches the operation's caller as a local send's would.
 * `onTerminate` runs once when the engine (or `terminate`) closes it.
 */
export class FrameConnection implements Connection {
  /** Requests waiting for their Ack, made at the first (an idle link has none). */
  #pending: Map<number, Pending> | null = null;
  #nextReq = 1;
  #closed: Error | null = null;
  readonly #since = Date.now();
  #remote: FrameRemoteNode | null = null;
  /** Frames posted and frames handled for this peer (the inbound side counts in). */
  messagesOut = 0;
  messagesIn = 0;

  readonly #post: FramePost | undefined;
  readonly #onTerminate: ((reason: Error) => void) | undefined;

  /**
   * `post` and `onTerminate` may be left out by a subclass that overrides {@link post} and
   * {@link ended} (a gateway's session: methods cost a tab nothing, closures ~0.1 KiB each).
   */
  constructor(
    readonly local: Atom,
    readonly peer: Atom,
    post?: FramePost,
    onTerminate?: (reason: Error) => void,
    readonly peerCreation = 0,
  ) {
    this.#post = post;
    this.#onTerminate = onTerminate;
  }

  /** Carries `frame` (see {@link FramePost}); it may throw (a full queue). */
  protected post(frame: unknown[], bytes?: Uint8Array): void {
    if (this.#post === undefined) throw ErrNoConnection.with(`${this.peer}: a frame connection with nowhere to post`);
    this.#post(frame, bytes);
  }

  /** Runs once, as the connection closes (its owner reports node down to the Core). */
  protected ended(reason: Error): void {
    this.#onTerminate?.(reason);
  }

  /** True once terminated (operations then fail with ErrNoConnection). */
  get closed(): boolean {
    return this.#closed !== null;
  }

  /** Requests waiting for their Ack. */
  get pendingCount(): number {
    return this.#pending?.size ?? 0;
  }

  node(): RemoteNode {
    return (this.#remote ??= new FrameRemoteNode(this));
  }

  #send(frame: unknown[], bytes?: Uint8Array): void {
    if (this.#closed !== null) throw ErrNoConnection.with(`${this.peer}: ${this.#closed.message}`);
    this.post(frame, bytes);
    this.messagesOut++;
  }

  /**
   * Posts a frame as an answer (an Ack, the failure of a call it could not deliver).
   * @throws ErrNoConnection once terminated; whatever `post` throws.
   */
  answer(frame: unknown[]): void {
    this.#send(frame);
  }

  /** A request id and the promise its Ack settles. */
  #request(): [number, Promise<unknown>] {
    const id = this.#nextReq++;
    const pending = (this.#pending ??= new Map());
    const p = new Promise<unknown>((resolve, reject) => pending.set(id, { resolve, reject }));
    return [id, p];
  }

  /** Posts `build(reqId)`; the promise settles with the Ack (or the post's own error). */
  #ask(build: (reqId: number) => unknown[]): Promise<unknown> {
    const [id, p] = this.#request();
    try {
      this.#send(build(id));
    } catch (e) {
      this.#pending?.delete(id);
      return Promise.reject(e as Error);
    }
    return p;
  }

  /** An Ack for request `reqId` arrived: `error` null resolves it (with `value`). */
  settle(reqId: number, error: Error | null, value: unknown): void {
    const p = this.#pending?.get(reqId);
    if (p === undefined) return;
    this.#pending!.delete(reqId);
    if (error === null) p.resolve(value);
    else p.reject(error);
  }

  /** The frame [op, local, peer, reqId, priority, from, to, ...tail], `tail` 1 to 3 values (no spread: it is every message's). */
  #frame(
    op: number,
    reqId: number,
    from: PID,
    to: unknown,
    o: MessageOptions,
    n: number,
    a: unknown,
    b: unknown,
    c: unknown,
  ): unknown[] {
    if (n === 1) return [op, this.local, this.peer, reqId, o.priority, from, to, a];
    if (n === 2) return [op, this.local, this.peer, reqId, o.priority, from, to, a, b];
    return [op, this.local, this.peer, reqId, o.priority, from, to, a, b, c];
  }

  #message(
    op: number,
    from: PID,
    to: unknown,
    o: MessageOptions,
    n: number,
    a: unknown,
    b?: unknown,
    c?: unknown,
  ): Promise<void> | void {
    if (!o.important) {
      this.#send(this.#frame(op, 0, from, to, o, n, a, b, c));
      return;
    }
    return this.#ask((id) => this.#frame(op, id, from, to, o, n, a, b, c)).then(() => undefined);
  }

  sendPID(from: PID, to: PID, o: MessageOptions, message: unknown): Promise<void> | void {
    return this.#message(Op.Send, from, to, o, 1, message);
  }
  sendProcessID(from: PID, to: ProcessID, o: MessageOptions, message: unknown): Promise<void> | void {
    return this.#message(Op.Send, from, to, o, 1, message);
  }
  sendAlias(from: PID, to: Alias, o: MessageOptions, message: unknown): Promise<void> | void {
    return this.#message(Op.Send, from, to, o, 1, message);
  }
  sendEvent(from: PID, _o: MessageOptions, m: MessageEvent, _shared?: EventFanOut): void {
    this.#send(this.eventFrame(from, m));
  }
  /** The Event frame of publish `m` by `from`, to the peer. */
  protected eventFrame(from: PID, m: MessageEvent): unknown[] {
    return [Op.Event, this.local, this.peer, from, m.event, m.timestamp, m.message];
  }
  /**
   * Posts `frame` already encoded as `bytes` (a subclass that encodes a publish once for many peers).
   * @throws ErrNoConnection once terminated; whatever `post` throws.
   */
  protected postEncoded(frame: unknown[], bytes: Uint8Array): void {
    this.#send(frame, bytes);
  }
  sendExit(from: PID, to: PID, reason: Error): void {
    this.#send([Op.Exit, this.local, this.peer, from, to, errorToWire(reason)]);
  }
  sendResponse(from: PID, to: PID, o: MessageOptions, response: unknown): Promise<void> | void {
    return this.#message(Op.Response, from, to, o, 3, o.ref, true, response);
  }
  sendResponseError(from: PID, to: PID, o: MessageOptions, error: Error): Promise<void> | void {
    return this.#message(Op.Response, from, to, o, 3, o.ref, false, errorToWire(error));
  }

  sendTerminatePID(target: PID, reason: Error): void {
    this.#terminated(target, reason);
  }
  sendTerminateProcessID(target: ProcessID, reason: Error): void {
    this.#terminated(target, reason);
  }
  sendTerminateAlias(target: Alias, reason: Error): void {
    this.#terminated(target, reason);
  }
  sendTerminateEvent(target: Event, reason: Error): void {
    this.#terminated(target, reason);
  }
  #terminated(target: unknown, reason: Error): void {
    // The engine tells every watcher's node as a target ends; a closed peer heard node down.
    if (this.#closed === null) this.#send([Op.Terminate, this.local, this.peer, target, errorToWire(reason)]);
  }

  callPID(from: PID, to: PID, o: MessageOptions, request: unknown): Promise<void> | void {
    return this.#message(Op.Call, from, to, o, 2, o.ref, request);
  }
  callProcessID(from: PID, to: ProcessID, o: MessageOptions, request: unknown): Promise<void> | void {
    return this.#message(Op.Call, from, to, o, 2, o.ref, request);
  }
  callAlias(from: PID, to: Alias, o: MessageOptions, request: unknown): Promise<void> | void {
    return this.#message(Op.Call, from, to, o, 2, o.ref, request);
  }

  #relate(kind: RelationKind, pid: PID, target: unknown): Promise<unknown> {
    return this.#ask((id) => [Op.Relation, this.local, this.peer, id, kind, pid, target]);
  }
  #unrelate(kind: RelationKind, pid: PID, target: unknown): void {
    if (this.#closed === null) this.#send([Op.Relation, this.local, this.peer, 0, kind, pid, target]);
  }

  linkPID(pid: PID, target: PID): Promise<void> {
    return this.#relate('link', pid, target).then(() => undefined);
  }
  unlinkPID(pid: PID, target: PID): void {
    this.#unrelate('unlink', pid, target);
  }
  linkProcessID(pid: PID, target: ProcessID): Promise<void> {
    return this.#relate('link', pid, target).then(() => undefined);
  }
  unlinkProcessID(pid: PID, target: ProcessID): void {
    this.#unrelate('unlink', pid, target);
  }
  linkAlias(pid: PID, target: Alias): Promise<void> {
    return this.#relate('link', pid, target).then(() => undefined);
  }
  unlinkAlias(pid: PID, target: Alias): void {
    this.#unrelate('unlink', pid, target);
  }
  linkEvent(pid: PID, target: Event): Promise<MessageEvent[]> {
    return this.#relate('link', pid, target) as Promise<MessageEvent[]>;
  }
  unlinkEvent(pid: PID, target: Event): void {
    this.#unrelate('unlink', pid, target);
  }
  monitorPID(pid: PID, target: PID): Promise<void> {
    return this.#relate('monitor', pid, target).then(() => undefined);
  }
  demonitorPID(pid: PID, target: PID): void {
    this.#unrelate('demonitor', pid, target);
  }
  monitorProcessID(pid: PID, target: ProcessID): Promise<void> {
    return this.#relate('monitor', pid, target).then(() => undefined);
  }
  demonitorProcessID(pid: PID, target: ProcessID): void {
    this.#unrelate('demonitor', pid, target);
  }
  monitorAlias(pid: PID, target: Alias): Promise<void> {
    return this.#relate('monitor', pid, target).then(() => undefined);
  }
  demonitorAlias(pid: PID, target: Alias): void {
    this.#unrelate('demonitor', pid, target);
  }
  monitorEvent(pid: PID, target: Event): Promise<MessageEvent[]> {
    return this.#relate('monitor', pid, target) as Promise<MessageEvent[]>;
  }
  demonitorEvent(pid: PID, target: Event): void {
    this.#unrelate('demonitor', pid, target);
  }

  remoteSpawn(): Promise<PID> {
    return Promise.reject(ErrUnsupported.with(`remote spawn over a tab link (${this.peer})`));
  }
  remoteApplicationStart(): Promise<void> {
    return Promise.reject(ErrUnsupported.with(`application start over a tab link (${this.peer})`));
  }
  join(): void {
    throw ErrUnsupported.with('a tab link has no socket pool');
  }

  /**
   * Closes the connection (idempotent): pending requests fail with `reason`, later operations
   * with ErrNoConnection, and `onTerminate` runs (its owner reports node down to the Core).
   */
  terminate(reason: Error): void {
    if (this.#closed !== null) return;
    this.#closed = reason;
    const pending = this.#pending;
    this.#pending = null;
    if (pending !== null) for (const p of pending.values()) p.reject(reason);
    this.ended(reason);
  }

  /** Facts for `RemoteNode.info()`. */
  info(): RemoteNodeInfo {
    return {
      node: this.peer,
      uptime: 0,
      connectionUptime: Math.floor((Date.now() - this.#since) / 1000),
      version: TAB_FRAME_VERSION,
      handshakeVersion: TAB_FRAME_VERSION,
      protoVersion: TAB_FRAME_VERSION,
      networkFlags: {
        enable: true,
        enableRemoteSpawn: false,
        enableRemoteApplicationStart: false,
        enableFragmentation: false,
        enableProxyTransit: false,
        enableProxyAccept: false,
        enableImportantDelivery: true,
      },
      poolSize: 1,
      poolDSN: [],
      maxMessageSize: 0,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: 0,
      bytesOut: 0,
      transitBytesIn: 0,
      transitBytesOut: 0,
    };
  }
}

/** The RemoteNode of a frame connection: facts, and refusals for what tabs never do. */
class FrameRemoteNode implements RemoteNode {
  constructor(private readonly c: FrameConnection) {}
  name(): Atom {
    return this.c.peer;
  }
  uptime(): number {
    return 0;
  }
  connectionUptime(): number {
    return this.c.info().connectionUptime;
  }
  version(): Version {
    return TAB_FRAME_VERSION;
  }
  info(): RemoteNodeInfo {
    return this.c.info();
  }
  creation(): number {
    return this.c.peerCreation;
  }
  spawn(): Promise<PID> {
    return this.c.remoteSpawn();
  }
  spawnRegister(): Promise<PID> {
    return this.c.remoteSpawn();
  }
  applicationStart(): Promise<void> {
    return this.c.remoteApplicationStart();
  }
  applicationStartTemporary(): Promise<void> {
    return this.c.remoteApplicationStart();
  }
  applicationStartTransient(): Promise<void> {
    return this.c.remoteApplicationStart();
  }
  applicationStartPermanent(): Promise<void> {
    return this.c.remoteApplicationStart();
  }
  applicationInfo(): Promise<ApplicationInfo> {
    return Promise.reject(ErrUnsupported.with(`application info over a tab link (${this.c.peer})`));
  }
  disconnect(): void {
    this.c.terminate(ErrNoConnection.with(`disconnected from ${this.c.peer}`));
  }
}
