// Workflow templates (`--with-workflow Order`): the workflow's module (two steps, a durable sleep,
// a signal, a query; `defineWorkflow` of @ergo-ts/entities), its test (on @ergo-ts/entities/testing's
// kit, whose test clock skips the sleep: started, signalled, its result, its journal replayed), and
// `src/cluster.ts`, which `npm run cluster` runs: three member nodes as OS processes on one
// machine, wired to each other (static routes, `members: [the three]`), one store (src/store.ts), each
// serving a small HTTP front door to start, signal and await workflows on any member.

import { type EntityItem, type Project } from './model.js';

/** `src/workflows/<lo>.ts` */
export function renderWorkflow(w: EntityItem): string {
  return `// The workflow ${w.name}: a durable function. Each \`ctx\` operation is journaled in the entities
// store before the body goes on, so when its node dies (or the key moves), another member of the
// cluster runs it again from its journal: a step whose result was saved is not run again, a sleep
// wakes at its time, a signal sent meanwhile is kept. Start one from any node with
// \`entities.workflows.start(${w.name}, id, input)\`. See @ergo-ts/entities' docs.
import { defineWorkflow } from '@ergo-ts/entities';
import { schema } from 'ergo-ts';

/** What ${w.name} starts with. */
export interface ${w.name}Input {
  /** What the workflow is about. */
  readonly item: string;
  /** How long it waits between its two steps, in ms. */
  readonly coolOffMs: number;
}

/** What ${w.name} ends with. */
export interface ${w.name}Output {
  readonly reserved: string;
  readonly approvedBy: string;
  readonly shipped: string;
}

export const ${w.name} = defineWorkflow(
  '${w.lo}',
  async (ctx, input: ${w.name}Input): Promise<${w.name}Output> => {
    let stage = 'reserving';
    ctx.onQuery('stage', () => stage);
    // A step: its result is journaled; a step that throws is retried (5 attempts by default).
    // Pass idempotencyKey to the system it calls, so a step re-run after a crash is harmless.
    const reserved = await ctx.step('reserve', ({ idempotencyKey }) => \`reserved \${input.item} (\${idempotencyKey})\`);
    stage = 'cooling off';
    // A durable sleep: a wake-up time in the store, not a timer that dies with the process.
    await ctx.sleep(input.coolOffMs);
    stage = 'waiting for approval';
    // A signal: handle.signal('approve', { by }) from any node; kept if it comes before this.
    const approval = await ctx.signal('approve');
    stage = 'shipping';
    const shipped = await ctx.step('ship', () => \`shipped \${input.item}\`);
    stage = 'done';
    return { reserved, approvedBy: approval.by, shipped };
  },
  {
    signals: { approve: schema.object({ by: schema.string() }) },
    queries: { stage: schema.string() },
  },
);
`;
}

/** `test/<lo>.test.ts`: the workflow on the entities test kit, whose clock skips the sleep. */
export function renderWorkflowTest(w: EntityItem): string {
  return `// ${w.name} on the real entities runtime with a test clock and an in-memory store
// (@ergo-ts/entities/testing): time moves only when the test moves it, so its day-long sleep takes
// milliseconds. A cluster on a real store: \`npm run cluster\` (src/cluster.ts).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { replayWorkflow, startTestEntities } from '@ergo-ts/entities/testing';

import { ${w.name} } from '../src/workflows/${w.lo}.js';

const DAY = 86_400_000;

test('${w.name}: two steps, a day-long sleep and a signal, journaled; the result once approved', async () => {
  // Leases of an hour: skipping a day fires a lease renewal every third of it (72, not 8,640).
  await using kit = await startTestEntities({ kinds: [${w.name}], leaseTtlMs: 3_600_000 });
  const wf = await kit.workflows.start(${w.name}, 'w1', { item: 'book', coolOffMs: DAY });
  assert.equal(wf.created, true);
  // Its first step done, the body sleeps until a day later on the test clock.
  const [idle] = await kit.workflows.runUntilIdle();
  assert.equal(idle?.wakeAt, kit.clock.now() + DAY);
  assert.equal(await wf.query('stage'), 'cooling off');
  // Sent before the body asks for it: kept until then.
  assert.equal(await wf.signal('approve', { by: 'alice' }), 'accepted');
  // Skips the day (the clock moves to the wake-up) and runs the body to its end.
  assert.deepEqual(await wf.advanceUntilDone(), {
    // The step's idempotency key: <workflow>/<id>/<operation's seq>/step:<name>.
    reserved: 'reserved book (${w.lo}/w1/0/step:reserve)',
    approvedBy: 'alice',
    shipped: 'shipped book',
  });
  assert.equal(await wf.query('stage'), 'done');
  // The journal, as an operator sees it: two steps, the sleep, the signal.
  const described = await wf.describe();
  assert.deepEqual(
    described.history.map((e) => e.t),
    ['step', 'sleep', 'signal', 'step'],
  );
  // The history replays against this code; a change that drops or reorders an operation would not.
  assert.equal((await replayWorkflow(${w.name}, described)).ended, 'returned');
  // Starting the same id again starts nothing.
  assert.equal((await kit.workflows.start(${w.name}, 'w1', { item: 'pen', coolOffMs: 0 })).created, false);
});
`;
}

/** `src/cluster.ts`: the three-node cluster of \`npm run cluster\`. */
export function renderCluster(project: Project): string {
  const w = project.workflows[0]!;
  const kinds = [...project.entities, ...project.workflows];
  const imports = [
    ...project.entities.map((e) => `import { ${e.name} } from './entities/${e.lo}.js';`),
    ...project.workflows.map((x) => `import { ${x.name} } from './workflows/${x.lo}.js';`),
    `import { openStore } from './store.js';`,
  ].sort();
  const pg = project.entityStore === 'postgres';
  const byName = project.workflows.map((x) => `  ['${x.lo}', ${x.name}],`).join('\n');
  return `// A three-node cluster of this project on one machine: \`npm run cluster\` (or
// \`node --import ergo-ts/register dist/src/cluster.js --port 9140\`) starts three member nodes as OS processes (this file
// with --member 0, 1, 2), wired to each other by static routes and given \`members\` (the three
// names), with the workflows and the entities runtime over one store (src/store.ts): ${
    pg
      ? `PostgreSQL at
// ERGO_ENTITY_DB, one database the three share:
//   ERGO_ENTITY_DB=postgres://user@host:5432/db npm run cluster`
      : `the SQLite
// file cluster.db in the project, or what ERGO_ENTITY_DB names: a SQLite file, or a postgres://
// connection string for PostgreSQL.`
  }
// Each member prints the store it opened and serves HTTP on 127.0.0.1, so a workflow can be started
// on one member and awaited on another:
//   curl -X POST localhost:9150/${w.lo}/o1 -d '{"item":"book","coolOffMs":1000}'   start (member 0)
//   curl -X POST localhost:9151/${w.lo}/o1/approve -d '{"by":"alice"}'            signal (member 1)
//   curl localhost:9152/${w.lo}/o1                                                 its result (member 2)
// Ports: nodes on P, P+1, P+2 and HTTP on P+10, P+11, P+12 (P: --port, ERGO_CLUSTER_PORT, 9140).
// Ctrl-C (SIGINT) or SIGTERM stops the three; kill one member (its pid is printed) and the others
// take its workflows over.
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startEntities, type AnyWorkflowKind, type Entities } from '@ergo-ts/entities';
import { startNode } from 'ergo-ts';

${imports.join('\n')}

const MEMBERS = 3;
const COOKIE = process.env['ERGO_COOKIE'] || 'cluster-cookie';

/** The workflows the HTTP front door starts, by the name in its paths. */
const WORKFLOWS = new Map<string, AnyWorkflowKind>([
${byName}
]);

const { values } = parseArgs({ options: { port: { type: 'string' }, member: { type: 'string' } } });
const base = Number(values.port ?? process.env['ERGO_CLUSTER_PORT'] ?? 9140);
if (!Number.isInteger(base) || base < 1 || base + 12 > 65535) throw new Error(\`--port \${String(values.port)}: not a port\`);
const names = Array.from({ length: MEMBERS }, (_, i) => \`${project.packageName.replace(/[^a-z0-9_-]/g, '')}\${i}@localhost\`);

if (values.member === undefined) await launch();
else await member(Number(values.member));

/** Starts the three members and stops them on SIGINT / SIGTERM (exit code 0 once all stopped). */
async function launch(): Promise<void> {${
    pg
      ? `
  if (!process.env['ERGO_ENTITY_DB']) {
    console.error('set ERGO_ENTITY_DB to the PostgreSQL connection string the members share (postgres://user@host:5432/db)');
    process.exitCode = 1;
    return;
  }`
      : ''
  }
  const file = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = names.map((_, i) =>
    fork(file, ['--port', String(base), '--member', String(i)], { stdio: 'inherit' }),
  );
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    for (const c of children) c.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const codes = await Promise.all(children.map((c) => new Promise<number | null>((r) => c.once('exit', r))));
  if (!stopping || codes.some((c) => c !== 0)) process.exitCode = 1;
  console.log('cluster stopped');
}

/** Member \`i\`: its node, the entities runtime, its HTTP front door. */
async function member(i: number): Promise<void> {
  const node = await startNode(names[i]!, {
    handleSignals: true,
    // ISO times (the default logger's own are Ergo's epoch nanoseconds), the name beside each PID.
    log: { level: 'warning', defaultLogger: { timeFormat: 'iso', includeName: true } },
    network: {
      cookie: COOKIE,
      acceptors: [{ host: '127.0.0.1', port: base + i }],
      registrar: null,
      // Each member reaches the others at their ports (no registrar needed).
      routes: names.map((n, j) => ({
        match: \`^\${n.replace(/[.$]/g, '\\\\$&')}$\`,
        route: { route: { host: '127.0.0.1', port: base + j, tls: false } },
      })),
    },
  });
  const store = await openStore(${pg ? '' : "'cluster.db'"});
  const entities = await startEntities(node, { store, members: names, kinds: [${kinds.map((k) => k.name).join(', ')}] });
  const http = createServer((req, res) => {
    serve(entities, req, res).catch((err: unknown) => reply(res, 500, { error: String(err) }));
  });
  await new Promise<void>((r) => http.listen(base + 10 + i, '127.0.0.1', r));
  console.log(
    \`member \${names[i]} (pid \${process.pid}): node on 127.0.0.1:\${base + i}, store \${store.name}, http://127.0.0.1:\${base + 10 + i}\`,
  );
  await node.wait(); // SIGTERM / SIGINT: the node stops gracefully (the runtime hands its keys over)
  http.close();
  await store.close();
}

/** POST /<workflow>/<id> (start), POST /<workflow>/<id>/<signal> (signal), GET /<workflow>/<id> (result). */
async function serve(entities: Entities, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [, name = '', id = '', signal] = (req.url ?? '').split('/').map(decodeURIComponent);
  const kind = WORKFLOWS.get(name);
  if (kind === undefined || id === '') return reply(res, 404, { error: \`no workflow \${name}\` });
  let body: unknown;
  try {
    body = req.method === 'POST' ? JSON.parse((await text(req)) || 'null') : undefined;
  } catch {
    return reply(res, 400, { error: 'the body must be JSON' });
  }
  try {
    if (req.method === 'POST' && signal === undefined) {
      const h = await entities.workflows.start(kind, id, body as never);
      return reply(res, h.created ? 201 : 200, { created: h.created, node: entities.node.name });
    }
    const h = entities.workflows.handle(kind, id);
    if (req.method === 'POST') return reply(res, 200, { signal: await h.signal(signal as never, body as never) });
    return reply(res, 200, { output: await h.result(), node: entities.node.name });
  } catch (err) {
    const code = (err as { code?: string }).code;
    return reply(res, code === 'ERR_WORKFLOW_NOT_FOUND' ? 404 : 409, { error: String(err), code });
  }
}

function text(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (s += c));
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
`;
}
