// Type-level tests of typed Erlang-facing processes, compiled by `npm run check:types` (scripts/check-types.mjs) (tsc -p
// test-types, against the built `ergo-ts` and `@ergo-ts/erlang`). Each `@ts-expect-error` line
// must be an error: tsc reports an unused one (TS2578), failing the test. Nothing here runs.

import { defineProtocol, schema, type Infer, type Node, type PID, type Process, type Ref } from 'ergo-ts';
import {
  ErlImproperList,
  ErlTuple,
  GenServer,
  atom,
  erlangSchema as erl,
  genServerCall,
  genServerCast,
  tuple,
  type AnyAtom,
  type ErlAtom,
} from '@ergo-ts/erlang';

declare const node: Node;
declare const proc: Process;

// --- the builders' types -------------------------------------------------------------------------

export const Ok = erl.atom('ok');
export const ok: Infer<typeof Ok> = atom('ok');
// @ts-expect-error another atom
export const notOk: Infer<typeof Ok> = atom('error');
// @ts-expect-error a string is a binary, not an atom
export const okString: Infer<typeof Ok> = 'ok';

export const OkOrError = erl.atom('ok', 'error');
export const either: Infer<typeof OkOrError> = atom('error');
// @ts-expect-error not one of them
export const neither: Infer<typeof OkOrError> = atom('maybe');

export const AnyAtomS = erl.atom();
export const anyAtom: Infer<typeof AnyAtomS> = atom('whatever');
export const boolAtom: Infer<typeof AnyAtomS> = true; // true/false are atoms
// @ts-expect-error a number is no atom
export const numAtom: Infer<typeof AnyAtomS> = 1;

export const True = erl.atom('true');
export const yes: Infer<typeof True> = true; // decoded as a boolean
// @ts-expect-error the other boolean
export const no: Infer<typeof True> = false;

export const Add = erl.tuple(erl.atom('add'), schema.integer(), schema.integer());
export const add: Infer<typeof Add> = tuple(atom('add'), 1, 2);
// @ts-expect-error wrong arity
export const addShort: Infer<typeof Add> = tuple(atom('add'), 1);
// @ts-expect-error wrong element type
export const addText: Infer<typeof Add> = tuple(atom('add'), 1, 'two');
// @ts-expect-error wrong tag
export const subtract: Infer<typeof Add> = tuple(atom('sub'), 1, 2);
export const second: number = add.elements[1];

export const Ints = erl.list(erl.integer());
export const ints: Infer<typeof Ints> = [1, 2n];
// @ts-expect-error not integers
export const notInts: Infer<typeof Ints> = ['a'];

export const Improper = erl.improperList(erl.integer(), erl.atom('end'));
export const improper: Infer<typeof Improper> = new ErlImproperList([1, 2], atom('end'));
// @ts-expect-error the tail is another atom
export const improperTail: Infer<typeof Improper> = new ErlImproperList([1, 2], atom('stop'));

export const Str = erl.charlist();
export const str: Infer<typeof Str> = [97, 98];
// @ts-expect-error a JS string encodes as a binary, not as an Erlang string
export const jsStr: Infer<typeof Str> = 'ab';

export const Bin = erl.binary();
export const bin: Infer<typeof Bin> = new Uint8Array(1);
// @ts-expect-error a string is not a Uint8Array
export const binText: Infer<typeof Bin> = 'x';

// Inside the core's builders:
export const Obj = schema.object({ tag: erl.atom('a'), pair: erl.tuple(erl.atom(), erl.float()) });
export const obj: Infer<typeof Obj> = { tag: atom('a'), pair: tuple(atom('x'), 1.5) };
// @ts-expect-error the tag is another atom
export const objBad: Infer<typeof Obj> = { tag: atom('b'), pair: tuple(atom('x'), 1.5) };

// --- a typed GenServer ---------------------------------------------------------------------------

const Kv = defineProtocol('kv', {
  messages: {
    reset: erl.cast(erl.atom('reset')),
    put: erl.cast(erl.tuple(erl.atom('put'), erl.atom(), erl.integer())),
    ping: erl.tuple(erl.atom('ping'), erl.pid()),
  },
  calls: {
    get: { request: erl.tuple(erl.atom('get'), erl.atom()), reply: erl.tuple(erl.atom('ok'), erl.integer()) },
    keys: { request: erl.atom('keys'), reply: erl.list(erl.atom()) },
  },
});

type Cast = ErlAtom<'reset'> | ErlTuple<readonly [ErlAtom<'put'>, AnyAtom, number | bigint]>;
type Info = ErlTuple<readonly [ErlAtom<'ping'>, PID]>;
type Req = ErlTuple<readonly [ErlAtom<'get'>, AnyAtom]> | ErlAtom<'keys'>;

class KvServer extends GenServer.of(Kv) {
  data = new Map<string, number | bigint>();
  override handleCast(msg: Cast): void {
    if (msg instanceof ErlTuple) this.data.set(String(msg.elements[1]), msg.elements[2]);
    else this.data.clear();
  }
  override handleInfo(_from: PID, msg: Info): void {
    this.send(msg.elements[1], atom('pong'));
  }
  override handleCall(_from: PID, _ref: Ref, req: Req) {
    if (req instanceof ErlTuple) return this.reply(req, tuple(atom('ok'), this.data.get(String(req.elements[1])) ?? 0));
    return this.reply(
      req,
      [...this.data.keys()].map((k) => atom(k)),
    );
  }
}

export class WrongReply extends GenServer.of(Kv) {
  override handleCast(): void {}
  override handleInfo(): void {}
  override handleCall(_from: PID, _ref: Ref, req: Req) {
    // @ts-expect-error get answers {ok, Integer}, not {error, ...}
    if (req instanceof ErlTuple) return this.reply(req, tuple(atom('error'), 1));
    return this.reply(req, []);
  }
}

// @ts-expect-error handleCast missing: the protocol declares casts
export class NoCast extends GenServer.of(Kv) {
  override handleInfo(): void {}
  override handleCall(_from: PID, _ref: Ref, req: Req) {
    return req instanceof ErlTuple ? this.reply(req, tuple(atom('ok'), 1)) : this.reply(req, []);
  }
}

// @ts-expect-error handleInfo missing: the protocol declares other messages
export class NoInfo extends GenServer.of(Kv) {
  override handleCast(): void {}
  override handleCall(_from: PID, _ref: Ref, req: Req) {
    return req instanceof ErlTuple ? this.reply(req, tuple(atom('ok'), 1)) : this.reply(req, []);
  }
}

// @ts-expect-error handleCall missing: the protocol declares calls
export class NoCall extends GenServer.of(Kv) {
  override handleCast(): void {}
  override handleInfo(): void {}
}

export class WrongCast extends GenServer.of(Kv) {
  // @ts-expect-error a cast the protocol does not declare
  override handleCast(_msg: ErlAtom<'other'>): void {}
  override handleInfo(): void {}
  override handleCall(_from: PID, _ref: Ref, req: Req) {
    return req instanceof ErlTuple ? this.reply(req, tuple(atom('ok'), 1)) : this.reply(req, []);
  }
}

// Only casts: handleInfo and handleCall may be left out.
const CastOnly = defineProtocol('cast-only', { messages: { go: erl.cast(erl.atom('go')) } });
export class CastOnlyServer extends GenServer.of(CastOnly) {
  override handleCast(msg: ErlAtom<'go'>): void {
    void msg;
  }
}

// --- typed addresses -----------------------------------------------------------------------------

export async function addresses(): Promise<void> {
  const pid = await node.spawn(KvServer, {});
  const kv: PID<typeof Kv> = pid;
  node.send(kv, tuple(atom('$gen_cast'), atom('reset')));
  node.send(kv, tuple(atom('ping'), proc.pid));
  // @ts-expect-error not a message of kv
  node.send(kv, atom('pong'));
  const got = await node.call(kv, tuple(atom('get'), atom('k')));
  const n: number | bigint = got.elements[1];
  void n;
  const keys: AnyAtom[] = await node.call(kv, atom('keys'));
  void keys;
  // @ts-expect-error a key is an atom
  await node.call(kv, tuple(atom('get'), 'k'));

  const remote = Kv.processID('kv', 'e@localhost');
  genServerCast(proc, remote, atom('reset'));
  genServerCast(proc, remote, tuple(atom('put'), atom('k'), 1));
  // @ts-expect-error not a cast of kv
  genServerCast(proc, remote, atom('stop'));
  const r = await genServerCall(proc, remote, tuple(atom('get'), atom('k')));
  const m: number | bigint = r.elements[1];
  void m;
  // @ts-expect-error not a request of kv
  await genServerCall(proc, remote, atom('values'));
  // Untyped targets take any term, as before.
  genServerCast(proc, proc.pid, atom('anything'));
  const u: unknown = await genServerCall(proc, proc.pid, tuple(atom('x')));
  void u;
  // An actor (this, in a handler) is a process.
  const actor = new KvServer();
  genServerCast(actor, remote, atom('reset'));
}
