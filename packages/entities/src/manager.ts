// The manager process of an entities runtime (registered as `options.name`, the same on every
// member) and what members send it: activation and send requests, which it answers once the
// activation settled, and the leaving / hello notices of members that drain or start; and how a
// caller reads what comes back: activation replies, owner strings, failures worth routing again.

import {
  Actor,
  ErrNameUnknown,
  ErrNoConnection,
  ErrNoRoute,
  ErrProcessUnknown,
  ProcessID,
  type Atom,
  type Event,
  type MessageEvent,
  type PID,
  type Ref,
} from 'ergo-ts';

import { ErrEntityIncorrect, ErrLeaseHeld } from './contract/errors.js';
import { hostName } from './contract/ids.js';
import { ManagerInspector, isInspectRequest, nodeShardTable } from './inspect/inspector.js';
import type { Entities } from './runtime.js';

/** A member asks the manager to activate an entity of this node. */
export interface ActivateRequest {
  readonly '~entity': 'activate';
  readonly kind: string;
  readonly key: string;
}
/** A member asks the manager to activate an entity (when needed) and hand it a message. */
export interface SendRequest {
  readonly '~entity': 'send';
  readonly kind: string;
  readonly key: string;
  readonly message: unknown;
}
/** A member tells the others it leaves (drains): they stop routing keys to it. */
export interface LeavingNotice {
  readonly '~entity': 'leaving';
  readonly node: string;
}
/** A member's runtime started: the others count it again (it may have left before under this name). */
export interface HelloNotice {
  readonly '~entity': 'hello';
  readonly node: string;
}
/**
 * A manager's answer to an activation (plain objects: they cross nodes as sent). `leaving`: the
 * node drains and takes no activation; `moved`: by the node's view another member owns the key's
 * shard (it runs no activation of it either); the caller routes elsewhere.
 */
export type ActivateReply =
  { ok: true } | { ok: false; holder: string; expiresAt: number; leaving?: boolean; moved?: boolean };

/** An activation the manager finished: it answers the call it kept (local only, by reference). */
class Answer {
  constructor(
    readonly from: PID,
    readonly ref: Ref,
    readonly ok: boolean,
    readonly value: unknown,
    readonly forward?: SendRequest,
  ) {}
}

/** The node name inside an owner string (`name#nonce`), e.g. the holder of a refused activation. */
export function ownerNode(owner: string): string {
  const i = owner.lastIndexOf('#');
  return i < 0 ? owner : owner.slice(0, i);
}

/** Whether `v` is an entities request or notice of type `what`. */
function isRequest(v: unknown, what: string): boolean {
  return typeof v === 'object' && v !== null && (v as { '~entity'?: unknown })['~entity'] === what;
}

/**
 * The manager process: activates entities of this node on request of any member. Activations of
 * different keys run side by side (a stalled store call holds only its own key): the manager
 * keeps each call and answers it when that activation settles, through an {@link Answer} the
 * runtime sends it.
 */
export class EntityManager extends Actor {
  #rt!: Entities;
  #inspector: ManagerInspector | undefined;
  override async init(rt: Entities, event: Event | undefined): Promise<void> {
    this.#rt = rt;
    // The registrar's events (a node joined, left...) come here: the runtime reads its nodes again.
    if (event !== undefined)
      await this.monitorEvent(event).then(
        () => rt.followingRegistrarEvents(),
        (e: unknown) => this.log.warning('entities: cannot follow the registrar event: %s', String(e)),
      );
  }
  override handleInspect(): Record<string, string> {
    // Made at the first inspection: the manager's registered name exists only after its init.
    this.#inspector ??= new ManagerInspector(this.#rt, this.node.processName(this.pid));
    return this.#inspector.inspect();
  }
  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (isInspectRequest(request)) return JSON.stringify(nodeShardTable(this.#rt));
    if (!isRequest(request, 'activate') && !isRequest(request, 'send')) {
      this.sendResponseError(from, ref, ErrEntityIncorrect.with('entities manager: unknown request'));
      return undefined;
    }
    const r = request as ActivateRequest | SendRequest;
    const me = this.pid;
    const answer = (a: Answer): void => {
      try {
        this.#rt.node.send(me, a);
      } catch {
        // The manager is gone (the runtime stopped): the caller's call fails with it.
      }
    };
    this.#rt.activateLocal(r.kind, r.key).then(
      (a) => answer(new Answer(from, ref, true, a, r['~entity'] === 'send' && a.ok ? (r as SendRequest) : undefined)),
      (e: unknown) => answer(new Answer(from, ref, false, e)),
    );
    return undefined; // answered by handleMessage(Answer)
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof Answer) {
      if (message.forward !== undefined) {
        const f = message.forward;
        this.send(new ProcessID(hostName(f.kind, f.key) as Atom, this.pid.node), f.message);
      }
      if (message.ok) this.sendResponse(message.from, message.ref, message.value);
      else
        this.sendResponseError(
          message.from,
          message.ref,
          message.value instanceof Error ? message.value : new Error(String(message.value)),
        );
      return;
    }
    if (isRequest(message, 'leaving')) return this.#rt.memberLeaving(String((message as LeavingNotice).node));
    if (isRequest(message, 'hello')) return this.#rt.memberHello(String((message as HelloNotice).node));
  }
  /** The registrar's event (a node joined or left, a route changed): the runtime reads its nodes again. */
  override handleEvent(_m: MessageEvent): void {
    this.#rt.membershipChanged();
  }
}

/** A manager's answer, read from the plain object (or Map) the call resolved with, as an {@link ActivateReply}. */
export function toReply(r: unknown): ActivateReply {
  const get = (k: string): unknown => (r instanceof Map ? r.get(k) : (r as Record<string, unknown>)?.[k]);
  if (get('ok') === true) return { ok: true };
  return {
    ok: false,
    holder: String(get('holder') ?? ''),
    expiresAt: Number(get('expiresAt') ?? 0),
    ...(get('leaving') === true ? { leaving: true } : {}),
    ...(get('moved') === true ? { moved: true } : {}),
  };
}

/** `p`'s outcome, or a rejection with `timedOut()` once `ms` pass (a late outcome of `p` is dropped). */
export function within<T>(p: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  p.catch(() => undefined); // lost the race: its rejection must not go unhandled
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/** A failure that routing again (after a pause) may get past: the owner moved, went down or is busy. */
export function retryable(err: unknown): boolean {
  return (
    ErrLeaseHeld.is(err) ||
    ErrNoConnection.is(err) ||
    ErrNoRoute.is(err) ||
    // The target's manager is not there: its node is stopping (a rolling restart) and has not
    // been declared down yet. Route again: the members change, or the node comes back.
    ErrProcessUnknown.is(err) ||
    ErrNameUnknown.is(err) ||
    isGone(err)
  );
}

/** The target process, its node or the network has gone (the owner went down or stopped meanwhile). */
function isGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_PROCESS_TERMINATED' || code === 'ERR_NODE_TERMINATED' || code === 'ERR_NETWORK_STOPPED';
}
