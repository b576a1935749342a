#!/usr/bin/env node
// The `ergo-ts` command (package.json "bin"): the bundled CLI, dist/bundle/cli.js (built by
// scripts/bundle-core.mjs from dist/src/cluster/cli.js). A committed file of its own because npm
// links a bin at install time only if its file exists then: in a clone, `npm ci` installs before
// it builds, so a bin pointing into dist/ was never linked.
import '../dist/bundle/cli.js';
