// Test-side node behaviour over a DistConnection, just enough for net_adm:ping and message
// round trips until the node engine integration exists: a `net_kernel` answering
// `{is_auth, _}` with `yes` through the gen_server reply protocol, MONITOR_P on unknown names
// answered with `noproc`, and every other message kept in an inbox the test can wait on.

import {
  ErlImproperList,
  ErlPid,
  ErlRef,
  ErlTuple,
  atom,
  isAtom,
  tuple,
  type DistConnection,
  type Term,
} from '../src/index.js';

/** A received control message with its payload. */
export interface Received {
  op: number;
  control: ErlTuple;
  payload: Term | undefined;
}

export class TestNode {
  readonly inbox: Received[] = [];
  readonly pid: ErlPid;
  isAuthCalls = 0;
  #waiters: { pred: (m: Received) => boolean; resolve(m: Received): void }[] = [];

  constructor(
    readonly conn: DistConnection,
    readonly name: string,
    readonly creation: number,
    readonly registered: Set<string> = new Set(['net_kernel']),
  ) {
    this.pid = new ErlPid(name, 1, 0, creation);
    conn.on('message', ({ control, payload }) => {
      if (!(control instanceof ErlTuple) || typeof control.get(0) !== 'number')
        throw new Error(`not a control tuple: ${String(control)}`);
      this.#handle({ op: control.get(0) as number, control, payload });
    });
  }

  #handle(m: Received): void {
    const c = m.control.elements;
    if (m.op === 19) {
      // MONITOR_P {19, From, ToProc, Ref}: a name we do not have is gone already
      const to = c[2];
      if (isAtom(to) && !this.registered.has(to.name)) this.conn.send(tuple(21, to, c[1]!, c[3]!, atom('noproc')));
      return;
    }
    if (m.op === 20) return; // DEMONITOR_P
    if (m.op === 6 && isAtom(c[3], 'net_kernel')) {
      const p = m.payload;
      if (p instanceof ErlTuple && isAtom(p.get(0), '$gen_call')) {
        const from = p.get(1) as ErlTuple;
        const req = p.get(2);
        if (req instanceof ErlTuple && isAtom(req.get(0), 'is_auth')) {
          this.isAuthCalls++;
          this.reply(from, atom('yes'));
          return;
        }
      }
    }
    for (let i = 0; i < this.#waiters.length; i++) {
      const w = this.#waiters[i]!;
      if (w.pred(m)) {
        this.#waiters.splice(i, 1);
        w.resolve(m);
        return;
      }
    }
    this.inbox.push(m);
  }

  /** gen_server reply: to the alias of an `[alias|Ref]` tag (ALIAS_SEND), else to the caller pid (SEND). */
  reply(from: ErlTuple, value: Term): void {
    const caller = from.get(0) as ErlPid;
    const tag = from.get(1)!;
    if (tag instanceof ErlImproperList && isAtom(tag.elements[0], 'alias') && tag.tail instanceof ErlRef) {
      this.conn.send(tuple(33, this.pid, tag.tail), tuple(tag, value));
    } else {
      this.conn.send(tuple(2, atom(''), caller), tuple(tag, value));
    }
  }

  /** Resolves with the first message (already received or future) that `pred` accepts. */
  waitFor(pred: (m: Received) => boolean): Promise<Received> {
    const i = this.inbox.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    return new Promise((resolve) => this.#waiters.push({ pred, resolve }));
  }
}
