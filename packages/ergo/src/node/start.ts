// startNode: the entry point. Builds the engine, starts its services and the applications given
// in the options, and hands back the root handle (the engine itself stays private).

import type { Atom } from '../gen/atom.js';
import type { Node, NodeOptions } from '../gen/node.js';
import { ErrIncorrect } from '../gen/errors.js';
import { LogLevel } from '../gen/log.js';
import {
  validateEnv,
  validateLogLevelOption,
  validateLoggerFilter,
  validateMailboxSize,
  describeValue,
} from '../gen/validate.js';
import { NodeImpl, validateNodeName } from './node.js';
import { createSystemApp } from '../app/system/app.js';
import { ignorable } from '../gen/ignorable.js';
import { nodeVersionError } from './node_version.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Starts a node named `name` (`name@host`) and resolves with its root handle: the `Node` that
 * acts for the node itself (its stop() waits for every process). Rejects with ErrIncorrect for a
 * malformed name or options, or with the error of an application in `options.applications` that
 * failed to load or start (the node is stopped by force first). The node runs until
 * `stop()`/`stopForce()` (or a signal, with `handleSignals`).
 */
export function startNode(name: Atom | string, options: NodeOptions = {}): Promise<Node> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(startNodeAsync(name, options), undefined, 'startNode');
}

async function startNodeAsync(name: Atom | string, options: NodeOptions = {}): Promise<Node> {
  const tooOld = nodeVersionError();
  if (tooOld !== undefined) throw tooOld;
  const n = validateNodeName(name);
  const st = options.shutdownTimeout;
  if (st !== undefined && !(Number.isInteger(st) && st > 0 && st <= MAX_TIMER_MS)) {
    throw ErrIncorrect.with(`shutdownTimeout ${String(st)} (milliseconds, a positive integer)`);
  }
  validateNodeOptions(options);
  // Ergo: a node at LogLevel.Default runs at Info.
  if (options.log?.level === LogLevel.Default) options = { ...options, log: { ...options.log, level: LogLevel.Info } };
  const kg = options.killGraceMs;
  if (kg !== undefined && !(Number.isInteger(kg) && kg >= 0 && kg <= MAX_TIMER_MS)) {
    throw ErrIncorrect.with(`killGraceMs ${String(kg)} (milliseconds, an integer ≥ 0)`);
  }
  if (options.monitorCalls !== undefined && typeof options.monitorCalls !== 'boolean')
    throw ErrIncorrect.with(`monitorCalls ${String(options.monitorCalls)} (a boolean)`);
  const node = new NodeImpl(n, options);
  node.startServices();
  const root = node.root;
  try {
    if (options.network !== undefined) await node.net.start(options.network);
    // Ergo's StartNode puts the system application first (system_inspect answers inspectors).
    if (options.systemApp !== false)
      await root.applicationStart(
        await root.applicationLoad(createSystemApp(options.security?.inspectMessages !== false)),
      );
    for (const app of options.applications ?? []) {
      const name = await root.applicationLoad(app);
      await root.applicationStart(name);
    }
  } catch (e) {
    await root.stopForce().catch(() => undefined);
    throw e;
  }
  return root;
}

/**
 * Checks the node options the node constructor reads (with the validators the matching setters
 * use), so a bad value fails startNode before anything starts.
 * @throws ErrIncorrect.
 */
function validateNodeOptions(options: NodeOptions): void {
  if (options === null || typeof options !== 'object')
    throw ErrIncorrect.with(`node options ${describeValue(options)} (expected an object)`);
  if (options.env !== undefined) validateEnv(options.env, 'env');
  if (options.mailboxSize !== undefined) validateMailboxSize(options.mailboxSize, 'mailboxSize');
  if (options.mailboxHighWater !== undefined) validateMailboxSize(options.mailboxHighWater, 'mailboxHighWater');
  const log = options.log;
  if (log === undefined) return;
  if (log === null || typeof log !== 'object')
    throw ErrIncorrect.with(`log ${describeValue(log)} (expected an object)`);
  if (log.level !== undefined) validateLogLevelOption(log.level, 'log.level');
  if (log.loggers !== undefined) {
    if (!Array.isArray(log.loggers))
      throw ErrIncorrect.with(`log.loggers ${describeValue(log.loggers)} (expected an array)`);
    for (const l of log.loggers) {
      if (l === null || typeof l !== 'object')
        throw ErrIncorrect.with(`log.loggers entry ${describeValue(l)} (expected { name, logger, filter? })`);
      if (l.filter !== undefined) validateLoggerFilter(l.filter, `log.loggers "${l.name}" filter`);
    }
  }
  if (log.defaultLogger?.filter !== undefined)
    validateLoggerFilter(log.defaultLogger.filter, 'log.defaultLogger.filter');
}
