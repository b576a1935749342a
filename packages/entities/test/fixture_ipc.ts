// What the child-process fixtures (entity_node.ts, faults_node.ts) share: reading their
// environment, reporting to the test that forked them over IPC, serving its commands (each
// `{ id, cmd, ... }` answered `{ id, ok }` or `{ id, err, code }`), and stopping their node; and,
// for the tests, which file to fork for one.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Node } from 'ergo-ts';

import { stopMember, type Entities, type EntityStore } from '../src/index.js';

/** A reader of the fixture's environment that throws, naming the fixture, when a variable is unset. */
export function fixtureEnv(fixture: string): (k: string) => string {
  return (k) => {
    const v = process.env[k];
    if (v === undefined) throw new Error(`${fixture}: ${k} is not set`);
    return v;
  };
}

/** Sends `m` to the parent test (dropped once it disconnected). */
export function toParent(m: unknown): void {
  if (process.connected) process.send!(m);
}

/** Serves the parent's commands with `run`, then reports `{ kind: 'ready' }`. */
export function serveCommands<C extends { id: number }>(run: (c: C) => Promise<unknown>): void {
  process.on('message', (c: C) => {
    run(c).then(
      (ok) => toParent({ id: c.id, ok }),
      (e: unknown) => {
        // An overloaded owner's refusal says when to ask again: the harness honours it.
        const retryAfterMs = (e as { retryAfterMs?: unknown })?.retryAfterMs;
        toParent({
          id: c.id,
          err: String((e as Error)?.message ?? e),
          code: (e as { code?: unknown })?.code,
          ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
        });
      },
    );
  });
  toParent({ kind: 'ready' });
}

/**
 * Stops the fixture as docs/deploy.md says a member stops (`stopMember`: one deadline for all):
 * the entities runtime (unless undefined: then `node.stop()` alone drains it), the node, the
 * store; prints its report (a `member stop report {json}` line), then ends the process once the
 * answer is sent (by leaving the IPC channel, or exiting should anything still hold it).
 */
export async function stopFixture(entities: Entities | undefined, node: Node, store: EntityStore): Promise<'stopped'> {
  const report = await stopMember({ node, store, ...(entities === undefined ? {} : { entities }) });
  console.log(`member stop report ${JSON.stringify(report)}`);
  setImmediate(() => {
    process.disconnect();
    setTimeout(() => process.exit(0), 200).unref();
  });
  return 'stopped';
}

/**
 * The file to fork for the fixture `name` (scripts/bundle-fixtures.mjs's FIXTURES): its bundle
 * when the test run made one (ERGO_TEST_FIXTURE_BUNDLES, scripts/bundle-fixtures.mjs: ~0.2 CPU-s
 * less a start), else the compiled module beside this one.
 */
export function fixtureEntry(name: string): string {
  const bundles = process.env.ERGO_TEST_FIXTURE_BUNDLES;
  const bundled = bundles ? join(bundles, `${name}.js`) : undefined;
  if (bundled !== undefined && existsSync(bundled)) return bundled;
  return fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}
