// Node built-in modules loaded on first use. Importing `node:tls` costs a fresh process about
// 15–25 ms of CPU, `node:crypto` about 10, `node:zlib`, `node:v8` and `node:perf_hooks` a few ms
// each (issue 64: a node process should import and start in tens of ms), and most nodes never use
// TLS, compression or the inspectors; `node:crypto` waits for the first handshake. A static `import` loads them with the module graph; these getters load one the
// first time a caller needs it (synchronously, from Node's built-in table), once per process.

import { createRequire } from 'node:module';
import type * as CryptoModule from 'node:crypto';
import type * as DnsModule from 'node:dns';
import type * as PerfHooksModule from 'node:perf_hooks';
import type * as TlsModule from 'node:tls';
import type * as V8Module from 'node:v8';
import type * as ZlibModule from 'node:zlib';

type Crypto = typeof CryptoModule;
type Dns = typeof DnsModule;
type Tls = typeof TlsModule;
type Zlib = typeof ZlibModule;
type V8 = typeof V8Module;
type PerfHooks = typeof PerfHooksModule;

// process.getBuiltinModule came with Node 22.3; a require is the fallback on earlier 22.x.
const load: <T>(id: string) => T =
  typeof process.getBuiltinModule === 'function'
    ? <T>(id: string): T => process.getBuiltinModule(id) as T
    : <T>(id: string): T => createRequire(import.meta.url)(id) as T;

let crypto: Crypto | undefined;
let dns: Dns | undefined;
let tls: Tls | undefined;
let zlib: Zlib | undefined;
let v8: V8 | undefined;
let perfHooks: PerfHooks | undefined;

/** `node:crypto`, loaded on the first call. */
export function nodeCrypto(): Crypto {
  return (crypto ??= load<Crypto>('node:crypto'));
}

/** `node:dns`, loaded on the first call. */
export function nodeDns(): Dns {
  return (dns ??= load<Dns>('node:dns'));
}

/** `node:tls`, loaded on the first call. */
export function nodeTls(): Tls {
  return (tls ??= load<Tls>('node:tls'));
}

/** `node:zlib`, loaded on the first call. */
export function nodeZlib(): Zlib {
  return (zlib ??= load<Zlib>('node:zlib'));
}

/** `node:v8`, loaded on the first call. */
export function nodeV8(): V8 {
  return (v8 ??= load<V8>('node:v8'));
}

/** `node:perf_hooks`, loaded on the first call. */
export function nodePerfHooks(): PerfHooks {
  return (perfHooks ??= load<PerfHooks>('node:perf_hooks'));
}
