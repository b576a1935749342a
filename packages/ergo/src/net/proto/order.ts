// Order byte and pool link selection (WIRE.md §3.5). Two numbers per packet: the pool key picks
// the sender's TCP link (0 = round robin, k = link k % poolSize) and is never transmitted; the
// order byte (header offset 6) picks the receiver's decode queue (0 = any). Both are
// `id % 255`, so an id that is a multiple of 255 means "unordered" — as in Go.

import {
  MessageLinkAlias,
  MessageLinkPID,
  MessageUnlinkAlias,
  MessageUnlinkPID,
  MessageMonitorAlias,
  MessageDemonitorAlias,
  MessageSpawn,
  MessageApplicationStart,
  ControlMessage,
} from './messages.js';

/** `uint8(id % 255)` for a u64 id given as a number or bigint. */
export function mod255(id: number | bigint): number {
  return typeof id === 'bigint' ? Number(id % 255n) : id % 255;
}

/**
 * Pool key and order byte of a send/call/response, by target kind:
 * to PID (101/121/129/130): key from.ID, order to.ID; to name or event (102/103/105/106/122/123):
 * both from.ID; to alias (104/124): key from.ID, order alias.ID[1]. With `keepNetworkOrder`
 * false both are 0. Returned as `key << 8 | order` to avoid an allocation; split with
 * {@link poolKeyOf} / {@link orderOf}.
 */
export function routeOf(fromID: number | bigint, orderID: number | bigint, keepNetworkOrder: boolean): number {
  if (!keepNetworkOrder) return 0;
  return (mod255(fromID) << 8) | mod255(orderID);
}

/** The pool key part of a {@link routeOf} / {@link controlRouteOf} result. */
export function poolKeyOf(route: number): number {
  return route >>> 8;
}

/** The order byte part of a {@link routeOf} / {@link controlRouteOf} result. */
export function orderOf(route: number): number {
  return route & 0xff;
}

/** Pool key and order of an exit signal (107): from.ID and to.ID, always ordered. */
export function exitRouteOf(fromID: number | bigint, toID: number | bigint): number {
  return (mod255(fromID) << 8) | mod255(toID);
}

/**
 * Pool key and order of a control request (199): key Source.ID (spawn and application start: 0);
 * order Target.ID for Link/UnlinkPID, Target.ID[1] for Link/Unlink/Monitor/DemonitorAlias, else 0.
 */
export function controlRouteOf(request: object): number {
  if (request instanceof MessageSpawn || request instanceof MessageApplicationStart) return 0;
  if (!(request instanceof ControlMessage)) return 0;
  const key = mod255(request.source.id);
  let order = 0;
  if (request instanceof MessageLinkPID || request instanceof MessageUnlinkPID)
    order = mod255((request.target as { id: number }).id);
  else if (
    request instanceof MessageLinkAlias ||
    request instanceof MessageUnlinkAlias ||
    request instanceof MessageMonitorAlias ||
    request instanceof MessageDemonitorAlias
  ) {
    order = mod255((request.target as { id: readonly number[] }).id[1]!);
  }
  return (key << 8) | order;
}

/**
 * Pool key and order of the MessageResult answering `request`: key Target.ID for PID targets,
 * Target.ID[1] for alias targets, else 0; order Source.ID of the request (spawn:
 * Options.ParentPID.ID; application start: 0).
 */
export function controlResultRouteOf(request: object): number {
  if (request instanceof MessageSpawn) return mod255(request.options.parentPID.id);
  if (!(request instanceof ControlMessage)) return 0;
  const order = mod255(request.source.id);
  const t = request.target as { id?: unknown };
  let key = 0;
  if (typeof t.id === 'number' || typeof t.id === 'bigint') key = mod255(t.id);
  else if (Array.isArray(t.id)) key = mod255(t.id[1] as number);
  return (key << 8) | order;
}
