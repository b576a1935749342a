// The set-up of a test file that runs its cases on every store, the real PostgreSQL server among
// them: a temporary folder (for SQLite files), one PostgreSQL server for the whole file when the
// machine has one (the cases on it skip with the reason when not), and a watch that fails the file
// on any Promise that reached unhandledRejection. Registered as the file's `before` / `after` hooks.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

import { postgresMissing, startPostgres, type Postgres } from './postgres.js';
import { UnhandledWatch } from './unawaited.js';

/** What {@link filePostgres} gives a test file. */
export interface FilePostgres {
  /** A temporary folder of the file's own, removed after its tests. */
  readonly dir: string;
  /** Why PostgreSQL cannot start here (skip the cases on it with this), or undefined. */
  readonly missing: string | undefined;
  /**
   * The server's URL. Read it inside a test (the server starts in the file's `before` hook).
   * @throws Error when read where PostgreSQL is missing or before the hook ran.
   */
  readonly url: string;
}

/**
 * Call at the top of a test file: makes the file's folder (`<tmpdir>/<dirPrefix>XXXXXX`) now, and
 * registers a `before` hook that starts watching for unhandled rejections (failing the file in
 * its `after` hook, naming `what`) and starts PostgreSQL unless it is missing, and an `after`
 * hook that stops the server and removes the folder.
 */
export function filePostgres(o: { what: string; dirPrefix: string }): FilePostgres {
  const watch = new UnhandledWatch(o.what);
  const dir = mkdtempSync(join(tmpdir(), o.dirPrefix));
  const missing = postgresMissing();
  let server: Postgres | undefined;
  before(async () => {
    watch.start();
    if (missing === undefined) server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    watch.stop();
  });
  return {
    dir,
    missing,
    get url(): string {
      if (server === undefined)
        throw new Error(`PostgreSQL is not running: ${missing ?? 'its before hook has not run'}`);
      return server.url;
    },
  };
}
