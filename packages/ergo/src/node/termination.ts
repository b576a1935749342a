// How processes end: terminate (normal path, from a returned reason, an exit signal, a panic),
// kill (zombee rule, bounded by the kill grace), and failed init. Termination removes everything
// the process owned and turns every relation on it into one notification.

import {
  ErrProcessTerminated,
  isNormalReason,
  TerminateReasonKill,
  TerminateReasonPanic,
  toError,
  unwrapReason,
} from '../gen/errors.js';
import { PID } from '../gen/pid.js';
import { ProcessID } from '../gen/processid.js';
import { panicChannel } from './diagnostics.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { isGone, S_DETACHED, S_RUNNING, S_SLEEP, S_TERMINATED, S_WAIT, S_ZOMBEE } from './process_state.js';
import { isThenable } from '../lib/thenable.js';
import { unrefTimer } from '../lib/host.js';

function callFailure(p: ProcessImpl, reason: Error): Error {
  return ErrProcessTerminated.with(`${p.pid} terminated: ${reason.message}`, reason);
}

/** Drops everything a process owns and notifies its watchers. */
function release(node: NodeImpl, p: ProcessImpl, reason: Error): void {
  if (p.timers !== null) {
    for (const h of p.timers) clearTimeout(h);
    p.timers = null;
  }
  // Calls this process was waiting for end with it.
  if (p.ownCalls !== null) {
    const err = ErrProcessTerminated.with(`${p.pid} terminated while waiting for a reply`);
    node.calls.failOwnedBy(p, err);
  }
  // Calls this process held: queued or being handled fail at once; a deferred reply may still
  // come from elsewhere unless the process ended abnormally.
  if (p.heldCalls !== null || p.remoteHeld !== null) {
    const err = callFailure(p, reason);
    const abnormal = !isNormalReason(reason);
    const live = p.mb.liveRequestIds();
    // A call that monitors its callee fails whatever the reason (CallOptions.monitor).
    if (p.heldCalls !== null)
      node.calls.failHeldBy(p, (c) => (abnormal || c.watch !== null || live.has(c.ref.id[0]) ? err : undefined));
    // Callers on other nodes by the same rule: an error response each (ENP code 3).
    if (p.remoteHeld !== null) {
      const dead = node.remoteRequests.takeHeldBy(p, (r) => abnormal || live.has(r.ref.id[0]));
      for (const r of dead) node.router.routeResponse(p.pid, r.caller, r.ref, false, err);
    }
  }
  p.mb.clear();
  node.relations.consumerEnded(p);
  node.relations.targetEnded(p.pid, reason, p.pid, p);
  if (node.nodeNotices.size > 0) node.nodeNotices.processEnded(p);
  if (p.name !== '') {
    if (node.names.get(p.name) === p) {
      node.names.delete(p.name);
      node.relations.targetEnded(new ProcessID(p.name, node.name), reason, node.pid);
    }
  }
  if (p.aliasList !== null) {
    for (const a of p.aliasList) node.dropAlias(a, reason);
  }
  if (p.eventNames !== null) {
    for (const name of p.eventNames) node.events.producerEnded(name, reason);
  }
  if (node.metas.size > 0) node.metas.parentEnded(p, reason);
  if (p.loggerName !== '') {
    try {
      node.logRegistry.delete(p.loggerName);
    } catch {
      // already removed
    }
    p.loggerName = '';
    // Its own logging comes back for terminate (Ergo re-enables it too).
    p.logHandle?.forceLevel(p.logLevel);
  }
}

/**
 * Terminates `p`: leaves the table, releases what it owned, notifies watchers with the reason
 * unwrapped one level, then runs the behaviour's terminate callback (guarded, may be async).
 */
export function terminateProcess(node: NodeImpl, p: ProcessImpl, reason: Error): void {
  if (isGone(p.st)) return;
  p.st = S_TERMINATED;
  node.processes.delete(p.pid.id);
  const unwrapped = unwrapReason(reason);
  if (!isNormalReason(unwrapped) && unwrapped !== TerminateReasonPanic) {
    node.log.error('process %s terminated abnormally - %s', p.pid.toString(), reason.message);
    node.crashes.exited(p, unwrapped);
  }
  release(node, p, unwrapped);
  try {
    const r = p.behaviorObj.processTerminate(reason);
    if (isThenable(r)) {
      r.then(undefined, (e: unknown) => logTerminatePanic(node, p, e));
    }
  } catch (e) {
    logTerminatePanic(node, p, e);
  }
  node.processTerminated(p, unwrapped);
}

/** Runs terminate for a process whose init succeeded but which the engine refused afterwards. */
export function terminateAfterInit(node: NodeImpl, p: ProcessImpl, reason: Error): void {
  try {
    const r = p.behaviorObj.processTerminate(reason);
    if (isThenable(r)) r.then(undefined, (e: unknown) => logTerminatePanic(node, p, e));
  } catch (e) {
    logTerminatePanic(node, p, e);
  }
}

function logTerminatePanic(node: NodeImpl, p: ProcessImpl, e: unknown): void {
  const err = toError(e);
  node.log.panic('panic in terminate of %s: %s', p.pid.toString(), err.stack ?? err.message);
}

/** A callback threw or rejected. A zombee simply finishes as killed. */
export function panicProcess(node: NodeImpl, p: ProcessImpl, e: unknown, where: string): void {
  if (isGone(p.st)) return;
  if (p.st === S_ZOMBEE) {
    terminateProcess(node, p, TerminateReasonKill);
    return;
  }
  const err = toError(e);
  const log = p.loggerName !== '' ? node.log : p.log;
  log.panic('process %s terminated: panic in %s: %s', p.pid.toString(), where, err.stack ?? err.message);
  if (panicChannel.hasSubscribers) panicChannel.publish({ node: node.name, pid: p.pid, error: err });
  // Before the exit signal goes out: a supervisor handling it finds the error here.
  node.crashes.panicked(p, where, err);
  terminateProcess(node, p, TerminateReasonPanic);
}

/**
 * Kill: an idle process terminates now; a running one becomes a zombee until its handler
 * settles, for at most the node's kill grace (`killGraceMs`). When the grace passes first, the
 * process is terminated (reason kill) and detached: whatever its handler does later is ignored,
 * and every operation it attempts fails (see detach).
 */
export function killProcess(node: NodeImpl, p: ProcessImpl): void {
  switch (p.st) {
    case S_SLEEP:
      terminateProcess(node, p, TerminateReasonKill);
      return;
    case S_RUNNING:
    case S_WAIT:
      p.st = S_ZOMBEE;
      if (p.ownCalls !== null) {
        const err = ErrProcessTerminated.with(`${p.pid} was killed while waiting for a reply`);
        node.calls.failOwnedBy(p, err);
      }
      failHeldCalls(node, p);
      armKillGrace(node, p);
      return;
  }
}

/**
 * A zombee can never answer (its handler's later return is ignored), so every call it holds —
 * the one being handled, deferred ones, ones queued behind it, local or from another node —
 * fails to its caller now, as Erlang's caller learns at once, not at its timeout or the end of
 * the kill grace.
 */
function failHeldCalls(node: NodeImpl, p: ProcessImpl): void {
  if (p.heldCalls === null && p.remoteHeld === null) return;
  const err = callFailure(p, TerminateReasonKill);
  if (p.heldCalls !== null) node.calls.failHeldBy(p, () => err);
  if (p.remoteHeld !== null) {
    for (const r of node.remoteRequests.takeHeldBy(p, () => true))
      node.router.routeResponse(p.pid, r.caller, r.ref, false, err);
  }
}

/** Ends a zombee at the end of the grace unless its handler settled first (release clears it). */
function armKillGrace(node: NodeImpl, p: ProcessImpl): void {
  if (node.killGrace === 0) {
    detach(node, p);
    return;
  }
  const timers = (p.timers ??= new Set());
  const h = setTimeout(() => {
    timers.delete(h);
    if (p.st === S_ZOMBEE) {
      node.log.warning(
        'process %s was killed and its handler did not return within %d ms: terminated and detached',
        p.pid.toString(),
        node.killGrace,
      );
      detach(node, p);
    }
  }, node.killGrace);
  // The grace never keeps the OS process alive by itself (a graceful stop holds its own timer).
  unrefTimer(h);
  timers.add(h);
}

/**
 * Terminates a zombee whose handler is still running, as killed (its terminate callback runs, as
 * for any termination), then detaches it: its state becomes S_DETACHED, outside every state mask,
 * so every process operation its late continuation attempts (send, call, spawn, link...) fails,
 * as does everything through its node handle; the value its handler finally returns or throws is
 * ignored. It is out of every table already, so nothing can reach it either.
 */
export function detach(node: NodeImpl, p: ProcessImpl): void {
  terminateProcess(node, p, TerminateReasonKill);
  p.st = S_DETACHED;
}

/**
 * Forced termination (stopForce, shutdown timeout): ends the process whatever it is doing. One
 * whose handler is still running is detached, as at the end of a kill grace.
 */
export function forceTerminate(node: NodeImpl, p: ProcessImpl): void {
  if (p.st === S_RUNNING || p.st === S_WAIT || p.st === S_ZOMBEE) detach(node, p);
  else terminateProcess(node, p, TerminateReasonKill);
}

/** Init failed (error, throw, timeout, node stopping): undo the spawn; terminate is not called. */
export function failedInit(node: NodeImpl, p: ProcessImpl, err: Error): void {
  node.initing.delete(p.pid.id);
  if (isGone(p.st)) return;
  // Children spawned during init with LinkChild are stopped with the same reason.
  const own = node.targets.targetsOf(p).links;
  p.st = S_TERMINATED;
  release(node, p, err);
  for (const t of own) {
    if (t instanceof PID && t.node === node.name) {
      const child = node.processes.get(t.id);
      if (child !== undefined && child.parent.equals(p.pid)) node.shutdownExit(child, err);
    }
  }
}
