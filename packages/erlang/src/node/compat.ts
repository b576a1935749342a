// OTP compatibility for ergo-ts processes: the processes an Erlang node expects on its peers
// (`net_kernel` for net_adm:ping, `rex` for rpc), a gen_server-style behaviour, and helpers for
// calling and casting to Erlang gen_servers.
//
// A `'$gen_call'` from Erlang reaches any ergo-ts Actor as an ordinary request (handleCall's
// return value is the reply), so every Actor is already callable with gen_server:call. GenServer
// adds what plain actors lack: casts (`{'$gen_cast', Msg}`) in handleCast and everything else in
// handleInfo.

import { Actor, type HandlerResult, type PID, type Ref, type SendTarget } from 'ergo-ts';
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

/**
 * A gen_server-style actor: requests (`gen_server:call` from Erlang, `call` from ergo-ts) go to
 * `handleCall` as in any Actor; `{'$gen_cast', Msg}` goes to {@link handleCast}; every other
 * message (Erlang's `!`, monitors' down messages, trapped exits) to {@link handleInfo}.
 */
export class GenServer extends Actor {
  /** A cast (`gen_server:cast(Server, Msg)` or {@link genServerCast}). */
  handleCast(_message: Term): HandlerResult {
    this.log.warning('GenServer.handleCast: unhandled cast');
  }
  /** Any other message. */
  handleInfo(_from: PID, _message: unknown): HandlerResult {
    this.log.warning('GenServer.handleInfo: unhandled message');
  }
  override handleMessage(from: PID, message: unknown): HandlerResult {
    if (message instanceof ErlTuple && message.length === 2 && isAtom(message.get(0), '$gen_cast'))
      return this.handleCast(message.get(1)!);
    return this.handleInfo(from, message);
  }
}

/**
 * `gen_server:call(To, Request, Timeout)` from an ergo-ts process to an Erlang gen_server (a pid
 * or a ProcessID `{name, node}`), or to any ergo-ts process. The connection monitors the target
 * first: a missing name rejects at once with ErrProcessUnknown (Erlang's `noproc`), a crash with
 * its reason (an ErlangReason); no reply within `timeoutMs` rejects with ErrTimeout.
 */
export function genServerCall(process: Actor, to: SendTarget, request: Term, timeoutMs = 5000): Promise<unknown> {
  return process.call(to, request, { timeout: timeoutMs });
}

/** `gen_server:cast(To, Message)`: sends `{'$gen_cast', Message}`. */
export function genServerCast(process: Actor, to: SendTarget, message: Term): void {
  process.send(to, tuple(atom('$gen_cast'), message));
}
