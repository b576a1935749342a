// The connection the router gets while the network is still dialling a node: it records every
// operation and replays them in order on the real connection once the handshake is done. The
// queue is bounded by `dialQueueLimit` operations and by the peer's byte bound (`peerBufferLimit`,
// the operations' sizes estimated: estimate.ts), so a peer that is paused, declared down or
// reconnecting costs the sender no more than a live connection does; past either bound a send,
// call or response is refused at once. If the node cannot be reached, operations that return a
// promise reject with the dial error, calls fail with it too, and plain sends are dropped and
// counted (undelivered.ts: one summary warning per peer per interval); the node goes down in the
// Core. A replayed operation the real connection refuses (peer busy, too large, not encodable...)
// fails the same way at once — a call to its caller, an important send to its sender, a plain
// send counted — so nothing accepted is lost without a word.

import type { Atom } from '../../gen/atom.js';
import type { RemoteApplicationStart, RemoteSpawnRequest } from '../../gen/core.js';
import { ErgoError, ErrNoConnection, toError } from '../../gen/errors.js';
import type { Event } from '../../gen/event.js';
import type { Log } from '../../gen/log.js';
import type { MessageEvent } from '../../gen/messages.js';
import type { Connection, NetworkDial, NetworkSocket, RemoteNode } from '../../gen/network.js';
import type { MessageOptions } from '../../gen/options.js';
import type { PID } from '../../gen/pid.js';
import type { ProcessID } from '../../gen/processid.js';
import type { Alias } from '../../gen/ref.js';
import { ErrPeerBusy } from '../proto/flow.js';
import { estimateOperation } from './estimate.js';

/** Default bound of the operations queued for one node while it is being dialled. */
export const DEFAULT_DIAL_QUEUE_LIMIT = 10_000;

/** Code of the error a send gets when the dial queue of its node is full. */
export const ErrDialQueueFull = new ErgoError('ERR_DIAL_QUEUE_FULL', 'dial queue full');

/** Where a PendingConnection reports plain sends it dropped (Undelivered.dropped). */
export type DroppedSends = (peer: Atom, sends: number, reason: string) => void;

type Method = keyof Connection;

interface Op {
  method: Method;
  args: unknown[];
  resolve: ((v: unknown) => void) | null;
  reject: ((e: Error) => void) | null;
}

/** Operations that carry a user packet (sends, calls, responses, events): what the byte bound refuses. */
const USER_OPS = new Set<Method>([
  'sendPID',
  'sendProcessID',
  'sendAlias',
  'sendEvent',
  'sendResponse',
  'sendResponseError',
  'callPID',
  'callProcessID',
  'callAlias',
]);

/** Plain operations whose drop is a lost message (the others are protocol: links, exits...). */
const isPlainSend = (m: Method): boolean => m.startsWith('send') && !m.startsWith('sendTerminate') && m !== 'sendExit';

/**
 * A connection being set up. Lifecycle: created when the first operation for a node arrives;
 * {@link PendingConnection.ready} replays the queue on the real connection;
 * {@link PendingConnection.fail} rejects it. Either happens once.
 */
export class PendingConnection implements Connection {
  private queue: Op[] = [];
  /** Estimated bytes of the user packets queued (estimate.ts). */
  private bytes = 0;

  constructor(
    readonly peer: Atom,
    private readonly limit: number,
    private readonly log: Log,
    /**
     * Fails a call whose replay threw: settles the caller's pending call (`options.ref`) with
     * `err` (the Core's `routeSendResponse(..., ok = false)`).
     */
    private readonly failCall: (caller: PID, options: MessageOptions, err: Error) => void,
    /** The peer's byte bound (NetworkOptions.peerBufferLimit). */
    private readonly byteLimit: number = Number.MAX_SAFE_INTEGER,
    /** Counts the plain sends dropped (undelivered.ts); without it, they are logged as before. */
    private readonly dropped: DroppedSends | null = null,
  ) {}

  /** Operations waiting. */
  get size(): number {
    return this.queue.length;
  }

  /** Estimated bytes of the user packets waiting: at most the byte bound plus one packet. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Queues an operation that returns nothing (a send without an ack). */
  private pushPlain(method: Method, args: unknown[]): void {
    this.checkRoom(method, args);
    this.queue.push({ method, args, resolve: null, reject: null });
  }

  /** Queues an operation; with `promise`, returns the Promise its replay settles. */
  private push(method: Method, args: unknown[], promise: boolean): Promise<never> | undefined {
    if (!promise) {
      this.pushPlain(method, args);
      return undefined;
    }
    this.checkRoom(method, args);
    return new Promise<never>((resolve, reject) => {
      this.queue.push({ method, args, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private checkRoom(method: Method, args: unknown[]): void {
    if (this.queue.length >= this.limit) {
      throw new ErgoError(
        ErrDialQueueFull.code,
        `${this.queue.length} operations wait for the connection to ${this.peer} (dialQueueLimit)`,
      );
    }
    if (!USER_OPS.has(method)) return;
    const size = estimateOperation(args);
    // As on a live connection: one packet larger than the bound still goes when no other waits.
    if (this.bytes > 0 && this.bytes + size > this.byteLimit) {
      throw ErrPeerBusy.with(
        `${this.peer} is being connected and ${this.bytes} bytes wait for it (peerBufferLimit ${this.byteLimit}): the packet was not sent`,
      );
    }
    this.bytes += size;
  }

  /** Replays every queued operation on `conn`, in order. */
  ready(conn: Connection): void {
    const q = this.queue;
    this.queue = [];
    this.bytes = 0;
    let dropped = 0;
    let why = '';
    for (const op of q) {
      try {
        const r = (conn[op.method] as (...a: unknown[]) => unknown)(...op.args);
        if (op.resolve !== null) {
          if (r instanceof Promise) r.then(op.resolve, op.reject!);
          else op.resolve(r);
        }
      } catch (e) {
        const err = toError(e);
        if (op.reject !== null) op.reject(err);
        else if (op.method.startsWith('call')) this.failQueuedCall(op, err);
        else if (this.dropped !== null && isPlainSend(op.method)) {
          dropped++;
          why = err.message;
        } else this.log.warning('%s to %s after connecting failed: %s', op.method, this.peer, err.message);
      }
    }
    if (dropped > 0) this.dropped!(this.peer, dropped, `refused when replayed after connecting: ${why}`);
  }

  /** A replayed call threw: its caller gets the error now (args: from, to, options, request). */
  private failQueuedCall(op: Op, err: Error): void {
    try {
      this.failCall(op.args[0] as PID, op.args[2] as MessageOptions, err);
    } catch (e) {
      this.log.warning(
        '%s to %s after connecting failed (%s), and failing the call failed too: %s',
        op.method,
        this.peer,
        err.message,
        toError(e).message,
      );
    }
  }

  /**
   * The node cannot be reached: every queued operation fails with `err`. `again`: an earlier dial
   * to that node failed too (the drop is logged at debug level, not as a warning).
   */
  fail(err: Error, again = false): void {
    const q = this.queue;
    this.queue = [];
    this.bytes = 0;
    let dropped = 0;
    let sends = 0;
    for (const op of q) {
      if (op.reject !== null) op.reject(err);
      // A call fails with the dial's own error (the registrar's, the route's...) at once: the
      // node-down that follows would only say "node is down".
      else if (op.method.startsWith('call')) this.failQueuedCall(op, err);
      else if (this.dropped !== null && isPlainSend(op.method)) sends++;
      else dropped++;
    }
    if (sends > 0) this.dropped!(this.peer, sends, `cannot connect: ${err.message}`);
    if (dropped === 0) return;
    if (again) this.log.debug('%d messages for %s dropped: %s', dropped, this.peer, err.message);
    else this.log.warning('%d messages for %s dropped: %s', dropped, this.peer, err.message);
  }

  node(): RemoteNode {
    throw ErrNoConnection.with(`${this.peer} is being connected`);
  }

  // Sends return the important ack promise only when the sender asked for one.
  sendPID(from: PID, to: PID, options: MessageOptions, message: unknown): Promise<void> | void {
    return this.push('sendPID', [from, to, options, message], options.important);
  }
  sendProcessID(from: PID, to: ProcessID, options: MessageOptions, message: unknown): Promise<void> | void {
    return this.push('sendProcessID', [from, to, options, message], options.important);
  }
  sendAlias(from: PID, to: Alias, options: MessageOptions, message: unknown): Promise<void> | void {
    return this.push('sendAlias', [from, to, options, message], options.important);
  }
  sendEvent(from: PID, options: MessageOptions, message: MessageEvent): void {
    this.pushPlain('sendEvent', [from, options, message]);
  }
  sendExit(from: PID, to: PID, reason: Error): void {
    this.pushPlain('sendExit', [from, to, reason]);
  }
  sendResponse(from: PID, to: PID, options: MessageOptions, response: unknown): void {
    this.pushPlain('sendResponse', [from, to, options, response]);
  }
  sendResponseError(from: PID, to: PID, options: MessageOptions, error: Error): void {
    this.pushPlain('sendResponseError', [from, to, options, error]);
  }
  sendTerminatePID(target: PID, reason: Error): void {
    this.pushPlain('sendTerminatePID', [target, reason]);
  }
  sendTerminateProcessID(target: ProcessID, reason: Error): void {
    this.pushPlain('sendTerminateProcessID', [target, reason]);
  }
  sendTerminateAlias(target: Alias, reason: Error): void {
    this.pushPlain('sendTerminateAlias', [target, reason]);
  }
  sendTerminateEvent(target: Event, reason: Error): void {
    this.pushPlain('sendTerminateEvent', [target, reason]);
  }
  callPID(from: PID, to: PID, options: MessageOptions, request: unknown): Promise<void> | void {
    return this.push('callPID', [from, to, options, request], options.important);
  }
  callProcessID(from: PID, to: ProcessID, options: MessageOptions, request: unknown): Promise<void> | void {
    return this.push('callProcessID', [from, to, options, request], options.important);
  }
  callAlias(from: PID, to: Alias, options: MessageOptions, request: unknown): Promise<void> | void {
    return this.push('callAlias', [from, to, options, request], options.important);
  }
  linkPID(pid: PID, target: PID): Promise<void> {
    return this.push('linkPID', [pid, target], true)!;
  }
  unlinkPID(pid: PID, target: PID): void {
    this.pushPlain('unlinkPID', [pid, target]);
  }
  linkProcessID(pid: PID, target: ProcessID): Promise<void> {
    return this.push('linkProcessID', [pid, target], true)!;
  }
  unlinkProcessID(pid: PID, target: ProcessID): void {
    this.pushPlain('unlinkProcessID', [pid, target]);
  }
  linkAlias(pid: PID, target: Alias): Promise<void> {
    return this.push('linkAlias', [pid, target], true)!;
  }
  unlinkAlias(pid: PID, target: Alias): void {
    this.pushPlain('unlinkAlias', [pid, target]);
  }
  linkEvent(pid: PID, target: Event): Promise<MessageEvent[]> {
    return this.push('linkEvent', [pid, target], true)!;
  }
  unlinkEvent(pid: PID, target: Event): void {
    this.pushPlain('unlinkEvent', [pid, target]);
  }
  monitorPID(pid: PID, target: PID): Promise<void> {
    return this.push('monitorPID', [pid, target], true)!;
  }
  demonitorPID(pid: PID, target: PID): void {
    this.pushPlain('demonitorPID', [pid, target]);
  }
  monitorProcessID(pid: PID, target: ProcessID): Promise<void> {
    return this.push('monitorProcessID', [pid, target], true)!;
  }
  demonitorProcessID(pid: PID, target: ProcessID): void {
    this.pushPlain('demonitorProcessID', [pid, target]);
  }
  monitorAlias(pid: PID, target: Alias): Promise<void> {
    return this.push('monitorAlias', [pid, target], true)!;
  }
  demonitorAlias(pid: PID, target: Alias): void {
    this.pushPlain('demonitorAlias', [pid, target]);
  }
  monitorEvent(pid: PID, target: Event): Promise<MessageEvent[]> {
    return this.push('monitorEvent', [pid, target], true)!;
  }
  demonitorEvent(pid: PID, target: Event): void {
    this.pushPlain('demonitorEvent', [pid, target]);
  }
  remoteSpawn(name: Atom, request: RemoteSpawnRequest): Promise<PID> {
    return this.push('remoteSpawn', [name, request], true)!;
  }
  remoteApplicationStart(name: Atom, request: RemoteApplicationStart): Promise<void> {
    return this.push('remoteApplicationStart', [name, request], true)!;
  }
  join(socket: NetworkSocket, _connectionID: string, _dial: NetworkDial, _tail: Uint8Array | null): void {
    socket.destroy(ErrNoConnection.with(`${this.peer} is being connected`));
  }
  terminate(reason: Error): void {
    this.fail(reason);
  }
}
