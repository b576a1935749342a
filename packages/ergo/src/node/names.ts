// Names and aliases of a node: the registered-name table (one name per process, one process per
// name) and the alias table (any number of aliases per process). Both live on the engine
// (`names`, `aliasTable`, read directly by the router on the send path); these are the rules for
// changing them. Ending a name or an alias turns every link and monitor on it into one
// notification: ErrUnregistered when it was given up, the owner's reason when the owner ended.

import { ATOM_MAX_BYTES, utf8Length, type Atom } from '../gen/atom.js';
import { ErrAtomTooLong, ErrNameUnknown, ErrProcessUnknown, ErrTaken, ErrUnregistered } from '../gen/errors.js';
import { MessageLogProcess } from '../gen/log.js';
import { PID } from '../gen/pid.js';
import { ProcessID } from '../gen/processid.js';
import type { Alias } from '../gen/ref.js';
import { describeValue } from '../gen/validate.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { S_INIT } from './process_state.js';
import { ErrIncorrect } from '../gen/errors.js';

/** Validates a registered name. */
export function validateName(name: unknown): Atom {
  if (typeof name !== 'string' || name === '') throw ErrIncorrect.with('name must be a non-empty string');
  if (utf8Length(name) > ATOM_MAX_BYTES) throw ErrAtomTooLong.with(name);
  return name as Atom;
}

/**
 * Registers `name` for the local process `pid`. Throws ErrNodeTerminated (stopped), ErrIncorrect
 * (not a name, or `pid` not a PID), ErrAtomTooLong, ErrProcessUnknown, ErrTaken (the name is
 * used, or the process already has one: a process holds at most one name).
 */
export function registerName(node: NodeImpl, name: Atom | string, pid: PID): void {
  node.checkAlive();
  const n = validateName(name);
  bindName(node, n, node.processArg(pid, 'registerName'));
}

/**
 * Registers `name` for a process of this node that may still be in init (Ergo 3.2 allows
 * RegisterName there): like a spawn-time name, it takes mail at once (queued until init ends),
 * while lookups by name (processPID, inspect) see the process only once it is in the table. A
 * failed init releases it. Throws ErrNodeTerminated, ErrIncorrect, ErrAtomTooLong, ErrTaken.
 */
export function registerNameOf(node: NodeImpl, name: Atom | string, p: ProcessImpl): void {
  node.checkAlive();
  bindName(node, validateName(name), p);
}

function bindName(node: NodeImpl, n: Atom, p: ProcessImpl): void {
  if (node.names.has(n)) throw ErrTaken.with(`name '${n}'`);
  if (p.name !== '') throw ErrTaken.with(`${p.pid} is registered as '${p.name}'`);
  node.names.set(n, p);
  p.name = n;
  // Keep the source a MessageLogProcess (loggers tell sources apart with instanceof).
  if (p.logHandle !== null) p.logHandle.source = new MessageLogProcess(node.name, p.pid, n, p.behaviorName());
}

/**
 * Gives up `name`; returns the PID that held it. Links and monitors on the name end with
 * ErrUnregistered. Throws ErrNodeTerminated (stopped), ErrNameUnknown.
 */
export function unregisterName(node: NodeImpl, name: Atom | string): PID {
  node.checkAlive();
  const p = node.names.get(name as Atom);
  if (p === undefined) throw ErrNameUnknown.with(`'${typeof name === 'string' ? name : describeValue(name)}'`);
  node.names.delete(name as Atom);
  p.name = '' as Atom;
  node.relations.targetEnded(new ProcessID(name as Atom, node.name), ErrUnregistered, node.pid);
  return p.pid;
}

/** The name of a local process ('' when it has none). ErrIncorrect, ErrProcessUnknown. */
export function processName(node: NodeImpl, pid: PID): Atom {
  node.checkAlive();
  return node.processArg(pid, 'processName').name;
}

/**
 * The PID registered under `name`. A name reserved by a spawn whose init is still running is not
 * resolved yet (ErrProcessUnknown), as in Ergo.
 */
export function processPID(node: NodeImpl, name: Atom | string): PID {
  node.checkAlive();
  if (typeof name !== 'string') throw ErrIncorrect.with(`processPID: ${describeValue(name)} is not a name`);
  const p = node.names.get(name as Atom);
  if (p === undefined || p.st === S_INIT) throw ErrProcessUnknown.with(`'${name}'`);
  return p.pid;
}

/**
 * The local process a target names, for operations that accept a PID or a registered name (a
 * string, or a ProcessID of this node): ErrIncorrect for anything else, ErrProcessUnknown (naming
 * the target) when nothing local answers to it.
 */
export function resolveLocal(node: NodeImpl, target: unknown, op: string): ProcessImpl {
  if (target instanceof PID) return node.localProcess(target);
  let name: Atom;
  if (typeof target === 'string' && target !== '') name = target as Atom;
  else if (target instanceof ProcessID && (target.node === '' || target.node === node.name)) name = target.name;
  else throw ErrIncorrect.with(`${op}: ${describeValue(target)} is neither a PID nor a registered name`);
  const p = node.names.get(name);
  if (p === undefined || p.st === S_INIT) throw ErrProcessUnknown.with(`no process is registered as '${name}'`);
  return p;
}

/** Adds an alias of `p`. ErrTaken when it exists. */
export function registerAlias(node: NodeImpl, alias: Alias, p: ProcessImpl): void {
  if (node.aliasTable.has(alias.key)) throw ErrTaken.with(alias.toString());
  node.aliasTable.set(alias.key, p);
}

/** Removes an alias and notifies its watchers (ErrUnregistered). */
export function unregisterAlias(node: NodeImpl, alias: Alias): void {
  node.aliasTable.delete(alias.key);
  node.relations.targetEnded(alias, ErrUnregistered, node.pid);
}

/** Drops an alias of a terminating process, notifying watchers with its reason. */
export function dropAlias(node: NodeImpl, alias: Alias, reason: Error): void {
  node.aliasTable.delete(alias.key);
  node.relations.targetEnded(alias, reason, node.pid);
}
