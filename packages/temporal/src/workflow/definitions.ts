// `defineSignal`, `defineQuery`, `defineUpdate` and `setHandler`. Temporal lets any workflow take
// any message name; an ergo-ts kind declares its names. So every definition made in the process is
// recorded in one table per sort, and the Worker declares those tables on each kind it makes: a
// definition made before `Worker.create` (at a module's top level, as Temporal's are) is known to
// every workflow. Payloads are Temporal's argument lists, kept as arrays.

import { schema } from 'ergo-ts';
import type { QuerySchemas, SignalSchemas, UpdateSchemas } from '@ergo-ts/entities';

import { toStorable } from '../common/converter.js';
import { ErrTemporalIncorrect, ErrTemporalUnsupported } from '../common/errors.js';
import { frameOf, runIn, type Frame } from './activation.js';

/** Temporal's `SignalDefinition`. */
export interface SignalDefinition<Args extends any[] = [], Name extends string = string> {
  readonly type: 'signal';
  readonly name: Name;
  /** Carries the argument types only. */
  readonly __args?: Args;
}

/** Temporal's `QueryDefinition`. */
export interface QueryDefinition<Ret, Args extends any[] = [], Name extends string = string> {
  readonly type: 'query';
  readonly name: Name;
  readonly __args?: Args;
  readonly __ret?: Ret;
}

/** Temporal's `UpdateDefinition`. */
export interface UpdateDefinition<Ret, Args extends any[] = [], Name extends string = string> {
  readonly type: 'update';
  readonly name: Name;
  readonly __args?: Args;
  readonly __ret?: Ret;
}

/** The names of every signal defined in this process, as a kind declares them. */
export const SIGNALS: Record<string, SignalSchemas[string]> = {};
/** The names of every query defined in this process. */
export const QUERIES: Record<string, QuerySchemas[string]> = {};
/** The names of every update defined in this process. */
export const UPDATES: Record<string, UpdateSchemas[string]> = {};

function checkName(what: string, name: unknown): string {
  if (typeof name !== 'string' || name === '') throw ErrTemporalIncorrect.with(`${what}: a name is a non-empty string`);
  return name;
}

/** Defines a signal (Temporal's `defineSignal`). */
export function defineSignal<Args extends any[] = [], Name extends string = string>(
  name: Name,
): SignalDefinition<Args, Name> {
  SIGNALS[checkName('defineSignal', name)] ??= schema.unknown();
  return { type: 'signal', name };
}

/** Defines a query (Temporal's `defineQuery`). */
export function defineQuery<Ret, Args extends any[] = [], Name extends string = string>(
  name: Name,
): QueryDefinition<Ret, Args, Name> {
  QUERIES[checkName('defineQuery', name)] ??= schema.unknown();
  return { type: 'query', name };
}

/** Defines an update (Temporal's `defineUpdate`). */
export function defineUpdate<Ret, Args extends any[] = [], Name extends string = string>(
  name: Name,
): UpdateDefinition<Ret, Args, Name> {
  UPDATES[checkName('defineUpdate', name)] ??= { input: schema.unknown(), output: schema.unknown() };
  return { type: 'update', name };
}

/** Options of an update handler (Temporal's `UpdateHandlerOptions`). */
export interface UpdateHandlerOptions<Args extends any[]> {
  /** Refuses the update before it is accepted by throwing (synchronous). */
  validator?: (...args: Args) => void;
  description?: string;
}

/** The arguments a payload carries (a Temporal client sends an array; another caller may send one value). */
export function argsOf(payload: unknown): unknown[] {
  return Array.isArray(payload) ? payload : payload === undefined ? [] : [payload];
}

/**
 * Registers the handler of a signal, query or update (Temporal's `setHandler`). Signal and update
 * handlers run while the body waits (`condition`, `sleep`, or a promise only a handler settles),
 * and may wait themselves (`sleep`, `condition`, activities): the messages that come meanwhile
 * are handed to their handlers in a handler's `sleep` or `condition`, nested (docs/temporal-compat.md). Removing a handler (`undefined`) is refused with
 * ERR_TEMPORAL_UNSUPPORTED: the engine keeps a handler once registered.
 */
export function setHandler<Ret, Args extends any[]>(
  def: SignalDefinition<Args> | QueryDefinition<Ret, Args> | UpdateDefinition<Ret, Args>,
  handler: ((...args: Args) => any) | undefined,
  options?: UpdateHandlerOptions<Args>,
): void {
  const frame = frameOf('setHandler');
  if (def === null || typeof def !== 'object' || typeof def.name !== 'string')
    throw ErrTemporalIncorrect.with('setHandler: the first argument is a signal, query or update definition');
  if (handler === undefined)
    throw ErrTemporalUnsupported.with(`setHandler(${def.name}, undefined): a handler cannot be removed`);
  const ctx = frame.act.ctx;
  const inHandler: Frame = { act: frame.act, handler: true };
  const call = (payload: unknown): unknown => runIn(inHandler, () => handler(...(argsOf(payload) as Args)));
  if (def.type === 'query') {
    // The engine calls it with the query's arguments, in order.
    ctx.onQuery(def.name, (...args: unknown[]) => runIn(inHandler, () => handler(...(args as Args))));
    return;
  }
  const counted = async (payload: unknown): Promise<unknown> => {
    frame.act.handling++;
    try {
      return await call(payload);
    } catch (err) {
      throw await toStorable(err, frame.act.worker.converter);
    } finally {
      frame.act.handling--;
      frame.act.handlersRan++;
    }
  };
  if (def.type === 'signal') {
    ctx.onSignal(def.name, async (p: unknown) => {
      await counted(p);
    });
  } else {
    const validator = options?.validator;
    ctx.onUpdate(
      def.name,
      counted,
      validator === undefined
        ? {}
        : { validate: (p: unknown) => runIn(inHandler, () => validator(...(argsOf(p) as Args))) },
    );
  }
  frame.act.handlers++;
  frame.act.wake();
}
