// The four EHS:R1 handshake messages (WIRE.md §2, Appendix A), registered under Go Ergo's names.
// Like Go's `net/handshake` package they join the default registry when this module loads (queued,
// registered on the registry's first use); `registerHandshakeTypes` adds them to another registry. Handshake frames are
// always encoded without caches.

import { defaultRegistry } from '../edf/default.js';
import { EdfError } from '../edf/errors.js';
import { FrameworkTypeName, NetworkFlags, WireVersion, type Fields } from '../edf/framework.js';
import type { EdfRegistry, RegisteredType } from '../edf/registry.js';
import { Go } from '../edf/wrappers.js';

const HANDSHAKE = '#ergo.services/ergo/net/handshake/';

/** Go registration names of the handshake messages. */
export const HandshakeTypeName = Object.freeze({
  MessageHello: `${HANDSHAKE}MessageHello`,
  MessageJoin: `${HANDSHAKE}MessageJoin`,
  MessageIntroduce: `${HANDSHAKE}MessageIntroduce`,
  MessageAccept: `${HANDSHAKE}MessageAccept`,
});

/** `handshake.MessageHello`: steps 1 and 2 of the full handshake. */
export class MessageHello {
  salt = '';
  digest = '';
  digestCert = '';
  constructor(init?: Fields<MessageHello>) {
    if (init) Object.assign(this, init);
  }
}

/** `handshake.MessageJoin`: first message on an extra pool link. */
export class MessageJoin {
  node = '';
  connectionID = '';
  salt = '';
  digest = '';
  constructor(init?: Fields<MessageJoin>) {
    if (init) Object.assign(this, init);
  }
}

/** `handshake.MessageIntroduce`: caches are id → atom / type name / error (null = none). */
export class MessageIntroduce {
  node = '';
  version: WireVersion = new WireVersion();
  flags: NetworkFlags = new NetworkFlags();
  creation: number | bigint = 0;
  /** The sender's limit for packets it receives (0 = none). */
  maxMessageSize: number | bigint = 0;
  atomCache: Map<number, string> | null = null;
  regCache: Map<number, string> | null = null;
  errCache: Map<number, Error | null> | null = null;
  digest = '';
  constructor(init?: Fields<MessageIntroduce>) {
    if (init) Object.assign(this, init);
  }
}

/** `handshake.MessageAccept`: the acceptor's answer (and the initiator's empty final message). */
export class MessageAccept {
  id = '';
  poolSize: number | bigint = 0;
  poolDSN: string[] | null = null;
  digest = '';
  digestCert = '';
  constructor(init?: Fields<MessageAccept>) {
    if (init) Object.assign(this, init);
  }
}

function framework(r: EdfRegistry, name: string): RegisteredType {
  const t = r.type(name);
  if (t === undefined)
    throw new EdfError('ERR_EDF_REGISTER', `registry lacks the framework type ${name} (use createRegistry())`);
  return t;
}

/**
 * Registers the handshake messages in `r` (a registry with the framework types). Idempotent.
 * @throws EdfError `ERR_EDF_REGISTER` if a name is taken by another type.
 */
export function registerHandshakeTypes(r: EdfRegistry): void {
  if (r.type(HandshakeTypeName.MessageHello) !== undefined) return;
  const version = framework(r, FrameworkTypeName.Version);
  const flags = framework(r, FrameworkTypeName.NetworkFlags);
  r.register({
    name: HandshakeTypeName.MessageHello,
    class: MessageHello,
    fields: { salt: Go.string, digest: Go.string, digestCert: Go.string },
  });
  r.register({
    name: HandshakeTypeName.MessageJoin,
    class: MessageJoin,
    fields: { node: Go.atom, connectionID: Go.string, salt: Go.string, digest: Go.string },
  });
  r.register({
    name: HandshakeTypeName.MessageIntroduce,
    class: MessageIntroduce,
    fields: {
      node: Go.atom,
      version,
      flags,
      creation: Go.int64,
      maxMessageSize: Go.int,
      atomCache: Go.map(Go.uint16, Go.atom),
      regCache: Go.map(Go.uint16, Go.string),
      errCache: Go.map(Go.uint16, Go.error),
      digest: Go.string,
    },
  });
  r.register({
    name: HandshakeTypeName.MessageAccept,
    class: MessageAccept,
    fields: { id: Go.string, poolSize: Go.int, poolDSN: Go.slice(Go.string), digest: Go.string, digestCert: Go.string },
  });
}

defaultRegistry.defer(registerHandshakeTypes);
