// ENP:R1 control messages (packet type 199, WIRE.md §3.4 and Appendix A), registered under Go
// Ergo's names in the default registry when this module loads (as Go's `net/proto` does; queued,
// registered on the registry's first use); `registerProtoTypes` adds them to another registry.
// Every request is answered by a MessageResult that echoes the request's Ref exactly.

import { Event } from '../../gen/event.js';
import { PID } from '../../gen/pid.js';
import { ProcessID } from '../../gen/processid.js';
import { Alias, Ref } from '../../gen/ref.js';
import { defaultRegistry } from '../edf/default.js';
import { EdfError } from '../edf/errors.js';
import { ApplicationOptionsExtra, FrameworkTypeName, ProcessOptionsExtra, type Fields } from '../edf/framework.js';
import type { EdfRegistry, RegisteredType } from '../edf/registry.js';
import type { EdfType } from '../edf/type.js';
import { Go } from '../edf/wrappers.js';

const PROTO = '#ergo.services/ergo/net/proto/';
const ZERO_PID = new PID('', 0, 0);
const ZERO_REF = new Ref('', 0, [0, 0, 0]);
const ZERO_ALIAS = new Alias('', 0, [0, 0, 0]);

/** Fields shared by every Link/Unlink/Monitor/Demonitor request. */
export interface ControlFields<T> {
  source?: PID;
  target?: T;
  ref?: Ref;
}

/** Base of the Link/Unlink/Monitor/Demonitor requests: `{Source PID, Target <kind>, Ref}`. */
export abstract class ControlMessage<T> {
  source: PID;
  target: T;
  ref: Ref;
  constructor(init: ControlFields<T> | undefined, zero: T) {
    this.source = init?.source ?? ZERO_PID;
    this.target = init?.target ?? zero;
    this.ref = init?.ref ?? ZERO_REF;
  }
}

/** `proto.MessageLinkPID`. */
export class MessageLinkPID extends ControlMessage<PID> {
  constructor(init?: ControlFields<PID>) {
    super(init, ZERO_PID);
  }
}
/** `proto.MessageUnlinkPID`. */
export class MessageUnlinkPID extends ControlMessage<PID> {
  constructor(init?: ControlFields<PID>) {
    super(init, ZERO_PID);
  }
}
/** `proto.MessageMonitorPID`. */
export class MessageMonitorPID extends ControlMessage<PID> {
  constructor(init?: ControlFields<PID>) {
    super(init, ZERO_PID);
  }
}
/** `proto.MessageDemonitorPID`. */
export class MessageDemonitorPID extends ControlMessage<PID> {
  constructor(init?: ControlFields<PID>) {
    super(init, ZERO_PID);
  }
}
/** `proto.MessageLinkProcessID`. */
export class MessageLinkProcessID extends ControlMessage<ProcessID> {
  constructor(init?: ControlFields<ProcessID>) {
    super(init, new ProcessID(''));
  }
}
/** `proto.MessageUnlinkProcessID`. */
export class MessageUnlinkProcessID extends ControlMessage<ProcessID> {
  constructor(init?: ControlFields<ProcessID>) {
    super(init, new ProcessID(''));
  }
}
/** `proto.MessageMonitorProcessID`. */
export class MessageMonitorProcessID extends ControlMessage<ProcessID> {
  constructor(init?: ControlFields<ProcessID>) {
    super(init, new ProcessID(''));
  }
}
/** `proto.MessageDemonitorProcessID`. */
export class MessageDemonitorProcessID extends ControlMessage<ProcessID> {
  constructor(init?: ControlFields<ProcessID>) {
    super(init, new ProcessID(''));
  }
}
/** `proto.MessageLinkAlias`. */
export class MessageLinkAlias extends ControlMessage<Alias> {
  constructor(init?: ControlFields<Alias>) {
    super(init, ZERO_ALIAS);
  }
}
/** `proto.MessageUnlinkAlias`. */
export class MessageUnlinkAlias extends ControlMessage<Alias> {
  constructor(init?: ControlFields<Alias>) {
    super(init, ZERO_ALIAS);
  }
}
/** `proto.MessageMonitorAlias`. */
export class MessageMonitorAlias extends ControlMessage<Alias> {
  constructor(init?: ControlFields<Alias>) {
    super(init, ZERO_ALIAS);
  }
}
/** `proto.MessageDemonitorAlias`. */
export class MessageDemonitorAlias extends ControlMessage<Alias> {
  constructor(init?: ControlFields<Alias>) {
    super(init, ZERO_ALIAS);
  }
}
/** `proto.MessageLinkEvent` (the result is a typed `[]gen.MessageEvent`, even when empty). */
export class MessageLinkEvent extends ControlMessage<Event> {
  constructor(init?: ControlFields<Event>) {
    super(init, new Event('', ''));
  }
}
/** `proto.MessageUnlinkEvent`. */
export class MessageUnlinkEvent extends ControlMessage<Event> {
  constructor(init?: ControlFields<Event>) {
    super(init, new Event('', ''));
  }
}
/** `proto.MessageMonitorEvent` (the result is a typed `[]gen.MessageEvent`, even when empty). */
export class MessageMonitorEvent extends ControlMessage<Event> {
  constructor(init?: ControlFields<Event>) {
    super(init, new Event('', ''));
  }
}
/** `proto.MessageDemonitorEvent`. */
export class MessageDemonitorEvent extends ControlMessage<Event> {
  constructor(init?: ControlFields<Event>) {
    super(init, new Event('', ''));
  }
}

/** `proto.MessageSpawn`: remote spawn request; the result is the new `gen.PID`. */
export class MessageSpawn {
  name: string;
  options: ProcessOptionsExtra;
  ref: Ref;
  // Each field set once (no zero ProcessOptionsExtra built and dropped, see framework.ts).
  constructor(init?: Fields<MessageSpawn>) {
    this.name = init?.name ?? '';
    this.options = init?.options ?? new ProcessOptionsExtra();
    this.ref = init?.ref ?? ZERO_REF;
  }
}

/** `proto.MessageApplicationStart`: mode 0 = the application's own, 1 temporary, 2 transient, 3 permanent. */
export class MessageApplicationStart {
  name = '';
  mode: number | bigint = 0;
  options: ApplicationOptionsExtra = new ApplicationOptionsExtra();
  ref: Ref = ZERO_REF;
  constructor(init?: Fields<MessageApplicationStart>) {
    if (init) Object.assign(this, init);
  }
}

/**
 * `proto.MessageApplicationInfo` (Ergo 3.2.0, `RemoteNode.ApplicationInfo`): asks for a snapshot
 * of an application; answered by a MessageResult whose result is a `gen.ApplicationInfo` (sent
 * even beside an error, then zero-valued).
 */
export class MessageApplicationInfo {
  name = '';
  ref: Ref = ZERO_REF;
  constructor(init?: Fields<MessageApplicationInfo>) {
    if (init) Object.assign(this, init);
  }
}

/** `proto.MessageUpdateCache` (Go 3.2 never sends it; never send one with entries to Go). */
export class MessageUpdateCache {
  atomCache: Map<number, string> | null = null;
  atomMapping: Map<string, string> | null = null;
  regCache: Map<number, string> | null = null;
  errCache: Map<number, Error | null> | null = null;
  ref: Ref = ZERO_REF;
  constructor(init?: Fields<MessageUpdateCache>) {
    if (init) Object.assign(this, init);
  }
}

/** `proto.MessageResult`: the answer to every control request (echo the request's Ref). */
export class MessageResult {
  error: Error | null;
  result: unknown;
  ref: Ref;
  // Each field set once: one is built (and one decoded) per control request answered.
  constructor(init?: Fields<MessageResult>) {
    this.error = init?.error ?? null;
    // As given, even undefined (as Object.assign did): a result is any value.
    this.result = init !== undefined && 'result' in init ? init.result : null;
    this.ref = init?.ref ?? ZERO_REF;
  }
}

/** The Link/Unlink/Monitor/Demonitor request classes by Go name, with their target type. */
const CONTROL: readonly (readonly [string, new () => object, EdfType])[] = [
  ['MessageLinkPID', MessageLinkPID, Go.pid],
  ['MessageUnlinkPID', MessageUnlinkPID, Go.pid],
  ['MessageMonitorPID', MessageMonitorPID, Go.pid],
  ['MessageDemonitorPID', MessageDemonitorPID, Go.pid],
  ['MessageLinkProcessID', MessageLinkProcessID, Go.processID],
  ['MessageUnlinkProcessID', MessageUnlinkProcessID, Go.processID],
  ['MessageMonitorProcessID', MessageMonitorProcessID, Go.processID],
  ['MessageDemonitorProcessID', MessageDemonitorProcessID, Go.processID],
  ['MessageLinkAlias', MessageLinkAlias, Go.alias],
  ['MessageUnlinkAlias', MessageUnlinkAlias, Go.alias],
  ['MessageMonitorAlias', MessageMonitorAlias, Go.alias],
  ['MessageDemonitorAlias', MessageDemonitorAlias, Go.alias],
  ['MessageLinkEvent', MessageLinkEvent, Go.event],
  ['MessageUnlinkEvent', MessageUnlinkEvent, Go.event],
  ['MessageMonitorEvent', MessageMonitorEvent, Go.event],
  ['MessageDemonitorEvent', MessageDemonitorEvent, Go.event],
];

/** Go registration name of a proto message, e.g. `protoTypeName('MessageResult')`. */
export function protoTypeName(short: string): string {
  return `${PROTO}${short}`;
}

function framework(r: EdfRegistry, name: string): RegisteredType {
  const t = r.type(name);
  if (t === undefined)
    throw new EdfError('ERR_EDF_REGISTER', `registry lacks the framework type ${name} (use createRegistry())`);
  return t;
}

/**
 * Registers the ENP control messages in `r` (a registry with the framework types). Idempotent.
 * @throws EdfError `ERR_EDF_REGISTER` if a name is taken by another type.
 */
export function registerProtoTypes(r: EdfRegistry): void {
  if (r.type(protoTypeName('MessageResult')) !== undefined) return;
  const processOptionsExtra = framework(r, FrameworkTypeName.ProcessOptionsExtra);
  const appOptionsExtra = framework(r, FrameworkTypeName.ApplicationOptionsExtra);
  const appMode = framework(r, FrameworkTypeName.ApplicationMode);
  for (const [name, cls, target] of CONTROL) {
    r.register({ name: protoTypeName(name), class: cls, fields: { source: Go.pid, target, ref: Go.ref } });
  }
  r.register({
    name: protoTypeName('MessageSpawn'),
    class: MessageSpawn,
    fields: { name: Go.atom, options: processOptionsExtra, ref: Go.ref },
    create: (f: Fields<MessageSpawn>) => new MessageSpawn(f),
  });
  r.register({
    name: protoTypeName('MessageApplicationStart'),
    class: MessageApplicationStart,
    fields: { name: Go.atom, mode: appMode, options: appOptionsExtra, ref: Go.ref },
  });
  r.register({
    name: protoTypeName('MessageApplicationInfo'),
    class: MessageApplicationInfo,
    fields: { name: Go.atom, ref: Go.ref },
  });
  r.register({
    name: protoTypeName('MessageUpdateCache'),
    class: MessageUpdateCache,
    fields: {
      atomCache: Go.map(Go.uint16, Go.atom),
      atomMapping: Go.map(Go.atom, Go.atom),
      regCache: Go.map(Go.uint16, Go.string),
      errCache: Go.map(Go.uint16, Go.error),
      ref: Go.ref,
    },
  });
  r.register({
    name: protoTypeName('MessageResult'),
    class: MessageResult,
    fields: { error: Go.error, result: Go.any, ref: Go.ref },
    create: (f: Fields<MessageResult>) => new MessageResult(f),
  });
}

defaultRegistry.defer(registerProtoTypes);
