#!/usr/bin/env node
// Entry point of `npm create ergo-ts` (the bin `create-ergo-ts`).
import { run } from './create.js';

try {
  process.exitCode = await run(process.argv.slice(2), {
    cwd: process.cwd(),
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    interactive: process.stdin.isTTY && process.stdout.isTTY,
  });
} catch (err) {
  process.stderr.write(`create-ergo-ts failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 2;
}
