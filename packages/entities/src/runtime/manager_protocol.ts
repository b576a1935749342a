// What the members of an entities runtime send each other's manager process (manager.ts):
// activation and send requests, the leaving / hello notices of members that drain or start, and
// the manager's answers; and how a caller reads what comes back: activation replies, owner
// strings, failures worth routing again. Plain objects: they cross nodes as sent.

import { ErrNameUnknown, ErrNoConnection, ErrNoRoute, ErrProcessUnknown } from 'ergo-ts';

import { ErrLeaseHeld } from '../contract/errors.js';

/** A member asks the manager to activate an entity of this node. */
export interface ActivateRequest {
  readonly '~entity': 'activate';
  readonly kind: string;
  readonly key: string;
  /** The call brings new work: refused when the node is overloaded (EntityCallOptions.shed). */
  readonly shed?: boolean;
  /**
   * How long the caller waits for the answer (ms): the owner may hold it that long — with `shed`
   * for room, and any activation for its store to answer again after failing as unreachable.
   */
  readonly wait?: number;
  /**
   * With `shed`: what is left of the caller's own time (ms): room the owner keeps for the work is
   * kept no longer (no one asks again after it).
   */
  readonly left?: number;
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
  /**
   * Told by another member: `node`'s member lease ended while a call to it waited (it was paused or
   * cut off from the store). The receivers count it again once its member lease is renewed.
   */
  readonly leaseEnded?: boolean;
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
  | { ok: true }
  | { ok: false; holder: string; expiresAt: number; leaving?: boolean; moved?: boolean; overloaded?: number };

/** The node name inside an owner string (`name#nonce`), e.g. the holder of a refused activation. */
export function ownerNode(owner: string): string {
  const i = owner.lastIndexOf('#');
  return i < 0 ? owner : owner.slice(0, i);
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
    ...(typeof get('overloaded') === 'number' ? { overloaded: get('overloaded') as number } : {}),
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
