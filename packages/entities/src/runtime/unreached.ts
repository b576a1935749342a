// Why a routed operation never reached its owner node (routing.ts): the node's dial of it failed or
// is still under way, so nothing was delivered. Told apart from an owner that was reached and did
// not answer (paused, overloaded): a static route to a port where an HTTP server, a database or
// nothing listens used to fail with "no answer from the owner node … paused, overloaded", which
// sent an operator to look at a healthy cluster instead of at the route.

import { ErrTimeout, type Node } from 'ergo-ts';

import { ErrEntityNodeUnreachable } from '../contract/errors.js';

/** What {@link ErrEntityNodeUnreachable}'s `reason` says (see its TSDoc). */
export type UnreachedReason = 'connection-refused' | 'not-ergo' | 'handshake-refused' | 'no-handshake';

/** The core's handshake codes (ergo-ts net/error.ts) of a peer that does not speak Ergo's handshake. */
const NOT_ERGO = new Set(['ERR_HANDSHAKE_FRAME', 'ERR_HANDSHAKE_MESSAGE', 'ERR_HANDSHAKE_TOO_LARGE']);
/** Those of an Ergo node that refused this one: its cookie or certificate, its name, its admission. */
const REFUSED = new Set([
  'ERR_HANDSHAKE_DIGEST',
  'ERR_HANDSHAKE_CERT',
  'ERR_HANDSHAKE_NAME',
  'ERR_HANDSHAKE_REFUSED',
  // An Ergo node closes the handshake of another cookie.
  'ERR_HANDSHAKE_CLOSED',
]);

/** The codes and messages along `err`'s cause chain (at most 8 links). */
function chain(err: unknown): { codes: string[]; text: string; last: string } {
  const codes: string[] = [];
  const texts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 8 && typeof e === 'object' && e !== null; i++) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    if (typeof message === 'string') texts.push(message);
    e = cause;
  }
  return { codes, text: texts.join(' | '), last: texts.at(-1) ?? '' };
}

/** The `host:port` of `target`'s static route on `node`, if it has one. */
function addressOf(node: Node, target: string): string | undefined {
  try {
    const r = node.network().route(target)[0]?.route;
    return r === undefined ? undefined : `${r.host}:${r.port}`;
  } catch {
    return undefined;
  }
}

/** Whether `node` holds a connection to `target` now. */
function connected(node: Node, target: string): boolean {
  try {
    node.network().node(target);
    return true;
  } catch {
    return false;
  }
}

/**
 * The ERR_ENTITY_NODE_UNREACHABLE that says why an attempt to remote `target` failed, when it
 * never reached it: its dial failed (refused, not an Ergo node, handshake refused), or the attempt
 * timed out (`waitedMs`) with no connection to `target` — a delivered call whose connection then
 * dropped fails as the node going down, not by a timeout. Undefined for anything else.
 */
export function unreachedOwner(node: Node, target: string, err: unknown, waitedMs: number): Error | undefined {
  if (target === node.name) return undefined;
  const { codes, text, last } = chain(err);
  const at = addressOf(node, target);
  const where = at === undefined ? target : `${target} at ${at}`;
  let reason: UnreachedReason;
  let what: string;
  if (codes.some((c) => NOT_ERGO.has(c))) {
    reason = 'not-ergo';
    what = `what answers at ${at ?? "the node's address"} is not an Ergo node (its handshake: ${last})`;
  } else if (codes.some((c) => REFUSED.has(c))) {
    reason = 'handshake-refused';
    what = `the node refused the handshake (${last}): another cookie or certificate, or another node answers there`;
  } else if (codes.includes('ERR_HANDSHAKE_TIMEOUT') || (ErrTimeout.is(err) && !connected(node, target))) {
    reason = 'no-handshake';
    what =
      `no handshake completed within ${waitedMs} ms: what listens at ${at ?? "the node's address"} took the ` +
      'connection and did not complete it (not an Ergo node; an Ergo node with another cookie, which closes it; ' +
      'or one too busy to answer)';
  } else if (text.includes('ECONNREFUSED')) {
    reason = 'connection-refused';
    what = `connection refused at ${at ?? "the node's address"}: nothing listens there`;
  } else return undefined;
  // A timeout is not kept as its cause: nothing was delivered, so no outcome is unknown.
  const cause = ErrTimeout.is(err) ? undefined : err;
  return Object.assign(ErrEntityNodeUnreachable.with(`${where}: ${what}`, cause), {
    reason,
    node: target,
    ...(at === undefined ? {} : { address: at }),
  });
}
