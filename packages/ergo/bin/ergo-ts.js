#!/usr/bin/env node
// The `ergo-ts` command (package.json "bin"): the bundled CLI, dist/bundle/cli.js (built by
// scripts/bundle-core.mjs from dist/src/cluster/cli.js). A committed file of its own because npm
// links a bin at install time only if its file exists then: in a clone, `npm ci` installs before
// it builds, so a bin pointing into dist/ was never linked.
//
// Node's compile cache is turned on before the CLI loads (a dynamic import: static ones are
// compiled before this file's first line runs), so the launcher compiles ergo-ts once per host
// and Node version, as its nodes do (dist/src/cluster/worker.js). `NODE_DISABLE_COMPILE_CACHE=1`
// turns it off.
import * as nodeModule from 'node:module';

nodeModule.enableCompileCache?.();
await import('../dist/bundle/cli.js');
