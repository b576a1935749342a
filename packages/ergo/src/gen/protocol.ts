// Typed protocols: one declaration gives the TypeScript types of what a process accepts (its
// messages, its calls with their replies, the events it publishes), the runtime check applied to
// what arrives from another node, and the EDF registrations Go peers need. Schemas are any
// Standard Schema v1 (zod 4, valibot, arktype) or the built-in `schema` builder.
//
// Typing rides on a phantom `'~protocol'` property that PID, ProcessID, Alias, Ref, Event and
// Actor declare but never set: `PID<typeof Counter>` is a PID whose sends and calls are checked
// against Counter; a plain `PID` (protocol `unknown`) keeps today's untyped API.

import type { Alias, Ref } from './ref.js';
import type { Atom } from './atom.js';
import type { PID } from './pid.js';
import type { Stop } from './process.js';
import { ProcessID } from './processid.js';
import { ErrIncorrect } from './errors.js';
import {
  firstIssue,
  noneMatched,
  parseValue,
  type Infer,
  type InferInput,
  type Parsed,
  type SchemaIssue,
} from './schema.js';
import type { StandardSchemaV1 } from './standard_schema.js';

/**
 * One call of a protocol: the request's schema, the reply's, and optionally the expected
 * failures it may answer with instead (`errors`, by a name of your choice: the typed error
 * channel, see `CallFailure`).
 */
export interface CallDecl<
  Req extends StandardSchemaV1 = StandardSchemaV1,
  Rep extends StandardSchemaV1 = StandardSchemaV1,
> {
  readonly request: Req;
  readonly reply: Rep;
  /** Expected failures: a handler answers one with `this.fail(request, error)` and goes on. */
  readonly errors?: Readonly<Record<string, StandardSchemaV1>>;
}

/**
 * An EDF registration a protocol carries for Go peers (the spec `registerType` of `ergo-ts/net`
 * takes: `{ name: '#<import path>/<Type>', class, fields }`, fields in Go declaration order).
 * Registered in the default EDF registry once `ergo-ts/net` is loaded (the engine loads it).
 */
export interface ProtocolTypeDecl {
  readonly name: string;
  readonly [key: string]: unknown;
}

/** What {@link defineProtocol} takes. Every part is optional. */
export interface ProtocolSpec {
  /** Asynchronous messages the process accepts, by a name of your choice (names never travel). */
  readonly messages?: Readonly<Record<string, StandardSchemaV1>>;
  /** Calls the process answers: request schema → reply schema. */
  readonly calls?: Readonly<Record<string, CallDecl>>;
  /** Events the process registers and publishes: event name → payload schema. */
  readonly events?: Readonly<Record<string, StandardSchemaV1>>;
  /** EDF struct registrations for Go peers (see {@link ProtocolTypeDecl}). */
  readonly types?: readonly ProtocolTypeDecl[];
}

/** An event name that carries its payload type (from a protocol's `events`, or {@link eventName}). */
export type EventName<T = unknown> = Atom & { readonly '~payload'?: T };

/** The runtime key under which a typed behaviour's prototype holds its protocol. */
export const protocolKey: unique symbol = Symbol.for('ergo-ts.protocol');

/**
 * A declared protocol: the types (phantom, for the compiler) and the runtime checks. Use
 * `typeof MyProtocol` as the type parameter of PID, ProcessID, Alias and Actor.
 */
export interface Protocol<S extends ProtocolSpec = ProtocolSpec> {
  /** A name for logs and errors. */
  readonly name: string;
  /** The declaration as given. */
  readonly spec: S;
  /**
   * The protocol's event names, typed with their payloads, scoped by the protocol's name:
   * `Counter.events.changed` is the event `counter.changed` (so two protocols may both declare
   * `changed`). One process per node registers it; for several instances use {@link Protocol.event}.
   */
  readonly events: { readonly [K in keyof S['events']]: EventName<Infer<NonNullable<S['events']>[K]>> };
  /**
   * The name of event `event` for one instance, `scope` (a key of yours: a registered name, an
   * id): `<protocol>.<event>.<scope>`, typed with its payload. Two instances of one typed actor
   * each register their own (`Counter.event('changed', this.name)`); a subscriber, Go's too,
   * names the same string (`gen.Event{Name: "counter.changed.c1", Node: ...}`).
   */
  event<K extends keyof S['events'] & string>(event: K, scope: string): EventName<Infer<NonNullable<S['events']>[K]>>;
  /** Types this PID as speaking this protocol (no check: you vouch for it). */
  pid(pid: PID): PID<Protocol<S>>;
  /** A typed ProcessID for a registered name (on `node`, or this node when omitted). */
  processID(name: Atom | string, node?: Atom | string): ProcessID<Protocol<S>>;
  /** Types this alias as speaking this protocol. */
  alias(alias: Alias): Alias<Protocol<S>>;
  /** Typed name lookup: `node.processPID(name)` typed as this protocol (throws as processPID does). */
  lookup(where: { processPID(name: Atom | string): PID }, name: Atom | string): PID<Protocol<S>>;
  /** The first reason `value` is not one of the messages (undefined: it is one). */
  checkMessage(value: unknown): SchemaIssue | undefined;
  /** The first reason `value` is not one of the call requests (undefined: it is one). */
  checkRequest(value: unknown): SchemaIssue | undefined;
  /**
   * Validates `value` as one of the messages: the value to deliver (the output of the first
   * schema it matches: a transforming schema gives its transformed value) or the first issue.
   */
  parseMessage(value: unknown): Parsed;
  /** Validates `value` as one of the call requests, as {@link Protocol.parseMessage} does. */
  parseRequest(value: unknown): Parsed;
  /** Phantom: never set at run time. */
  readonly '~types'?: S;
}

/** A protocol of any declaration. */
export type AnyProtocol = Protocol<ProtocolSpec>;

type SpecOf<P> = P extends Protocol<infer S> ? S : never;
type ValuesOf<R> = R extends Readonly<Record<string, unknown>> ? R[keyof R] : never;

/**
 * The messages `P`'s handler receives (its schemas' outputs; unknown for an untyped target).
 * Senders give {@link MessageInOf}: the same unless a schema transforms.
 */
export type MessageOf<P> = P extends AnyProtocol ? Infer<ValuesOf<SpecOf<P>['messages']>> : unknown;

/** The call requests `P`'s handler receives (its schemas' outputs; unknown for an untyped target). */
export type RequestOf<P> = P extends AnyProtocol
  ? Infer<NonNullable<ValuesOf<SpecOf<P>['calls']>>['request']>
  : unknown;

/**
 * What `send` asks for when the target's protocol declares no messages: nothing fits, and the
 * compiler names the reason (instead of "parameter of type 'never'").
 */
export interface ProtocolDeclaresNoMessages {
  readonly '~error: the protocol of this address declares no messages': never;
}
/** What `call` asks for when the target's protocol declares no calls (see {@link ProtocolDeclaresNoMessages}). */
export interface ProtocolDeclaresNoCalls {
  readonly '~error: the protocol of this address declares no calls': never;
}
type OrNone<T, None> = [T] extends [never] ? None : T;

/** The messages a sender may give `P` (its schemas' inputs; unknown for an untyped target). */
export type MessageInOf<P> = P extends AnyProtocol
  ? OrNone<InferInput<ValuesOf<SpecOf<P>['messages']>>, ProtocolDeclaresNoMessages>
  : unknown;

/** The call requests a caller may give `P` (its schemas' inputs; unknown for an untyped target). */
export type RequestInOf<P> = P extends AnyProtocol
  ? OrNone<InferInput<NonNullable<ValuesOf<SpecOf<P>['calls']>>['request']>, ProtocolDeclaresNoCalls>
  : unknown;

/** Every reply `P` may give (unknown for an untyped target). */
export type AnyReplyOf<P> = P extends AnyProtocol ? Infer<NonNullable<ValuesOf<SpecOf<P>['calls']>>['reply']> : unknown;

/**
 * The reply to request `R` (as the caller gives it: the request schemas' inputs) under `P`: the
 * replies of every call whose request type `R` fits (every reply of `P` when `R` is too wide to
 * pick one, never `never`).
 */
export type ReplyOf<P, R> = P extends AnyProtocol ? OrAll<MatchedReply<P, R>, AnyReplyOf<P>> : unknown;
type OrAll<M, All> = [M] extends [never] ? All : M;
type MatchedReply<P, R> = P extends AnyProtocol
  ? {
      [K in keyof NonNullable<SpecOf<P>['calls']>]: [R] extends [
        InferInput<NonNullable<SpecOf<P>['calls']>[K]['request']>,
      ]
        ? Infer<NonNullable<SpecOf<P>['calls']>[K]['reply']>
        : never;
    }[keyof NonNullable<SpecOf<P>['calls']>]
  : unknown;

/** The failure values a call declaration `C` declares (never without `errors`). */
type ErrorsOfDecl<C> = C extends { readonly errors?: infer E } ? Infer<ValuesOf<NonNullable<E>>> : never;

/**
 * The expected failures of request `R` (as the caller gives it) under `P`: the `errors` of
 * every call whose request type `R` fits (never when none declares any; unknown when untyped).
 */
export type ErrorOf<P, R> = P extends AnyProtocol
  ? {
      [K in keyof NonNullable<SpecOf<P>['calls']>]: [R] extends [
        InferInput<NonNullable<SpecOf<P>['calls']>[K]['request']>,
      ]
        ? ErrorsOfDecl<NonNullable<SpecOf<P>['calls']>[K]>
        : never;
    }[keyof NonNullable<SpecOf<P>['calls']>]
  : unknown;

/** The payload of events `P` publishes, by event name. */
export type EventsOf<P> = P extends AnyProtocol
  ? { [K in keyof SpecOf<P>['events']]: Infer<NonNullable<SpecOf<P>['events']>[K]> }
  : Record<string, unknown>;

/** The protocol of a typed address, behaviour or token (`unknown` when untyped). */
export type ProtocolOf<T> = [T] extends [never]
  ? unknown
  : T extends object
    ? T extends { readonly '~protocol'?: infer P }
      ? P
      : unknown
    : unknown;

/** What `send` accepts for target `T`: its protocol's messages (inputs), or anything for an untyped one. */
export type MessageFor<T> = MessageInOf<ProtocolOf<T>>;
/** What `call` accepts for target `T` (its protocol's request inputs). */
export type RequestFor<T> = RequestInOf<ProtocolOf<T>>;
/** What `call(to, request)` resolves to for target `T` and request `R`. */
export type ReplyFor<T, R> = ReplyOf<ProtocolOf<T>, R>;
/** The expected failures of `call(to, request)` for target `T` and request `R` (see `tryCall`). */
export type ErrorFor<T, R> = ErrorOf<ProtocolOf<T>, R>;
/** The payload type of an event name, token or Event (unknown when untyped). */
export type PayloadOf<T> = [T] extends [never] ? unknown : T extends { readonly '~payload'?: infer V } ? V : unknown;

/**
 * The value a typed `handleCall` returns to answer later (with `sendResponse`) instead of now:
 * an explicit choice where an untyped handler returns `undefined`.
 */
export const ReplyLater: ReplyLaterMarker = Object.freeze({ '~replyLater': true as const });
/** @see ReplyLater */
export type ReplyLater = typeof ReplyLater;
/** The type of `ReplyLater` (an object, so it keeps its type where a symbol would widen). */
export interface ReplyLaterMarker {
  readonly '~replyLater': true;
}

// --- EDF registrations: gen cannot import net, so net installs the registrar when it loads -------

let typeRegistrar: ((decl: ProtocolTypeDecl) => void) | undefined;
const pendingTypes: ProtocolTypeDecl[] = [];

/**
 * Internal: the net layer installs the function that registers a protocol's types in the default
 * EDF registry; declarations made before it loaded are registered then.
 */
export function installProtocolTypeRegistrar(register: (decl: ProtocolTypeDecl) => void): void {
  typeRegistrar = register;
  for (const d of pendingTypes.splice(0)) register(d);
}

/** One schema's verdict; a schema that throws is a refusal whose text stays local. */
function parseOne(schema: StandardSchemaV1, value: unknown): Parsed {
  try {
    return parseValue(schema, value);
  } catch {
    // The thrown text is the schema's own (and may say anything): the sender gets the code.
    return { issue: { path: [], message: 'the schema threw an exception' } };
  }
}

function parseFirst(schemas: readonly StandardSchemaV1[], value: unknown): Parsed {
  if (schemas.length === 0) return { issue: { path: [], message: 'this protocol declares none' } };
  const issues: SchemaIssue[] = [];
  for (const schema of schemas) {
    const r = parseOne(schema, value);
    if (r.issue === undefined) return r;
    issues.push(r.issue);
  }
  return { issue: noneMatched(issues, value) };
}

function firstOf(schemas: readonly StandardSchemaV1[], value: unknown): SchemaIssue | undefined {
  if (schemas.length === 0) return { path: [], message: 'this protocol declares none' };
  const issues: SchemaIssue[] = [];
  for (const schema of schemas) {
    let found: SchemaIssue | undefined;
    try {
      found = firstIssue(schema, value);
    } catch {
      found = { path: [], message: 'the schema threw an exception' };
    }
    if (found === undefined) return undefined;
    issues.push(found);
  }
  return noneMatched(issues, value);
}

/**
 * Declares a protocol. `name` appears in logs and errors; `spec` lists messages, calls, events
 * and Go type registrations (all optional). Schemas must validate synchronously (a schema whose
 * `validate` returns a Promise fails every check: an asynchronous check before delivery would
 * reorder the mailbox).
 *
 * @example
 * const Counter = defineProtocol('counter', {
 *   messages: { inc: schema.object({ kind: schema.literal('inc'), by: schema.number() }) },
 *   calls: { get: { request: schema.literal('get'), reply: schema.number() } },
 *   events: { changed: schema.number() },
 * });
 */
export function defineProtocol<const S extends ProtocolSpec>(name: string, spec: S): Protocol<S> {
  const messages = Object.values(spec.messages ?? {});
  const requests = Object.values(spec.calls ?? {}).map((c) => c.request);
  const declared = Object.keys(spec.events ?? {});
  // Scoped by the protocol's name: two protocols that both declare `changed` do not collide.
  const events = Object.fromEntries(declared.map((k) => [k, `${name}.${k}`])) as Protocol<S>['events'];
  for (const decl of spec.types ?? []) {
    if (typeRegistrar === undefined) pendingTypes.push(decl);
    else typeRegistrar(decl);
  }
  return Object.freeze({
    name,
    spec,
    events,
    pid: (pid: PID) => pid as PID<Protocol<S>>,
    processID: (n: Atom | string, node?: Atom | string) =>
      new ProcessID(n as Atom, (node ?? '') as Atom) as ProcessID<Protocol<S>>,
    alias: (alias: Alias) => alias as Alias<Protocol<S>>,
    event: (event: string, scope: string) => {
      if (!declared.includes(event)) throw ErrIncorrect.with(`protocol ${name} declares no event ${event}`);
      if (typeof scope !== 'string' || scope === '')
        throw ErrIncorrect.with(`event ${event}: scope must be a non-empty string`);
      return `${name}.${event}.${scope}` as never;
    },
    lookup: (where: { processPID(name: Atom | string): PID }, n: Atom | string) =>
      where.processPID(n) as PID<Protocol<S>>,
    checkMessage: (value: unknown) => firstOf(messages, value),
    checkRequest: (value: unknown) => firstOf(requests, value),
    parseMessage: (value: unknown) => parseFirst(messages, value),
    parseRequest: (value: unknown) => parseFirst(requests, value),
  });
}

/**
 * Internal: `protocol` as a check that delivers what arrived unchanged (no transform), for a
 * process that forwards to the protocol's speakers (a Pool): it refuses what they would refuse
 * at its own door, and the worker that gets the mail applies the schemas' transforms itself.
 */
export function checkOnly<P extends AnyProtocol>(protocol: P): P {
  const keep = (found: SchemaIssue | undefined, value: unknown): Parsed =>
    found === undefined ? { value } : { issue: found };
  return Object.freeze({
    ...protocol,
    parseMessage: (value: unknown) => keep(protocol.checkMessage(value), value),
    parseRequest: (value: unknown) => keep(protocol.checkRequest(value), value),
  });
}

/** Internal: the protocol a behaviour factory's instances speak (a class made from Actor.of), if known. */
export function protocolOfFactory(factory: unknown): AnyProtocol | undefined {
  const proto = (factory as { prototype?: Record<symbol, unknown> } | undefined)?.prototype;
  return proto === undefined || proto === null ? undefined : (proto[protocolKey] as AnyProtocol | undefined);
}

/** An event name typed with its payload, for events outside a protocol. */
export function eventName<T>(name: string): EventName<T> {
  return name as EventName<T>;
}

/** Renders an issue path as `a.b[2].c` (`(root)` when empty), for logs. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

type CallsOf<P> = NonNullable<SpecOf<P>['calls']>;
/** The intersection of the parameter types of a union of one-parameter functions. */
type ParamsMeet<F> = [F] extends [(x: infer I) => void] ? I : never;

/**
 * The replies a handler may give to a request of type `R` (as the handler sees it): for each
 * request `R` may be, the replies of the calls it fits; all of them at once when `R` is a
 * union not narrowed to one call (an un-narrowed `'get' | 'name'` asks a reply valid for both).
 */
export type ReplyTo<P, R> = P extends AnyProtocol
  ? ParamsMeet<R extends unknown ? (x: HandlerMatch<P, R>) => void : never>
  : unknown;
/**
 * The failures a handler may answer a request of type `R` with (as the handler sees it): the
 * `errors` of the call it is; for a union not narrowed to one call, those valid for all of them.
 */
export type ErrorTo<P, R> = P extends AnyProtocol
  ? ParamsMeet<R extends unknown ? (x: HandlerErrorMatch<P, R>) => void : never>
  : unknown;
type HandlerErrorMatch<P, R> = {
  [K in keyof CallsOf<P>]: [R] extends [Infer<CallsOf<P>[K]['request']>] ? ErrorsOfDecl<CallsOf<P>[K]> : never;
}[keyof CallsOf<P>];
type HandlerMatch<P, R> = {
  [K in keyof CallsOf<P>]: [R] extends [Infer<CallsOf<P>[K]['request']>] ? Infer<CallsOf<P>[K]['reply']> : never;
}[keyof CallsOf<P>];

/**
 * Reply values valid for every call of `P` (the intersection of its replies): a typed
 * `handleCall` may return one as is. When the calls' replies differ (`number` and `string`)
 * there is none, and each reply goes through `reply(request, value)`, which checks it against
 * its own request.
 */
export type PlainReplyOf<P> = P extends AnyProtocol
  ? ParamsMeet<{ [K in keyof CallsOf<P>]: (x: Infer<CallsOf<P>[K]['reply']>) => void }[keyof CallsOf<P>]>
  : unknown;

/**
 * A reply checked against its request, made by a typed actor's `reply(request, value)` (at run
 * time it is `value` itself; the brand only exists for the compiler).
 */
export interface Replied<P> {
  readonly '~replied': P;
}

/**
 * A call answered later, made by a typed actor's `later(request, from, ref)`: answer it with
 * `respond(later, value)`, which checks the value against the request's reply.
 */
export interface Later<T = unknown, E = never> {
  readonly from: PID;
  readonly ref: Ref;
  /** Phantom: the reply type. */
  readonly '~reply'?: T;
  /** Phantom: the expected failures (answer one with `failLater`). */
  readonly '~error'?: E;
}

/** What a typed `handleCall` may answer with (now, or inside a `Stop`). */
export type AnswerOf<P> = Replied<P> | PlainReplyOf<P>;

/**
 * What a typed `handleCall` may return: `reply(request, value)` (checked per request), a reply
 * valid for every call ({@link PlainReplyOf}), `ReplyLater`, a `Stop` whose reply is one of
 * those, an Error (stop) or a promise of these. Untyped actors: `unknown`.
 */
export type CallResult<P> = P extends AnyProtocol
  ? AnswerOf<P> | ReplyLater | Stop<AnswerOf<P>> | Error | Promise<AnswerOf<P> | ReplyLater | Stop<AnswerOf<P>> | Error>
  : unknown;

/**
 * The handlers a typed behaviour must have, as function-typed properties: TypeScript checks
 * these parameters strictly (contravariantly), where it checks method parameters bivariantly.
 * `class C extends Actor<typeof P> implements Handlers<typeof P>` makes a handler that accepts
 * only part of the protocol a compile error in the class; spawn makes the same check.
 */
export interface Handlers<P> {
  handleMessage: (from: PID, message: MessageOf<P>) => unknown;
  handleCall: (from: PID, ref: Ref, request: RequestOf<P>) => unknown;
}

/**
 * `unknown` when behaviour `B` is untyped or its handlers accept all of its protocol; otherwise a
 * type with a property naming the problem, so `spawn(B)` fails to compile (used by spawn).
 */
export type CheckHandlers<B> = [ProtocolOf<B>] extends [infer P]
  ? P extends AnyProtocol
    ? B extends Handlers<P>
      ? unknown
      : { readonly '~error: a handler does not accept every message or request of the protocol': Handlers<P> }
    : unknown
  : unknown;
