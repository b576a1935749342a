// Type-level tests of what a kind may store, compiled by `npm run check:types` (scripts/check-types.mjs)
// against the built package. `defineEntity`, `defineEventSourcedEntity` and
// `defineDurableStateMachine` check their state (events, data) against `Storable`: a state type
// holding a function, a method (a class instance with methods, a Promise, a WeakMap) or a symbol
// does not compile; Map, Set, Date, bigint, typed arrays and plain data do. Each
// `@ts-expect-error` line must be an error (an unused one fails). Nothing here runs.

import { defineProtocol, schema, type StandardSchemaV1 } from 'ergo-ts';
import {
  Entity,
  EventSourcedEntity,
  defineDurableStateMachine,
  defineEntity,
  defineEventSourcedEntity,
  durableSpec,
  type Storable,
} from '@ergo-ts/entities';

const P = defineProtocol('storable', { messages: { go: schema.literal('go') } });

/** A kind whose state is `S` (an entity class for it, and `initialState`). */
function kindOf<S>(initial: S) {
  class E extends Entity<typeof P, S> {}
  return { protocol: P, entity: E, initialState: () => initial };
}

// Kept: plain data, interfaces, Map, Set, Date, bigint, typed arrays, undefined, nesting.
interface Cart {
  readonly items: ReadonlyMap<string, { readonly qty: number; readonly added: Date }>;
  readonly tags: Set<string>;
  readonly total: bigint;
  readonly blob?: Uint8Array;
  readonly note: string | undefined;
  readonly history: readonly { at: Date; what: 'add' | 'remove' }[];
  readonly pair: readonly [number, RegExp];
}
defineEntity(
  'cart',
  kindOf<Cart>({ items: new Map(), tags: new Set(), total: 0n, note: undefined, history: [], pair: [1, /x/] }),
);
defineEntity('n', kindOf(0));
defineEntity('s', kindOf('x' as const));
defineEntity('u', kindOf<unknown>(undefined));
defineEntity('buf', kindOf({ b: Buffer.from('x'), f: new Float64Array(1), ab: new ArrayBuffer(1) }));
type Tree = { readonly value: number; readonly children: readonly Tree[] };
defineEntity('tree', kindOf<Tree>({ value: 1, children: [] }));

// Refused: a function, a method, a symbol, anywhere inside.
// @ts-expect-error a function in the state
defineEntity('fn', kindOf({ onDone: () => undefined }));
// @ts-expect-error a Map whose values are functions
defineEntity('mapfn', kindOf(new Map<string, () => void>()));
// @ts-expect-error a Promise (its then/catch/finally are methods)
defineEntity('promise', kindOf({ pending: Promise.resolve(1) }));
// @ts-expect-error a WeakMap
defineEntity('weak', kindOf({ cache: new WeakMap<object, number>() }));
// @ts-expect-error a symbol deep inside
defineEntity('sym', kindOf({ a: [{ b: new Set([Symbol('x')]) }] }));
class Account {
  balance = 0;
  deposit(n: number): void {
    this.balance += n;
  }
}
// @ts-expect-error a class instance with methods
defineEntity('class', kindOf({ account: new Account() }));
const selfFn = kindOf(() => 1);
// @ts-expect-error the state itself a function
defineEntity('self', selfFn);

// A kind whose state is a type parameter cannot be checked: it does not compile (cast, or name the type).
export function generic<S>(initial: S) {
  // @ts-expect-error the state is a type parameter
  return defineEntity('generic', kindOf(initial));
}

// What the type says.
const kept: Storable<Cart> = {} as Cart;
void kept;
// @ts-expect-error a function is never storable
const never: Storable<{ f: () => void }> = { f: () => undefined };
void never;

// Event-sourced kinds: the state and the events.
const Added = schema.object({ type: schema.literal('added'), at: schema.number() });
class Ledger extends EventSourcedEntity<typeof P, Map<string, Date>, { added: typeof Added }> {}
defineEventSourcedEntity('ledger', {
  protocol: P,
  events: { added: Added },
  entity: Ledger,
  initialState: () => new Map<string, Date>(),
  applyEvent: (s, e) => new Map(s).set(String(e.at), new Date(e.at)),
});
class BadLedger extends EventSourcedEntity<typeof P, { f: () => void }, { added: typeof Added }> {}
// @ts-expect-error an event-sourced state holding a function
defineEventSourcedEntity('bad-ledger', {
  protocol: P,
  events: { added: Added },
  entity: BadLedger,
  initialState: () => ({ f: () => undefined }),
  applyEvent: (s) => s,
});
/** A Standard Schema whose output holds a function (a schema library's own types could say so). */
declare const WithCallback: StandardSchemaV1<{ type: 'cb'; run: () => void }>;
class CallbackLedger extends EventSourcedEntity<typeof P, number, { cb: typeof WithCallback }> {}
// @ts-expect-error an event type holding a function
defineEventSourcedEntity('cb-ledger', {
  protocol: P,
  events: { cb: WithCallback },
  entity: CallbackLedger,
  initialState: () => 0,
  applyEvent: (s) => s,
});

// Durable state machines: their data.
defineDurableStateMachine('door', {
  protocol: P,
  spec: () => durableSpec<typeof P, 'open' | 'shut', { opened: Date[] }>(P, 'open', { opened: [] }),
});
// @ts-expect-error a machine's data holding a function
defineDurableStateMachine('bad-door', {
  protocol: P,
  spec: () => durableSpec<typeof P, 'open' | 'shut', { onOpen: () => void }>(P, 'open', { onOpen: () => undefined }),
});
