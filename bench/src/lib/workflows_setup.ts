// What the workflow suites (suites/workflows.ts, suites/workflows_overload.ts) set up alike for a
// peer's child: the version of an installed package for the rows' notes, whether a peer's SDK
// loads at all, and a PostgreSQL 15 of the child's own (fsync on) with a fresh database.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { postgresMissing, startPostgres, type Postgres } from '@ergo-ts/test-support';

import { createDatabase } from './resume_row.js';

/** The version of an installed npm package (its package.json, found from its entry point), or '?'. */
export function pkgVersion(name: string): string {
  const req = createRequire(import.meta.url);
  try {
    let dir = dirname(req.resolve(name));
    for (;;) {
      try {
        const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
        if (p.name === name) return p.version;
      } catch {
        // No package.json here: one level up.
      }
      if (dirname(dir) === dir) return '?';
      dir = dirname(dir);
    }
  } catch {
    return '?';
  }
}

/** Why `name` cannot be imported here, or undefined when it can. */
export async function unloadable(name: string): Promise<string | undefined> {
  try {
    await import(name);
    return undefined;
  } catch (e) {
    return `${name} could not be loaded (${(e as Error).message.split('\n')[0]}); npm install in bench/ brings it`;
  }
}

/**
 * A PostgreSQL 15 server for one child, fsync on, allowing `maxConnections`, with a fresh database
 * `name`; or why there is none. The caller stops the server.
 */
export async function benchPostgres(
  name: string,
  maxConnections: number,
): Promise<{ server: Postgres; url: string } | string> {
  let missing: string | undefined;
  try {
    missing = postgresMissing();
  } catch (e) {
    missing = (e as Error).message;
  }
  if (missing !== undefined) return `no PostgreSQL server: ${missing}`;
  const server = await startPostgres({
    // pg_stat_statements counts each engine's statements for the cost rows (lib/workflows_cost.ts).
    settings: {
      fsync: 'on',
      full_page_writes: 'on',
      max_connections: maxConnections,
      shared_preload_libraries: 'pg_stat_statements',
    },
  });
  try {
    return { server, url: createDatabase(server.url, name) };
  } catch (e) {
    await server.stop();
    throw e;
  }
}
