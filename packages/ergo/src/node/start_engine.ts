// The start of a node on any platform: validates the options, builds the engine with the parts
// the platform's entry gives (start.ts for Node: the network stack, the EDF codec, the system
// application; browser.ts: none of them), starts its services and the applications given in the
// options, and hands back the root handle (the engine itself stays private).

import type { ApplicationBehavior } from '../gen/application.js';
import type { Atom } from '../gen/atom.js';
import type { Node, NodeOptions } from '../gen/node.js';
import { ErrIncorrect, ErrUnsupported } from '../gen/errors.js';
import { LogLevel } from '../gen/log.js';
import {
  validateEnv,
  validateLogLevelOption,
  validateLoggerFilter,
  validateMailboxSize,
  describeValue,
} from '../gen/validate.js';
import { NodeImpl, validateNodeName, type EngineParts } from './node.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

/** The parts of a platform's nodes (see EngineParts), and the system application's maker. */
export interface PlatformParts extends EngineParts {
  /** Makes the system application (inspectors); null: nodes start without it. */
  systemApp: ((inspectMessages: boolean) => ApplicationBehavior) | null;
}

/**
 * Starts a node with a platform's parts (the body of both entries' startNode): rejects with
 * ErrIncorrect for a malformed name or options, ErrUnsupported for an option the platform has
 * no part for (`network`, `simulateRemote` in the browser), or the error of an application in
 * `options.applications` that failed to load or start (the node is stopped by force first).
 */
export async function startEngine(name: Atom | string, options: NodeOptions, parts: PlatformParts): Promise<Node> {
  const n = validateNodeName(name);
  const st = options.shutdownTimeout;
  if (st !== undefined && !(Number.isInteger(st) && st > 0 && st <= MAX_TIMER_MS)) {
    throw ErrIncorrect.with(`shutdownTimeout ${String(st)} (milliseconds, a positive integer)`);
  }
  validateNodeOptions(options);
  if (options.network !== undefined && parts.network === null)
    throw ErrUnsupported.with('the network option: this platform has no network stack (see attachProtocol)');
  // Ergo: a node at LogLevel.Default runs at Info.
  if (options.log?.level === LogLevel.Default) options = { ...options, log: { ...options.log, level: LogLevel.Info } };
  const kg = options.killGraceMs;
  if (kg !== undefined && !(Number.isInteger(kg) && kg >= 0 && kg <= MAX_TIMER_MS)) {
    throw ErrIncorrect.with(`killGraceMs ${String(kg)} (milliseconds, an integer ≥ 0)`);
  }
  if (options.monitorCalls !== undefined && typeof options.monitorCalls !== 'boolean')
    throw ErrIncorrect.with(`monitorCalls ${String(options.monitorCalls)} (a boolean)`);
  const node = new NodeImpl(n, options, parts);
  node.startServices();
  const root = node.root;
  try {
    if (options.network !== undefined) await node.net.start(options.network);
    // Ergo's StartNode puts the system application first (system_inspect answers inspectors).
    if (options.systemApp !== false && parts.systemApp !== null)
      await root.applicationStart(
        await root.applicationLoad(parts.systemApp(options.security?.inspectMessages !== false)),
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
  const inc = options.incarnation;
  if (inc !== undefined) {
    if (inc === null || typeof inc !== 'object')
      throw ErrIncorrect.with(`incarnation ${describeValue(inc)} (expected { creation, firstID })`);
    if (!(Number.isInteger(inc.creation) && inc.creation >= 1 && inc.creation < 2 ** 32))
      throw ErrIncorrect.with(`incarnation.creation ${describeValue(inc.creation)} (an integer 1 .. 2^32-1)`);
    if (!(Number.isSafeInteger(inc.firstID) && inc.firstID > 1001))
      throw ErrIncorrect.with(`incarnation.firstID ${describeValue(inc.firstID)} (a safe integer above 1001)`);
  }
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
