// Test-side pieces for the node integration tests: a real `erl` node (e1) driven by ctl.erl
// (one Erlang expression per stdin line, answered with "RESULT Id Value"), and ergo-ts actors
// that record what they receive so a test can wait for it.

import { Actor, Stop, type HandlerResult, type PID, type Ref } from 'ergo-ts';
import { ErlTuple, ErlangReason, GenServer, atom, isAtom, tuple, type Term } from '../src/index.js';
import { type LineProcess } from './erl_helpers.js';

let evalSeq = 0;

/** Evaluates `expr` (an Erlang expression list, no trailing dot) on the ctl node; resolves with the printed value. */
export async function erlEval(p: LineProcess, expr: string, timeoutMs = 20000): Promise<string> {
  const id = `e${++evalSeq}`;
  const from = p.lines.length;
  p.send(`${id} ${expr.replace(/\s*\n\s*/g, ' ')}.`);
  const line = await p.waitFor(new RegExp(`^RESULT ${id} `), timeoutMs, from);
  return line.slice(`RESULT ${id} `.length);
}

type Waiter = { pred: (m: unknown) => boolean; resolve(m: unknown): void };

/** An actor that keeps every message (exits too when trapping) and runs functions sent as requests. */
export class Probe extends Actor {
  static last: Probe | undefined;
  readonly inbox: unknown[] = [];
  #waiters: Waiter[] = [];

  override init(trap?: boolean): unknown {
    Probe.last = this;
    if (trap) this.setTrapExit(true);
    return undefined;
  }
  override handleMessage(_from: PID, message: unknown): HandlerResult {
    for (let i = 0; i < this.#waiters.length; i++) {
      const w = this.#waiters[i]!;
      if (w.pred(message)) {
        this.#waiters.splice(i, 1);
        w.resolve(message);
        return;
      }
    }
    this.inbox.push(message);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    // a function runs inside the actor; its result (or `true` for none) is the reply
    if (typeof request === 'function')
      return Promise.resolve((request as (p: Probe) => unknown)(this)).then((v) => (v === undefined ? true : v));
    if (isAtom(request, 'whoami')) return this.pid;
    return undefined;
  }
  /** The first message (kept or future) that `pred` accepts. */
  waitFor<T = unknown>(pred: (m: unknown) => boolean): Promise<T> {
    const i = this.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0] as T);
    return new Promise((resolve) => this.#waiters.push({ pred, resolve: resolve as (m: unknown) => void }));
  }
}

/** ERLANG.md §6.1's `echo` contract: `{From, T}` → `{echo, T}`, `{From, Ref, T}` → `{echo, Ref, T}`. */
export class Echo extends Actor {
  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (!(message instanceof ErlTuple)) return;
    const [from, a, b] = message.elements;
    if (message.length === 2) this.send(from as PID, tuple(atom('echo'), a!));
    else if (message.length === 3) this.send(from as PID, tuple(atom('echo'), a!, b!));
  }
}

/** ERLANG.md §6.1's `calc` contract, as a GenServer. */
export class Calc extends GenServer {
  readonly store = new Map<string, Term>();
  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (isAtom(request, 'whoami')) return this.pid;
    if (!(request instanceof ErlTuple)) return atom('badarg');
    const [op, a, b] = request.elements;
    if (isAtom(op, 'add')) return (a as number) + (b as number);
    if (isAtom(op, 'mul')) return (a as number) * (b as number);
    if (isAtom(op, 'echo')) return a;
    if (isAtom(op, 'get')) return this.store.get(String(a)) ?? atom('undefined');
    if (isAtom(op, 'sleep')) {
      // blocks like calc_server's timer:sleep
      return new Promise((resolve) => setTimeout(() => resolve(atom('slept')), a as number));
    }
    if (isAtom(op, 'stop')) return new Stop(new ErlangReason(a!), atom('ok'));
    return atom('badarg');
  }
  override handleCast(message: Term): HandlerResult {
    if (!(message instanceof ErlTuple)) return;
    const [op, a, b] = message.elements;
    if (isAtom(op, 'set')) this.store.set(String(a), b!);
    else if (isAtom(op, 'stop')) return new ErlangReason(a!);
  }
  override handleInfo(): HandlerResult {}
}
