// The control requests of an ENP connection that start something on the peer, and the answers
// to the peer's control requests (EnpConnection delegates here). A remote spawn goes as a
// control batch entry between two ergo-ts nodes that both announced it (control_batch.ts; its
// options' bytes reused for a run of plain spawns by one parent), else as Ergo's MessageSpawn;
// application start and info are Control requests. An answer is a batch entry when it can be
// one (a plain success, a spawned PID), else a MessageResult Control packet.

import type { ApplicationInfo } from '../../gen/application.js';
import type { Atom } from '../../gen/atom.js';
import type { RemoteApplicationStart, RemoteSpawnRequest } from '../../gen/core.js';
import { ErrIncorrect, ErrNotAllowed, toError } from '../../gen/errors.js';
import { toLogLevel } from '../../gen/log.js';
import { DEFAULT_REQUEST_TIMEOUT } from '../../gen/options.js';
import { PID } from '../../gen/pid.js';
import { ApplicationOptionsExtra, ProcessOptionsExtra, WireApplicationOptions } from '../edf/framework.js';
import { fromWireApplicationInfo } from './application_info.js';
import { plainSpawn, spawnRoute } from './control_batch.js';
import type { EnpLink } from './link.js';
import type { EnpLinkPool } from './link_pool.js';
import { MessageApplicationInfo, MessageApplicationStart, MessageResult, MessageSpawn } from './messages.js';
import { controlResultRouteOf, orderOf, poolKeyOf } from './order.js';
import type { WireID3 } from './packet.js';
import type { AnsweredRequest } from './inbound.js';
import { Ref } from '../../gen/ref.js';
import { toWireProcessOptions } from './spawn_options.js';
import { controlKey } from './waits.js';

/**
 * The connection these functions act on: an EnpConnection (connection.ts, which delegates here),
 * named by what they use of it, so that this file does not import connection.ts back.
 */
type ControlConn = EnpLinkPool & {
  spawnCache: { parent: PID; leader: PID; level: number; bytes: Uint8Array } | null;
  checkSpawned: ((v: unknown) => PID) | null;
  control<T>(request: MessageSpawn | MessageApplicationStart | MessageApplicationInfo): Promise<T>;
};

function num(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** EnpConnection.remoteSpawn: a control batch entry when both nodes announced it, else a MessageSpawn. */
export function remoteSpawnOn(c: ControlConn, name: Atom, request: RemoteSpawnRequest): Promise<PID> {
  if (c.peerFlags.enable && !c.peerFlags.enableRemoteSpawn)
    return Promise.reject(ErrNotAllowed.with(`${c.peer} does not allow remote spawn`));
  const plain = c.batching && plainSpawn(request);
  if (plain) {
    // The same parent spawning with default options again: the options' bytes of the last time.
    const k = c.spawnCache;
    if (
      k !== null &&
      k.parent.equals(request.parentPID) &&
      k.leader.equals(request.parentLeader) &&
      k.level === request.parentLogLevel
    )
      return spawnBatched(c, name, k.parent, k.bytes, false);
  }
  const options = new ProcessOptionsExtra({
    processOptions: toWireProcessOptions(request.processOptions),
    parentPID: request.parentPID,
    parentLeader: request.parentLeader,
    parentEnv: request.parentEnv,
    parentLogLevel: request.parentLogLevel,
    register: request.register,
    application: request.application,
    args: request.args.length > 0 ? request.args : null,
  });
  if (!c.batching) return c.control<unknown>(new MessageSpawn({ name, options })).then(spawnedPID(c.peer));
  return spawnBatched(c, name, request.parentPID, options, plain);
}

/**
 * A remote spawn request as a control batch entry, its options an object to encode or the bytes
 * of an earlier encoding (`keep`: remember this encoding for the next plain spawns). On the
 * parent's link, not round robin as the Control request: a run of spawns and their answers then
 * share one packet and one write per turn instead of one per link (see spawnRoute).
 */
function spawnBatched(
  c: ControlConn,
  name: Atom,
  parent: PID,
  options: ProcessOptionsExtra | Uint8Array,
  keep: boolean,
): Promise<PID> {
  const ref = c.core.makeRef();
  let link: EnpLink;
  try {
    link = c.link(spawnRoute(parent.id) >>> 8);
    const bytes = link.enc.batchSpawn(0, ref.id, name, options, keep);
    if (keep && bytes !== null && !(options instanceof Uint8Array)) {
      c.spawnCache = { parent, leader: options.parentLeader, level: num(options.parentLogLevel), bytes };
    }
  } catch (e) {
    return Promise.reject(e);
  }
  const p = c.requests.wait(controlKey(ref), DEFAULT_REQUEST_TIMEOUT, ref, (c.checkSpawned ??= spawnedPID(c.peer)));
  c.counted(link);
  return p;
}

/** EnpConnection.remoteApplicationStart: a MessageApplicationStart control request. */
export function remoteApplicationStartOn(c: ControlConn, name: Atom, request: RemoteApplicationStart): Promise<void> {
  if (c.peerFlags.enable && !c.peerFlags.enableRemoteApplicationStart) {
    return Promise.reject(ErrNotAllowed.with(`${c.peer} does not allow remote application start`));
  }
  const env = request.applicationOptions.env;
  const options = new ApplicationOptionsExtra({
    applicationOptions: new WireApplicationOptions({
      env: env === undefined ? null : env instanceof Map ? env : new Map(Object.entries(env)),
      logLevel: toLogLevel(request.applicationOptions.logLevel) ?? 0,
    }),
    corePID: request.corePID,
    coreEnv: request.coreEnv,
    coreLogLevel: request.coreLogLevel,
  });
  return c.control<void>(new MessageApplicationStart({ name, mode: request.mode, options }));
}

/**
 * Asks the peer for a snapshot of its application `name` (Ergo 3.2.0). Rejects with the peer's
 * error (ErrApplicationUnknown...), ErrMalformed for an answer that is not an application info,
 * ErrTimeout, ErrNoConnection. A peer older than 3.2.0 drops the request: ErrTimeout.
 */
export function remoteApplicationInfoOn(c: ControlConn, name: Atom): Promise<ApplicationInfo> {
  return c.control<unknown>(new MessageApplicationInfo({ name })).then((v) => fromWireApplicationInfo(v, c.peer));
}

/** The check of a remote spawn's answer: a PID, else ErrIncorrect. */
function spawnedPID(peer: string): (v: unknown) => PID {
  return (v) => {
    if (!(v instanceof PID)) throw ErrIncorrect.with(`remote spawn on ${peer} answered ${String(v)}`);
    return v;
  };
}

/**
 * EnpConnection.answerEntry: answers the peer's control batch entry `ref` — a batch entry itself
 * for a plain success or a PID of this node, else a MessageResult Control packet.
 */
export function answerEntryOn(c: ControlConn, route: number, ref: WireID3, err: Error | null, result: unknown): void {
  if (!c.isAlive) return;
  try {
    const l = c.link(poolKeyOf(route));
    if (c.batching && err === null && result === null) l.enc.batchResult(orderOf(route), ref, null);
    else if (c.batching && err === null && result instanceof PID && result.node === c.localName)
      l.enc.batchResult(orderOf(route), ref, result.id);
    else {
      const r = new Ref(c.peer, c.peerCreation, [Number(ref[0]), Number(ref[1]), Number(ref[2])]);
      l.enc.sendControl(route, new MessageResult({ error: err, result, ref: r }));
    }
    l.touch();
  } catch (e) {
    c.log.warning('result to %s dropped: %s', c.peer, toError(e).message);
  }
}

/** EnpConnection.answer: the MessageResult of the peer's control request `request`. */
export function answerOn(c: ControlConn, request: AnsweredRequest, err: Error | null, result: unknown): void {
  if (!c.isAlive) return;
  try {
    const route = controlResultRouteOf(request as never);
    const l = c.link(poolKeyOf(route));
    l.enc.sendControl(route, new MessageResult({ error: err, result, ref: request.ref }));
    l.touch();
  } catch (e) {
    c.log.warning('result to %s dropped: %s', c.peer, toError(e).message);
  }
}
