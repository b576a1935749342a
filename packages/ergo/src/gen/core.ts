// Core: what a protocol connection may ask of its node (Ergo's gen/core.go, in camelCase). A
// connection decodes frames and calls these methods to deliver traffic to local targets, to
// record and drop watchers that live on the remote node, to report that a remote target ended,
// and to report that the whole node went away. The engine implements it; the network stack and
// the Erlang package only ever see this interface.
//
// Every `route*` method throws an ErgoError (with a stable code) that the connection sends back
// to the peer when the operation had a reply (important delivery, link/monitor requests, spawn).

import type { ApplicationInfo, ApplicationMode, ApplicationOptions } from './application.js';
import type { Atom } from './atom.js';
import type { Event } from './event.js';
import type { LogLevel } from './log.js';
import type { MessageEvent } from './messages.js';
import type { SecurityOptions } from './node.js';
import type { MessageOptions, ProcessOptions } from './options.js';
import type { PID } from './pid.js';
import type { ProcessID } from './processid.js';
import type { Alias, Ref } from './ref.js';

/** The name of the node-level event every node registers at start and never publishes. */
export const CoreEvent = 'core' as Atom;

/**
 * A remote spawn request (Ergo's `gen.ProcessOptionsExtra`): who asks, and what the child
 * inherits from its remote parent. `register` is '' for an unnamed child.
 */
export interface RemoteSpawnRequest {
  processOptions: ProcessOptions;
  parentPID: PID;
  parentLeader: PID;
  parentEnv: Map<string, unknown> | null;
  parentLogLevel: LogLevel;
  register: Atom;
  application: Atom;
  args: unknown[];
}

/** A remote application start (Ergo's `gen.ApplicationOptionsExtra` plus the mode). */
export interface RemoteApplicationStart {
  mode: ApplicationMode;
  applicationOptions: ApplicationOptions;
  corePID: PID;
  coreEnv: Map<string, unknown> | null;
  coreLogLevel: LogLevel;
}

/**
 * The node as a connection sees it. `from` / `pid` arguments are remote PIDs (their node is the
 * connection's peer); targets are local. Throws ErrProcessUnknown, ErrProcessTerminated,
 * ErrProcessMailboxFull, ErrNodeTerminated... as a local send would.
 */
export interface Core {
  // --- messages ------------------------------------------------------------------------------
  routeSendPID(from: PID, to: PID, options: MessageOptions, message: unknown): void;
  routeSendProcessID(from: PID, to: ProcessID, options: MessageOptions, message: unknown): void;
  routeSendAlias(from: PID, to: Alias, options: MessageOptions, message: unknown): void;
  /** An event published on the remote node, for the local subscribers of `message.event`. */
  routeSendEvent(from: PID, token: Ref, options: MessageOptions, message: MessageEvent): void;
  /**
   * An exit signal from `from` to local `to`. `ignoreUnlessTrapped` applies Erlang's rule (the
   * Erlang distribution sets it for reason `normal`): a process that does not trap exits ignores
   * the signal instead of terminating.
   */
  routeSendExit(from: PID, to: PID, reason: Error, ignoreUnlessTrapped?: boolean): void;
  /**
   * A reply to a local call (`options.ref`); `ok` false: `message` is the Error to reject with. A
   * reply nobody waits for is dropped, except an important one (`options.important`), which
   * throws ErrResponseIgnored for the connection to report in its ack (Ergo 3.2).
   */
  routeSendResponse(from: PID, to: PID, options: MessageOptions, message: unknown, ok?: boolean): void;

  // --- requests ------------------------------------------------------------------------------
  routeCallPID(from: PID, to: PID, options: MessageOptions, message: unknown): void;
  routeCallProcessID(from: PID, to: ProcessID, options: MessageOptions, message: unknown): void;
  routeCallAlias(from: PID, to: Alias, options: MessageOptions, message: unknown): void;

  // --- remote watchers (a process of the peer links to / monitors a local target) -------------
  routeLinkPID(pid: PID, target: PID): void;
  routeUnlinkPID(pid: PID, target: PID): void;
  routeLinkProcessID(pid: PID, target: ProcessID): void;
  routeUnlinkProcessID(pid: PID, target: ProcessID): void;
  routeLinkAlias(pid: PID, target: Alias): void;
  routeUnlinkAlias(pid: PID, target: Alias): void;
  /** Returns the event's buffered messages. */
  routeLinkEvent(pid: PID, target: Event): MessageEvent[];
  routeUnlinkEvent(pid: PID, target: Event): void;
  routeMonitorPID(pid: PID, target: PID): void;
  routeDemonitorPID(pid: PID, target: PID): void;
  routeMonitorProcessID(pid: PID, target: ProcessID): void;
  routeDemonitorProcessID(pid: PID, target: ProcessID): void;
  routeMonitorAlias(pid: PID, target: Alias): void;
  routeDemonitorAlias(pid: PID, target: Alias): void;
  routeMonitorEvent(pid: PID, target: Event): MessageEvent[];
  routeDemonitorEvent(pid: PID, target: Event): void;

  // --- remote targets ended (local watchers get exit/down with `reason`) ---------------------
  /**
   * `ignoreUnlessTrapped`: the exit signals the target's links produce follow Erlang's rule for
   * reason `normal` (a process that does not trap exits ignores it; one that does gets the
   * MessageExitPID). Erlang connections set it; ergo-ts and Go Ergo links keep Ergo's rule.
   */
  routeTerminatePID(target: PID, reason: Error, ignoreUnlessTrapped?: boolean): void;
  routeTerminateProcessID(target: ProcessID, reason: Error): void;
  routeTerminateEvent(target: Event, reason: Error): void;
  routeTerminateAlias(target: Alias, reason: Error): void;

  // --- remote spawn and application start ----------------------------------------------------
  /** Spawns the factory enabled under `name` for `source`. ErrNotAllowed when not enabled for it. */
  routeSpawn(node: Atom, name: Atom, request: RemoteSpawnRequest, source: Atom): Promise<PID>;
  /**
   * {@link Core.routeSpawn} for a caller that answers at once: the PID when init returned
   * synchronously (no Promise per request), a Promise when init is async or the spawn failed;
   * throws when the spawn is refused (ErrNotAllowed, bad options).
   */
  routeSpawnNow(node: Atom, name: Atom, request: RemoteSpawnRequest, source: Atom): PID | Promise<PID>;
  routeApplicationStart(name: Atom, request: RemoteApplicationStart, source: Atom): Promise<void>;
  /**
   * A snapshot of application `name` for node `source` (Ergo 3.2.0's remote ApplicationInfo);
   * env only with `security.exposeEnvInfo`. Throws ErrApplicationUnknown.
   */
  routeApplicationInfo(name: Atom, source: Atom): ApplicationInfo;

  /**
   * The connection to `node` is gone: local watchers of its targets get exit/down with
   * ErrNoConnection, watchers of the node itself MessageExitNode/MessageDownNode, its remote
   * watchers are dropped, and calls waiting for it fail with ErrNoConnection.
   */
  routeNodeDown(node: Atom, reason: Error): void;
  /**
   * A connection to `node` is up (the handshake is done): processes that asked for node notices
   * get MessageNodeUp. Port extension; the network and the Erlang package call it.
   */
  routeNodeUp(node: Atom): void;

  makeRef(): Ref;
  name(): Atom;
  creation(): number;
  pid(): PID;
  logLevel(): LogLevel;
  security(): SecurityOptions;
  envList(): Record<string, unknown>;
}
