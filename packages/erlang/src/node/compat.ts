// OTP compatibility for ergo-ts processes: the processes an Erlang node expects on its peers
// (`net_kernel` for net_adm:ping, `rex` for rpc), a gen_server-style behaviour, and helpers for
// calling and casting to Erlang gen_servers.
//
// A `'$gen_call'` from Erlang reaches any ergo-ts Actor as an ordinary request (handleCall's
// return value is the reply), so every Actor is already callable with gen_server:call. GenServer
// adds what plain actors lack: casts (`{'$gen_cast', Msg}`) in handleCast and everything else in
// handleInfo.

import {
  Actor,
  protocolKey,
  type AnyProtocol,
  type CallResult,
  type HandlerResult,
  type MessageInOf,
  type MessageOf,
  type PID,
  type Process,
  type ProtocolOf,
  type Ref,
  type ReplyFor,
  type RequestFor,
  type RequestOf,
  type SendTarget,
} from 'ergo-ts';
import type { GenCast } from '../etf/schema.js';
import { ErlTuple, atom, isAtom, tuple, type Term } from '../etf/terms.js';

/**
 * `net_kernel`: answers `{is_auth, Node}` with `yes` (what `net_adm:ping` asks), anything else
 * with `{error, unsupported}`. Started by attachErlang.
 */
export class NetKernel extends Actor {
  /** `is_auth` requests answered (observability and tests). */
  isAuth = 0;
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request instanceof ErlTuple && isAtom(request.get(0), 'is_auth')) {
      this.isAuth++;
      return atom('yes');
    }
    return tuple(atom('error'), atom('unsupported'));
  }
  override handleMessage(): HandlerResult {}
}

/**
 * `rex`: OTP's rpc server. Without remote spawn (not advertised), `rpc:call` fails on the Erlang
 * side with `{badrpc, notsup}` before anything is sent; older callers that reach `rex` with
 * `{call, M, F, A, GL}` get the same answer. `{Pid, features_request}` (sent on connect) is
 * answered with no features.
 */
export class Rex extends Actor {
  override handleCall(): unknown {
    return tuple(atom('badrpc'), atom('notsup'));
  }
  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (message instanceof ErlTuple && message.length === 2 && isAtom(message.get(1), 'features_request')) {
      const pid = message.get(0);
      if (pid !== undefined && typeof pid === 'object' && 'node' in pid) {
        try {
          this.send(pid as unknown as PID, tuple(atom('features_reply'), atom(this.node.name), []));
        } catch {
          // the asker's node went away
        }
      }
    }
  }
}

/** The casts of protocol `P` as `handleCast` receives them (the `erlangSchema.cast` messages' contents); any term when untyped. */
export type CastOf<P> = P extends AnyProtocol ? CastsIn<MessageOf<P>> : Term;
/** The other messages of protocol `P`, which `handleInfo` receives; unknown when untyped. */
export type InfoOf<P> = P extends AnyProtocol ? Exclude<MessageOf<P>, GenCast<unknown>> : unknown;
/** What `genServerCast` may send to target `T`: its protocol's casts (inputs), any term when untyped. */
export type CastFor<T> = ProtocolOf<T> extends AnyProtocol ? CastsIn<MessageInOf<ProtocolOf<T>>> : Term;
type CastsIn<M> = M extends GenCast<infer X> ? X : never;

/**
 * A gen_server-style actor: requests (`gen_server:call` from Erlang, `call` from ergo-ts) go to
 * `handleCall` as in any Actor; `{'$gen_cast', Msg}` goes to {@link handleCast}; every other
 * message (Erlang's `!`, monitors' down messages, trapped exits) to {@link handleInfo}.
 *
 * Typed: `class Calc extends GenServer.of(CalcProtocol)`, where the protocol's schemas are
 * `erlangSchema`'s (casts listed in `messages` as `erlangSchema.cast(...)`). What an Erlang node
 * sends is checked before delivery: a `gen_server:call` that does not match gets
 * `{error, {protocol_violation, Why}}`, a cast or message that does not match is dropped (and
 * logged). The handlers the protocol needs are abstract (`handleCast` for casts, `handleInfo` for
 * other messages, `handleCall` for calls).
 */
export class GenServer<P = unknown> extends Actor<P> {
  /**
   * The base class of a typed GenServer speaking `protocol` (see the class' description). The
   * same protocol always gives the same class.
   */
  static override of<P extends AnyProtocol>(protocol: P): TypedGenServerClass<P> {
    let base = typedServers.get(protocol);
    if (base === undefined) {
      base = class extends GenServer<AnyProtocol> {};
      Object.defineProperty(base.prototype, protocolKey, { value: protocol });
      Object.defineProperty(base, 'name', { value: `GenServer<${protocol.name}>` });
      typedServers.set(protocol, base);
    }
    return base as unknown as TypedGenServerClass<P>;
  }
  /** A cast (`gen_server:cast(Server, Msg)` or {@link genServerCast}). */
  handleCast(_message: CastOf<P>): HandlerResult {
    this.log.warning('GenServer.handleCast: unhandled cast');
  }
  /** Any other message. */
  handleInfo(_from: PID, _message: InfoOf<P>): HandlerResult {
    this.log.warning('GenServer.handleInfo: unhandled message');
  }
  override handleMessage(from: PID, message: MessageOf<P>): HandlerResult {
    const m: unknown = message;
    if (m instanceof ErlTuple && m.length === 2 && isAtom(m.get(0), '$gen_cast'))
      return this.handleCast(m.get(1) as CastOf<P>);
    return this.handleInfo(from, m as InfoOf<P>);
  }
}

/** The typed base class made for each protocol by `GenServer.of`. */
const typedServers = new WeakMap<AnyProtocol, new () => GenServer<AnyProtocol>>();

/**
 * The base class `GenServer.of(protocol)` gives, for the compiler: abstract in the handlers
 * the protocol needs (`handleCast` when it declares casts, `handleInfo` when it declares other
 * messages, `handleCall` when it declares calls), so a typed GenServer that forgets one does not
 * compile.
 */
export type TypedGenServerClass<P> = abstract new () => Needs<P> extends infer N
  ? N extends 'cik'
    ? ServerCIK<P>
    : N extends 'ci'
      ? ServerCI<P>
      : N extends 'ck'
        ? ServerCK<P>
        : N extends 'ik'
          ? ServerIK<P>
          : N extends 'c'
            ? ServerC<P>
            : N extends 'i'
              ? ServerI<P>
              : N extends 'k'
                ? ServerK<P>
                : GenServer<P>
  : never;
type Needs<P> = `${[CastOf<P>] extends [never] ? '' : 'c'}${[InfoOf<P>] extends [never] ? '' : 'i'}${[
  RequestOf<P>,
] extends [never]
  ? ''
  : 'k'}`;

/** A typed GenServer that must handle casts (type only). */
export declare abstract class ServerC<P> extends GenServer<P> {
  abstract override handleCast(message: CastOf<P>): HandlerResult;
}
/** A typed GenServer that must handle messages other than casts (type only). */
export declare abstract class ServerI<P> extends GenServer<P> {
  abstract override handleInfo(from: PID, message: InfoOf<P>): HandlerResult;
}
/** A typed GenServer that must answer calls (type only). */
export declare abstract class ServerK<P> extends GenServer<P> {
  abstract override handleCall(from: PID, ref: Ref, request: RequestOf<P>): CallResult<P>;
}
/** A typed GenServer that must handle casts and other messages (type only). */
export declare abstract class ServerCI<P> extends GenServer<P> {
  abstract override handleCast(message: CastOf<P>): HandlerResult;
  abstract override handleInfo(from: PID, message: InfoOf<P>): HandlerResult;
}
/** A typed GenServer that must handle casts and answer calls (type only). */
export declare abstract class ServerCK<P> extends GenServer<P> {
  abstract override handleCast(message: CastOf<P>): HandlerResult;
  abstract override handleCall(from: PID, ref: Ref, request: RequestOf<P>): CallResult<P>;
}
/** A typed GenServer that must handle messages other than casts and answer calls (type only). */
export declare abstract class ServerIK<P> extends GenServer<P> {
  abstract override handleInfo(from: PID, message: InfoOf<P>): HandlerResult;
  abstract override handleCall(from: PID, ref: Ref, request: RequestOf<P>): CallResult<P>;
}
/** A typed GenServer that must handle casts, other messages and calls (type only). */
export declare abstract class ServerCIK<P> extends GenServer<P> {
  abstract override handleCast(message: CastOf<P>): HandlerResult;
  abstract override handleInfo(from: PID, message: InfoOf<P>): HandlerResult;
  abstract override handleCall(from: PID, ref: Ref, request: RequestOf<P>): CallResult<P>;
}

/**
 * `gen_server:call(To, Request, Timeout)` from an ergo-ts process to an Erlang gen_server (a pid
 * or a ProcessID `{name, node}`), or to any ergo-ts process. The connection monitors the target
 * first: a missing name rejects at once with ErrProcessUnknown (Erlang's `noproc`), a crash with
 * its reason (an ErlangReason); no reply within `timeoutMs` rejects with ErrTimeout. To a typed
 * address (`Calc.processID('calc', 'e@host')`) the request and the reply are typed by its protocol.
 */
export function genServerCall<const T extends SendTarget, const R extends RequestFor<T>>(
  process: Pick<Process, 'call'>,
  to: T,
  request: R,
  timeoutMs = 5000,
): Promise<ReplyFor<T, R>> {
  return process.call(to as SendTarget, request, { timeout: timeoutMs }) as Promise<ReplyFor<T, R>>;
}

/** `gen_server:cast(To, Message)`: sends `{'$gen_cast', Message}` (typed by the casts of a typed address). */
export function genServerCast<const T extends SendTarget>(
  process: Pick<Process, 'send'>,
  to: T,
  message: CastFor<T>,
): void {
  process.send(to as SendTarget, tuple(atom('$gen_cast'), message as Term));
}
