// The boundary check of typed protocols: a message or request for a process whose behaviour
// declares a protocol is validated, synchronously, before it reaches the mailbox. Remote traffic
// always (Core's route* entry points); local traffic only with the node option `validateLocal`.
// A refusal is logged once per (sender node, message type) with the failing field's path; the
// table of what was logged is bounded, so a flood of bad messages neither floods the log nor
// grows memory.

import { ErrProtocolViolation } from '../gen/errors.js';
import { formatPath, protocolKey, type AnyProtocol } from '../gen/protocol.js';

/** Distinct (sender node, type) pairs remembered as logged; past it one more line says so. */
export const GUARD_LOGGED_MAX = 1024;

/** Something that can log a warning (the node's log handle). */
interface Warner {
  warning(format: string, ...args: unknown[]): void;
}

/** The protocol of a mailbox owner (a process whose behaviour declares one), else undefined. */
function protocolOf(target: object): AnyProtocol | undefined {
  const b = (target as { behaviorObj?: Record<symbol, unknown> }).behaviorObj;
  return b === undefined ? undefined : (b[protocolKey] as AnyProtocol | undefined);
}

/** The name a refusal is logged under: the class of the value, or its JS type. */
function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return Array.isArray(v) ? 'Array' : (v.constructor?.name ?? 'Object');
  return typeof v;
}

/** Validates inbound messages against their target's protocol. One per node. */
export class ProtocolGuard {
  /** `${sender node}\0${type}` pairs already logged. */
  readonly #logged = new Set<string>();
  #overflowLogged = false;
  /** Messages refused so far (for inspection and tests). */
  refused = 0;

  constructor(readonly log: Warner) {}

  /**
   * The value to deliver to `target`: `message` itself when `target` has no protocol, else the
   * output of the protocol's schema it matches (a transforming schema gives its transformed
   * value). Throws ErrProtocolViolation (with the path) when it matches none; `isCall` selects
   * the protocol's call requests, else its messages.
   */
  check(target: object, message: unknown, isCall: boolean, fromNode: string): unknown {
    const protocol = protocolOf(target);
    if (protocol === undefined) return message;
    const parsed = isCall ? protocol.parseRequest(message) : protocol.parseMessage(message);
    const found = parsed.issue;
    if (found === undefined) return parsed.value;
    this.refused++;
    const type = typeName(message);
    const path = formatPath(found.path);
    const key = `${fromNode}\u0000${type}`;
    if (!this.#logged.has(key)) {
      if (this.#logged.size < GUARD_LOGGED_MAX) {
        this.#logged.add(key);
        this.log.warning(
          'protocol %s: refused %s %s from node %s: %s: %s (further ones from this node and type are not logged)',
          protocol.name,
          isCall ? 'request' : 'message',
          type,
          fromNode,
          path,
          found.message,
        );
      } else if (!this.#overflowLogged) {
        this.#overflowLogged = true;
        this.log.warning(
          'protocol guard: %d sender/type pairs logged, further refusals are counted only',
          GUARD_LOGGED_MAX,
        );
      }
    }
    throw ErrProtocolViolation.with(`${protocol.name}: ${path}: ${found.message}`);
  }
}
