// Entity templates (`--with-entity Cart`): the kind's module (its typed protocol, its Entity
// class and defineEntity), the node's store and runtime lines, and a test that starts a real node
// with the runtime over a store of its own: calls change the state, and the state is still there
// after the node restarts. The store is SQLite (node:sqlite, a file) or, with `--entity-store
// postgres`, PostgreSQL at ERGO_ENTITY_DB. Written against @ergo-ts/entities' state mode
// (docs/entities.md).

import { type EntityItem, type Project, usesEntities } from './model.js';

/** `src/entities/<lo>.ts` */
export function renderEntity(e: EntityItem): string {
  return `// The entity kind ${e.name}: an actor addressed by a key (\`entity(${e.name}, 'some-key')\`) instead of
// a PID. The first call to a key activates it on the node that owns the key, with its state
// loaded from the store; an idle one is passivated (its state stays in the store). See
// @ergo-ts/entities' docs (docs/entities.md in the ergo-ts repository).
import { Entity, defineEntity } from '@ergo-ts/entities';
import { defineProtocol, schema } from 'ergo-ts';

/** What a ${e.name} accepts, checked by the compiler here and at the wire from other nodes. */
export const ${e.name}Protocol = defineProtocol('${e.lo}', {
  messages: { add: schema.object({ add: schema.integer() }) },
  calls: {
    add: { request: schema.object({ addAndGet: schema.integer() }), reply: schema.integer() },
    get: { request: schema.literal('get'), reply: schema.integer() },
  },
});

/** The state of one ${e.name} (a counter to start with: make it yours). */
export type ${e.name}State = number;

/**
 * One ${e.name}: handlers run one message at a time. Assign a new value to \`this.state\` (do not
 * mutate it in place): the runtime saves it after the handler, before a call's reply is sent.
 */
export class ${e.name}Entity extends Entity<typeof ${e.name}Protocol, ${e.name}State> {
  override handleMessage(msg: { add: number }): void {
    this.state = this.state + msg.add;
  }
  override handleCall(req: { addAndGet: number } | 'get'): number {
    if (req !== 'get') this.state = this.state + req.addAndGet;
    return this.state;
  }
}

/** The kind: give it to startEntities (src/node.ts) and address keys with entity(${e.name}, key). */
export const ${e.name} = defineEntity('${e.lo}', {
  protocol: ${e.name}Protocol,
  entity: ${e.name}Entity,
  initialState: (): ${e.name}State => 0,
  passivateAfterMs: 30_000,
});
`;
}

/** The imports of @ergo-ts/entities and of the store's opener in src/node.ts (empty without entities). */
export function entityPackageImport(project: Project): string {
  if (!usesEntities(project)) return '';
  return `import { startEntities } from '@ergo-ts/entities';\n`;
}

/**
 * `src/store.ts`: opens the entities' store, for src/node.ts and src/cluster.ts alike. With
 * `--entity-store postgres` it is PostgreSQL at ERGO_ENTITY_DB (required). With SQLite (the
 * default) ERGO_ENTITY_DB names the file, unless it is a PostgreSQL connection string
 * (postgres:// or postgresql://): then PostgreSQL, so one variable moves a project to it.
 */
export function renderStore(project: Project): string {
  if (project.entityStore === 'postgres')
    return `// The store the entities keep their state in: PostgreSQL at ERGO_ENTITY_DB
// (postgres://user:password@host:5432/db), one database for every node of the cluster.
// ${opener(project)}
import { PostgresStore, type EntityStore } from '@ergo-ts/entities';

/** Opens PostgreSQL at ERGO_ENTITY_DB (its tables are made when missing); throws when it is unset. */
export async function openStore(): Promise<EntityStore> {
  const db = process.env['ERGO_ENTITY_DB'];
  if (db === undefined || db === '')
    throw new Error('set ERGO_ENTITY_DB to the PostgreSQL connection string the entities keep their state in');
  return PostgresStore.open(db);
}
`;
  return `// The store the entities keep their state in, from ERGO_ENTITY_DB: a PostgreSQL connection string
// (postgres://user:password@host:5432/db) opens PostgreSQL, anything else names a SQLite file
// (node:sqlite). Unset, a file in the project. ${opener(project)}
import { fileURLToPath } from 'node:url';

import { PostgresStore, SqliteStore, type EntityStore } from '@ergo-ts/entities';

/**
 * Opens the store ERGO_ENTITY_DB names (PostgreSQL for a postgres:// or postgresql:// URL, else a
 * SQLite file), or the SQLite file of this name in the project when it is unset.
 */
export async function openStore(file: string): Promise<EntityStore> {
  const db = process.env['ERGO_ENTITY_DB'] || fileURLToPath(new URL(\`../../\${file}\`, import.meta.url));
  return /^postgres(?:ql)?:\\/\\//i.test(db) ? PostgresStore.open(db) : SqliteStore.open(db);
}
`;
}

/** Who opens the store through src/store.ts, for its header. */
function opener(project: Project): string {
  return project.workflows.length > 0 ? 'src/node.ts and src/cluster.ts open it here.' : 'src/node.ts opens it here.';
}

/** The imports of the project's entity kinds in src/node.ts. */
export function entityKindImports(project: Project): string[] {
  return [
    ...project.entities.map((e) => `import { ${e.name} } from './entities/${e.lo}.js';`),
    ...project.workflows.map((w) => `import { ${w.name} } from './workflows/${w.lo}.js';`),
  ];
}

/** The lines of start() that open the store and start the entities runtime (empty without entities). */
export function renderEntityStart(project: Project): string {
  if (!usesEntities(project)) return '';
  const kinds = [...project.entities, ...project.workflows].map((e) => e.name).join(', ');
  const open =
    project.entityStore === 'postgres'
      ? `  // PostgreSQL at ERGO_ENTITY_DB (src/store.ts).
  const store = await openStore().catch(async (err: unknown) => {`
      : `  // ERGO_ENTITY_DB (a SQLite file, or a postgres:// URL: src/store.ts), or entities.db in the project.
  const store = await openStore('entities.db').catch(async (err: unknown) => {`;
  return `  // Durable entities (@ergo-ts/entities): node.stop() drains the runtime, then the store closes.
${open}
    await node.stop();
    throw err;
  });
  try {
    await startEntities(node, { store, kinds: [${kinds}] });
  } catch (err) {
    await node.stop();
    await store.close();
    throw err;
  }
  node.log.info('entities: store %s', store.name);
  void node
    .wait()
    .then(() => store.close())
    .catch((err: unknown) => console.error(\`closing the entity store: \${(err as Error).message}\`));
`;
}

/** `test/<lo>.test.ts` */
export function renderEntityTest(e: EntityItem, project: Project): string {
  const pg = project.entityStore === 'postgres';
  const open = pg
    ? `/** The store: PostgreSQL at ERGO_ENTITY_DB (the test skips without it). */
async function openStore(): Promise<EntityStore | undefined> {
  const db = process.env['ERGO_ENTITY_DB'];
  return db === undefined || db === '' ? undefined : PostgresStore.open(db);
}`
    : `const dir = mkdtempSync(join(tmpdir(), '${e.lo}-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The store: a SQLite file of this test's own. */
async function openStore(): Promise<EntityStore | undefined> {
  return SqliteStore.open(join(dir, 'entities.db'));
}`;
  return `import { strict as assert } from 'node:assert';
${pg ? '' : "import { mkdtempSync, rmSync } from 'node:fs';\nimport { tmpdir } from 'node:os';\nimport { join } from 'node:path';\n"}import { ${pg ? '' : 'after, '}test } from 'node:test';

import { ${pg ? 'PostgresStore' : 'SqliteStore'}, entity, startEntities, type EntityStore } from '@ergo-ts/entities';
import { startNode } from 'ergo-ts';

import { ${e.name} } from '../src/entities/${e.lo}.js';

${open}

test('${e.name}: calls change the state of their key; the state outlives the node', async (t) => {
  const store = await openStore();
  if (store === undefined) return t.skip('set ERGO_ENTITY_DB to a PostgreSQL connection string');
  // A key of this run: a shared PostgreSQL database keeps the keys of earlier runs.
  const key = \`k\${process.pid}-\${Date.now()}\`;
  try {
    for (const round of [1, 2]) {
      const node = await startNode(\`${e.lo}_test_\${process.pid}@localhost\`, {
        log: { level: 'warning', defaultLogger: { timeFormat: 'iso' } },
      });
      try {
        const entities = await startEntities(node, { store, kinds: [${e.name}] });
        const k = entity(${e.name}, key);
        if (round === 1) {
          assert.equal(await entities.call(k, { addAndGet: 2 }), 2);
          assert.equal(await entities.call(k, { addAndGet: 3 }), 5);
          assert.equal(await entities.call(entity(${e.name}, \`\${key}-other\`), 'get'), 0, 'each key has its own state');
        } else {
          // A new node over the same store: the key activates with the state it had.
          assert.equal(await entities.call(k, 'get'), 5);
        }
      } finally {
        await node.stop(); // drains the entities runtime
      }
    }
  } finally {
    await store.close();
  }
});
`;
}
