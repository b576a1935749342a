#!/usr/bin/env node
// The `create-ergo-ts` command (package.json "bin"): the compiled CLI, dist/src/cli.js. A committed
// file of its own because npm links a bin at install time only if its file exists then: in a
// clone, `npm ci` installs before it builds, so a bin pointing into dist/ was never linked.
import '../dist/src/cli.js';
