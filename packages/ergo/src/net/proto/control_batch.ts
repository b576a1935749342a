// The ergo-ts control batch (packet type 231): between two ergo-ts nodes that both announce the
// `controlBatch` handshake flag (NetworkFlags bit 61; Go peers never announce it and keep today's
// Control packets), the most frequent control requests and their plain answers travel as small
// fixed-layout entries, many per ENP packet, instead of one EDF-encoded MessageMonitorPID /
// MessageDemonitorPID / MessageSpawn / MessageResult packet each.
//
// What it changes (and what it does not):
// - Requests a process makes in a row on one link share one packet: the encoder appends an entry
//   to the packet it wrote last when that packet is a batch (EnpEncoder.batch*), so the stream
//   order of every packet is exactly as before; any other packet in between starts a new batch.
// - An entry carries ids only: the requester's source PID and ref are its own node's, the target
//   the peer's current incarnation (anything else goes as a Control packet, as before).
// - A demonitor gets no answer (Go answers it, ergo-ts ignored the answer).
// - Answers: success (MessageResult with nil error and nil result) and a spawned PID are entries;
//   an error, or any other result, is the usual MessageResult Control packet.
// - Spawn: the options travel as their EDF encoding, with a length; the receiver decodes the
//   same bytes once for a run of spawns with identical options (see EnpDecoder).
//
// Layout after the 8-byte ENP header, entries back to back (integers big-endian):
//   1 monitor PID    u8 kind, u64 source id, u64 target id, 3×u64 ref ids
//   2 demonitor PID  u8 kind, u64 source id, u64 target id
//   3 spawn          u8 kind, 3×u64 ref ids, u8 name length + name, u32 length + EDF options
//   4 result ok      u8 kind, 3×u64 ref ids
//   5 result PID     u8 kind, 3×u64 ref ids, u64 PID id (the answering node's, its creation)

import type { Atom } from '../../gen/atom.js';
import type { Core, RemoteSpawnRequest } from '../../gen/core.js';
import { toError } from '../../gen/errors.js';
import type { Log } from '../../gen/log.js';
import { PID } from '../../gen/pid.js';
import type { NetworkFlags, ProcessOptionsExtra } from '../edf/framework.js';
import { mod255 } from './order.js';
import type { WireID3 } from './packet.js';
import { spawnRequestOf } from './spawn_options.js';
import type { RequestTable } from './waits.js';

/** Entry kinds of a control batch packet. */
export const BatchEntry = Object.freeze({
  MonitorPID: 1,
  DemonitorPID: 2,
  Spawn: 3,
  ResultOK: 4,
  ResultPID: 5,
});

/** A batch packet is closed (the next entry starts another) once it holds this many bytes. */
export const BATCH_PACKET_LIMIT = 60_000;

/** One decoded entry of a control batch packet (fields the kind does not carry stay zero). */
export class ControlBatchEntry {
  constructor(
    readonly kind: number,
    /** Source id (monitor, demonitor) or the spawned PID's id (result PID). */
    readonly a: number | bigint,
    /** Target id (monitor, demonitor). */
    readonly b: number | bigint,
    /** The requester's ref ids (monitor, spawn, results). */
    readonly ref: WireID3,
    /** Spawn: the factory name. */
    readonly name: string,
    /** Spawn: the decoded options. */
    readonly options: ProcessOptionsExtra | null,
  ) {}
}

/** What the dispatch of a batch needs of its connection (EnpConnection). */
export interface BatchConnection {
  readonly peer: Atom;
  readonly peerCreation: number;
  readonly log: Log;
  /** This node's announced flags (remote spawn allowed). */
  readonly localFlags: NetworkFlags;
  /** The connection's waiting requests. */
  readonly requests: RequestTable;
  /**
   * Answers the peer's request `ref` (its ids; the ref is the peer's), on the link `route` picks:
   * an entry when it can be one, else a MessageResult Control packet.
   */
  answerEntry(route: number, ref: WireID3, err: Error | null, result: unknown): void;
  /** Writes the answers encoded so far now, rather than at the end of the task. */
  flushAnswers(): void;
}

/**
 * Spawns of one batch after which their answers are written at once, mid-batch. A peer keeping
 * many spawns in flight (a window of 100) sends them in one batch; answered all at the end, the
 * peer would wait for the whole batch and this node for the peer's next one, each side idle while
 * the other works. Written every 16, the peer handles the first answers (and sends its next
 * requests) while this node spawns the rest (issue 47).
 */
export const SPAWN_ANSWERS_EVERY = 16;

function num(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/**
 * Route of a batched spawn request and of its answer: pool key and order from the parent's id
 * (a key of 0 would be round robin; the key is never 0 here).
 */
export function spawnRoute(parentID: number | bigint): number {
  return (batchKey(parentID) << 8) | mod255(parentID);
}

/** The pool key of a batched request from `sourceID`: its Control route's key, but never 0 (round robin). */
export function batchKey(sourceID: number | bigint): number {
  const k = mod255(sourceID);
  return k === 0 ? 1 : k;
}

/**
 * A spawn with default options, no env, args, registered name or application: its options'
 * bytes depend on the parent, its leader and log level only, so they may be encoded once.
 */
export function plainSpawn(r: RemoteSpawnRequest): boolean {
  if (r.parentEnv !== null || r.args.length > 0 || r.register !== '' || r.application !== '') return false;
  for (const _ in r.processOptions) return false;
  return true;
}

/** The result's route of a request from `sourceID` about `targetID` (controlResultRouteOf). */
function resultRoute(targetID: number | bigint, sourceID: number | bigint): number {
  return (mod255(targetID) << 8) | mod255(sourceID);
}

/**
 * Acts on the entries of one control batch packet, in order, as the Control packets they stand
 * for would have been: requests go to the core and are answered (demonitors are not), answers
 * settle this node's waiting requests.
 */
export function dispatchControlBatch(entries: ControlBatchEntry[], core: Core, conn: BatchConnection): void {
  const local = core.name();
  const localCreation = core.creation();
  let spawns = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    switch (e.kind) {
      case BatchEntry.ResultOK:
        conn.requests.settleBatched(e.ref, null);
        break;
      case BatchEntry.ResultPID:
        conn.requests.settleBatched(e.ref, new PID(conn.peer, num(e.a), conn.peerCreation));
        break;
      case BatchEntry.MonitorPID: {
        let err: Error | null = null;
        try {
          core.routeMonitorPID(
            new PID(conn.peer, num(e.a), conn.peerCreation),
            new PID(local, num(e.b), localCreation),
          );
        } catch (x) {
          err = toError(x);
        }
        conn.answerEntry(resultRoute(e.b, e.a), e.ref, err, null);
        break;
      }
      case BatchEntry.DemonitorPID:
        try {
          core.routeDemonitorPID(
            new PID(conn.peer, num(e.a), conn.peerCreation),
            new PID(local, num(e.b), localCreation),
          );
        } catch {
          // As a Control demonitor's error answer, which the requester ignores.
        }
        break;
      case BatchEntry.Spawn:
        spawnEntry(e, core, conn, local);
        if (++spawns % SPAWN_ANSWERS_EVERY === 0 && i < entries.length - 1) conn.flushAnswers();
        break;
    }
  }
}

function spawnEntry(e: ControlBatchEntry, core: Core, conn: BatchConnection, local: Atom): void {
  if (!conn.localFlags.enableRemoteSpawn) {
    conn.log.warning('remote spawn of %s by %s refused: not enabled', e.name, conn.peer);
    return;
  }
  const o = e.options!;
  let request = lastRequest;
  // Options the decoder reused (same bytes as the last spawn's): the request built from them.
  if (o !== lastOptions) {
    request = spawnRequestOf(o);
    lastOptions = o;
    lastRequest = request;
  }
  const route = spawnRoute(o.parentPID.id);
  let r: PID | Promise<PID>;
  try {
    r = core.routeSpawnNow(local, e.name as Atom, request!, conn.peer);
  } catch (x) {
    conn.answerEntry(route, e.ref, toError(x), ZERO_PID);
    return;
  }
  // Init returned at once (the usual case): answered now, no Promise per request.
  if (r instanceof PID) conn.answerEntry(route, e.ref, null, r);
  else
    r.then(
      (pid) => conn.answerEntry(route, e.ref, null, pid),
      (x: unknown) => conn.answerEntry(route, e.ref, toError(x), ZERO_PID),
    );
}

const ZERO_PID = new PID('' as Atom, 0, 0);
// The last batched spawn's decoded options and the request made of them (routeSpawn copies what
// it changes; the request is never modified).
let lastOptions: ProcessOptionsExtra | null = null;
let lastRequest: RemoteSpawnRequest | null = null;
