// gen.ProcessOptions ↔ the wire form a remote spawn carries (`gen.ProcessOptions` inside
// `gen.ProcessOptionsExtra`, WIRE.md Appendix A). Fields Ergo does not have (initTimeout) stay
// local; zero values on the wire mean "not set".

import type { Atom } from '../../gen/atom.js';
import { toLogLevel, type LogLevel } from '../../gen/log.js';
import type { Compression, ProcessOptions } from '../../gen/options.js';
import { PID } from '../../gen/pid.js';
import type { MessagePriority } from '../../gen/priority.js';
import type { RemoteSpawnRequest } from '../../gen/core.js';
import {
  WireCompression,
  WireProcessFallback,
  WireProcessOptions,
  type ProcessOptionsExtra,
} from '../edf/framework.js';

const ZERO_PID = new PID('' as Atom, 0, 0);

function num(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/**
 * The wire form of no options (every field Go's zero value), shared by every spawn request that
 * sets none (the usual case): only encoded, never changed.
 */
const ZERO_WIRE_OPTIONS = new WireProcessOptions();

/** True when `o` has no own enumerable property (`{}`). */
function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** The wire form of the options a remote spawn asks for. */
export function toWireProcessOptions(o: ProcessOptions): WireProcessOptions {
  if (isEmpty(o)) return ZERO_WIRE_OPTIONS;
  const env = o.env === undefined ? null : o.env instanceof Map ? o.env : new Map(Object.entries(o.env));
  const c = o.compression;
  return new WireProcessOptions({
    mailboxSize: o.mailboxSize ?? 0,
    leader: o.leader ?? ZERO_PID,
    env,
    compression: new WireCompression({
      enable: c?.enable ?? false,
      type: c?.type ?? '',
      level: c?.level ?? 0,
      threshold: c?.threshold ?? 0,
    }),
    sendPriority: o.sendPriority ?? 0,
    importantDelivery: o.importantDelivery ?? false,
    fallback: new WireProcessFallback({
      enable: o.fallback?.enable ?? false,
      name: o.fallback?.name ?? '',
      tag: o.fallback?.tag ?? '',
    }),
    linkParent: o.linkParent ?? false,
    linkChild: o.linkChild ?? false,
    logLevel: toLogLevel(o.logLevel) ?? 0,
  });
}

/** The options a remote spawn request carries, as the local spawn takes them. */
export function fromWireProcessOptions(w: WireProcessOptions): ProcessOptions {
  const o: ProcessOptions = {};
  const mailbox = num(w.mailboxSize);
  if (mailbox > 0) o.mailboxSize = mailbox;
  if (w.leader.id !== 0) o.leader = w.leader;
  if (w.env !== null && w.env.size > 0) o.env = w.env;
  if (w.compression.enable) {
    const t = w.compression.type;
    const c: Compression = { enable: true, level: num(w.compression.level) as 0 | 1 | 2 };
    if (t === 'gzip' || t === 'zlib' || t === 'lzw') c.type = t;
    const th = num(w.compression.threshold);
    if (th > 0) c.threshold = th;
    o.compression = c;
  }
  const prio = num(w.sendPriority);
  if (prio > 0) o.sendPriority = prio as MessagePriority;
  if (w.importantDelivery) o.importantDelivery = true;
  if (w.fallback.enable) o.fallback = { enable: true, name: w.fallback.name as Atom, tag: w.fallback.tag };
  if (w.linkParent) o.linkParent = true;
  if (w.linkChild) o.linkChild = true;
  const level = num(w.logLevel);
  if (level !== 0) o.logLevel = level as LogLevel;
  return o;
}

/** The core's remote spawn request from a spawn's wire options (a Control or a batched spawn). */
export function spawnRequestOf(o: ProcessOptionsExtra): RemoteSpawnRequest {
  return {
    processOptions: fromWireProcessOptions(o.processOptions),
    parentPID: o.parentPID,
    parentLeader: o.parentLeader,
    parentEnv: o.parentEnv,
    parentLogLevel: Number(o.parentLogLevel) as RemoteSpawnRequest['parentLogLevel'],
    register: o.register as Atom,
    application: o.application as Atom,
    args: o.args ?? [],
  };
}
