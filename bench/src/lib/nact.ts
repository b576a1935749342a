// nact (CommonJS, its own ambient typings) loaded through a loosely typed facade: the suites only
// need start/stop, spawn, spawnStateless, dispatch and query.

import { createRequire } from 'node:module';

/** An opaque nact reference (actor or system). */
export type NactRef = { readonly __nact?: never };

/** The subset of nact the benchmarks use. */
export interface Nact {
  start(...extensions: unknown[]): NactRef;
  stop(ref: NactRef): void;
  spawn(parent: NactRef, f: (state: any, msg: any, ctx: any) => any, name?: string, props?: object): NactRef;
  spawnStateless(parent: NactRef, f: (msg: any, ctx: any) => any, name?: string, props?: object): NactRef;
  dispatch(to: NactRef, msg: unknown, sender?: NactRef): void;
  query(to: NactRef, msg: unknown, timeout: number): Promise<any>;
}

export const nact = createRequire(import.meta.url)('nact') as Nact;
