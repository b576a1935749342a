// `ergo-ts/register`: turns on Node's compile cache for the program that preloads it, so every
// later start on the host reads V8's cached code for ergo-ts (and the program) instead of parsing
// and compiling it again (issue 64: a hundred nodes on one host; docs/scale.md, "What a node
// process spends to start"). A module's static imports are all compiled before its first line
// runs, so the call must come before the program's entry is loaded: preload this module,
//
//   node --import ergo-ts/register dist/main.js
//
// (an `import 'ergo-ts/register'` at the top of the program itself comes too late). The cache
// lives where `NODE_COMPILE_CACHE` says, or in the system's temporary folder;
// `NODE_DISABLE_COMPILE_CACHE=1` turns it off. The launcher's cluster nodes and the `ergo-ts`
// command turn it on themselves.

import * as nodeModule from 'node:module';

/**
 * What turning the compile cache on gave (`module.enableCompileCache()`: its status, and the
 * folder when enabled), or `undefined` on a Node without the call (22.0–22.7: the program runs
 * without the cache). Set once, when this module is first loaded.
 */
export const compileCache: nodeModule.EnableCompileCacheResult | undefined = nodeModule.enableCompileCache?.();
