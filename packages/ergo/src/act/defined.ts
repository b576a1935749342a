// The handler-per-message form of a typed actor: `Actor.define(protocol, { init, messages, calls })`
// gives a class with one handler per name of the protocol, whose parameters are inferred from
// it (no repeated types) and whose set is exhaustive (a missing handler is a compile error). It
// is the tRPC / Effect RPC shape beside the class form (`Actor.of`): the same PIDs, spawn, Pool
// workers and boundary check.
//
// Dispatch: each message (each request) goes to the handler of the first schema it matches, with
// that schema's output. To know which that is, the actor validates what it receives, local mail
// too: the cost of this form. Its boundary check at the door only checks (no transform), so what
// arrives is transformed once, here.

import type { PID } from '../gen/pid.js';
import type { Ref } from '../gen/ref.js';
import type { Stop } from '../gen/process.js';
import { ErrProtocolViolation } from '../gen/errors.js';
import type { CallFailure } from '../gen/failure.js';
import {
  ReplyLater,
  checkOnly,
  formatPath,
  protocolKey,
  type AnyProtocol,
  type ProtocolSpec,
} from '../gen/protocol.js';
import { parseValue, type Infer, type Parsed } from '../gen/schema.js';
import type { StandardSchemaV1 } from '../gen/standard_schema.js';
import { Actor, type HandlerResult } from './actor.js';
import { isThenable } from './handling.js';

type SpecOf<P> = P extends { readonly spec: infer S extends ProtocolSpec } ? S : never;
type MessagesOf<P> = NonNullable<SpecOf<P>['messages']>;
type CallsOf<P> = NonNullable<SpecOf<P>['calls']>;
type ErrorsOf<C> = C extends { readonly errors?: infer E }
  ? E extends Readonly<Record<string, StandardSchemaV1>>
    ? Infer<E[keyof E]>
    : never
  : never;

/** A defined actor as its handlers see it: the actor (send, call, later...) and its `data` (the state `init` made). */
export type DefinedActor<P, S> = Actor<P> & { data: S };

/** What the handler of call `K` may return: its reply, a failure, ReplyLater, a Stop, an Error (stop). */
export type CallAnswer<C> =
  | Infer<C extends { readonly reply: infer R } ? R : never>
  | CallFailure<ErrorsOf<C>>
  | ReplyLater
  | Stop<Infer<C extends { readonly reply: infer R } ? R : never>>
  | Error;

/** The handlers of the protocol's messages, one per name: each gets its schema's output. */
export type MessageHandlers<P, S> = {
  [K in keyof MessagesOf<P>]: (message: Infer<MessagesOf<P>[K]>, self: DefinedActor<P, S>, from: PID) => HandlerResult;
};

/** The handlers of the protocol's calls, one per name: each answers with its own call's reply. */
export type CallHandlers<P, S> = {
  [K in keyof CallsOf<P>]: (
    request: Infer<CallsOf<P>[K]['request']>,
    self: DefinedActor<P, S>,
    from: PID,
    ref: Ref,
  ) => CallAnswer<CallsOf<P>[K]> | Promise<CallAnswer<CallsOf<P>[K]>>;
};

/**
 * What `Actor.define` takes: `init` (optional) makes the state from the spawn arguments; then a
 * handler for every message and every call the protocol declares (a missing one does not
 * compile; `messages` / `calls` only when the protocol declares them).
 */
export type DefineSpec<P, S, A extends unknown[]> = {
  /** Makes the actor's state from the spawn arguments (throw to fail the spawn). */
  init?: (this: Actor<P>, ...args: A) => S | Promise<S>;
  /** Runs once after the actor left the node. */
  terminate?: (reason: Error, self: DefinedActor<P, S>) => unknown;
} & ([keyof MessagesOf<P>] extends [never]
  ? { messages?: Record<string, never> }
  : { messages: MessageHandlers<P, S> }) &
  ([keyof CallsOf<P>] extends [never] ? { calls?: Record<string, never> } : { calls: CallHandlers<P, S> });

/** The class `Actor.define` gives: a typed actor spawned with `init`'s arguments. */
export type DefinedClass<P, S, A extends unknown[]> = new () => DefinedActor<P, S> & {
  init(...args: A): unknown;
};

type Entry = readonly [string, StandardSchemaV1, (...args: never[]) => unknown];

function parseSafely(schema: StandardSchemaV1, value: unknown): Parsed {
  try {
    return parseValue(schema, value);
  } catch (e) {
    return { issue: { path: [], message: `the schema threw: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

/** The first entry whose schema `value` matches, with that schema's output; or the deepest issue. */
function dispatch(entries: readonly Entry[], value: unknown): { entry: Entry; value: unknown } | { issue: string } {
  let best: Parsed | undefined;
  for (const e of entries) {
    const r = parseSafely(e[1], value);
    if (r.issue === undefined) return { entry: e, value: r.value };
    if (best?.issue === undefined || r.issue.path.length > best.issue.path.length) best = r;
  }
  const i = best?.issue;
  return { issue: i === undefined ? 'no handler' : `${formatPath(i.path)}: ${i.message}` };
}

/** Builds the class for `Actor.define` (see there). */
export function defineActor<P extends AnyProtocol, S, A extends unknown[]>(
  protocol: P,
  spec: DefineSpec<P, S, A>,
): DefinedClass<P, S, A> {
  const s = spec as {
    init?: (this: unknown, ...args: unknown[]) => unknown;
    terminate?: (reason: Error, self: unknown) => unknown;
    messages?: Record<string, (...args: never[]) => unknown>;
    calls?: Record<string, (...args: never[]) => unknown>;
  };
  const declared = protocol.spec;
  const messages: Entry[] = Object.entries(declared.messages ?? {}).map(([k, schema]) => {
    const h = s.messages?.[k];
    if (typeof h !== 'function') throw ErrProtocolViolation.with(`${protocol.name}: no handler for message ${k}`);
    return [k, schema, h] as const;
  });
  const calls: Entry[] = Object.entries(declared.calls ?? {}).map(([k, c]) => {
    const h = s.calls?.[k];
    if (typeof h !== 'function') throw ErrProtocolViolation.with(`${protocol.name}: no handler for call ${k}`);
    return [k, c.request, h] as const;
  });
  class Defined extends Actor<P> {
    data: unknown = undefined;
    override init(...args: unknown[]): unknown {
      if (s.init === undefined) return undefined;
      const r = s.init.call(this, ...args);
      if (isThenable(r))
        return Promise.resolve(r).then((v) => {
          this.data = v;
        });
      this.data = r;
      return undefined;
    }
    override handleMessage(from: PID, message: never): HandlerResult {
      const d = dispatch(messages, message);
      if ('issue' in d) {
        this.log.warning('%s: no handler takes this message from %s: %s', protocol.name, from.toString(), d.issue);
        return undefined;
      }
      return (d.entry[2] as (m: unknown, self: unknown, from: PID) => HandlerResult)(d.value, this, from);
    }
    override handleCall(from: PID, ref: Ref, request: never): never {
      const d = dispatch(calls, request);
      if ('issue' in d) {
        this.sendResponseError(from, ref, ErrProtocolViolation.with(`${protocol.name}: ${d.issue}`));
        return ReplyLater as never;
      }
      return (d.entry[2] as (r: unknown, self: unknown, from: PID, ref: Ref) => never)(d.value, this, from, ref);
    }
    override terminate(reason: Error): unknown {
      return s.terminate?.(reason, this);
    }
  }
  // At the door: checked, not transformed (the dispatch above applies the schemas' outputs once).
  Object.defineProperty(Defined.prototype, protocolKey, { value: checkOnly(protocol) });
  Object.defineProperty(Defined, 'name', { value: `Defined<${protocol.name}>` });
  return Defined as unknown as DefinedClass<P, S, A>;
}
