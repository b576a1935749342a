// What the default codec keeps (structured_codec.ts), said to the compiler: `Storable<T>` is `T`
// with every part the codec would refuse replaced by `never`, so `S extends Storable<S>` holds
// exactly when no part of S is refused by type. The kinds' define functions check their state
// (and events, and a durable machine's data) with it: a state type holding a function, a method
// (a class instance with methods, a Promise, a WeakMap) or a symbol fails to compile. What types
// cannot tell apart (an instance of a class of plain fields, an Error, a cycle) is refused at
// write, with ERR_ENTITY_UNSTORABLE.

/** A value the codec keeps as such: a primitive (-0, NaN, ±Infinity and undefined included). */
export type StorablePrimitive = string | number | boolean | bigint | null | undefined;

/** The built-in objects the codec keeps as such (besides Map, Set, plain objects and arrays). */
export type StorableBuiltin = Date | RegExp | ArrayBuffer | ArrayBufferView;

/**
 * `T` with what the stores' default codec (`structuredCodec`) refuses replaced by `never`: a
 * function, a symbol, and, inside objects, a method (so an instance of a class with methods, a
 * Promise, a WeakMap). Map, Set, Date, RegExp, typed arrays, ArrayBuffer, plain objects, arrays and
 * tuples are kept, checked inside. `unknown` and `any` stay themselves (they are checked at write).
 *
 * A kind's state `S` is storable when `S extends Storable<S>`; {@link defineEntity},
 * `defineEventSourcedEntity` and `defineDurableStateMachine` check it, so
 * `initialState: () => ({ onDone: () => {} })` does not compile. Types cannot tell an instance of a
 * class with only data fields (or an Error) from a plain object: those are refused when written.
 */
export type Storable<T> = unknown extends T
  ? T
  : T extends StorablePrimitive
    ? T
    : T extends symbol | ((...args: never[]) => unknown) | (abstract new (...args: never[]) => unknown)
      ? never
      : T extends StorableBuiltin
        ? T
        : T extends Map<infer K, infer V>
          ? Map<Storable<K>, Storable<V>>
          : T extends ReadonlyMap<infer K, infer V>
            ? ReadonlyMap<Storable<K>, Storable<V>>
            : T extends Set<infer E>
              ? Set<Storable<E>>
              : T extends ReadonlySet<infer E>
                ? ReadonlySet<Storable<E>>
                : { [K in keyof T]: K extends symbol ? never : Storable<T[K]> };

/**
 * `unknown` (no constraint) when `T` is storable by type, else an object type naming what is
 * checked, which the define functions intersect with their options: the compiler then reports
 * the part of `T` that does not fit (`Type '() => void' is not assignable to type 'never'`).
 */
export type CheckStorable<T, What extends string> = [T] extends [Storable<T>]
  ? unknown
  : { readonly [K in `~the ${What} type holds what the store cannot keep (see Storable)`]: Storable<T> };
