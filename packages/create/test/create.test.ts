// The command run in-process: what it writes, what it refuses (a non-empty directory without
// --force, bad input: nothing written), the defaults without options, what --with-observer and
// --with-logger generate.

import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { type RunIO, run } from '../src/create.js';
import { CreateErrorCode } from '../src/errors.js';
import { resolveFrom } from '../src/from.js';

const root = mkdtempSync(join(tmpdir(), 'create-ergo-ts-run-'));
after(() => rmSync(root, { recursive: true, force: true }));

function io(cwd: string): RunIO & { stdout: string; stderr: string } {
  const r = {
    cwd,
    interactive: false,
    stdout: '',
    stderr: '',
    out: (t: string) => (r.stdout += t),
    err: (t: string) => (r.stderr += t),
  };
  return r;
}

describe('npm create ergo-ts, in-process', () => {
  test('writes the project under <path>/<package name> and says what to do next', async () => {
    const cwd = join(root, 'a');
    mkdirSync(cwd);
    const r = io(cwd);
    assert.equal(await run(['Shop', '--with-actor', 'Cart', '--path', 'out'], r), 0, r.stderr);
    const dir = join(cwd, 'out', 'shop');
    assert.deepEqual(readdirSync(join(dir, 'src')).sort(), ['cart.ts', 'node.ts']);
    assert.match(r.stdout, /cd out\/shop\n {2}npm install\n {2}npm start/);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      scripts: Record<string, string>;
    };
    assert.equal(pkg.name, 'shop');
    assert.deepEqual(Object.keys(pkg.scripts).sort(), ['build', 'prestart', 'start', 'test']);
  });

  test('never writes into a non-empty directory without --force', async () => {
    const cwd = join(root, 'b');
    mkdirSync(join(cwd, 'shop'), { recursive: true });
    writeFileSync(join(cwd, 'shop', 'notes.txt'), 'mine');
    const r = io(cwd);
    assert.equal(await run(['Shop', '--with-actor', 'Cart'], r), 1);
    assert.match(r.stderr, /is not empty: .*--force/);
    assert.deepEqual(readdirSync(join(cwd, 'shop')), ['notes.txt'], 'nothing written');
    const forced = io(cwd);
    assert.equal(await run(['Shop', '--with-actor', 'Cart', '--force'], forced), 0, forced.stderr);
    assert.equal(readFileSync(join(cwd, 'shop', 'notes.txt'), 'utf8'), 'mine', 'other files stay');
    assert.ok(existsSync(join(cwd, 'shop', 'src', 'cart.ts')));
    // An empty directory is fine without --force.
    mkdirSync(join(cwd, 'empty', 'e'), { recursive: true });
    assert.equal(await run(['E', '--with-actor', 'A', '--path', 'empty'], io(cwd)), 0);
  });

  test('bad input: exit code 1, the error on stderr, nothing written', async () => {
    const cwd = join(root, 'c');
    mkdirSync(cwd);
    for (const argv of [
      ['N', '--with-actor', 'P:A'],
      ['N', '--with-actor', 'A', '--with-actor', 'a'],
      ['N', '--with-actor', 'my-actor'],
      ['N', '--with-logger', 'fancy'],
      ['--with-actor', 'A'],
      ['N', '--bogus'],
    ]) {
      const r = io(cwd);
      assert.equal(await run(argv, r), 1, argv.join(' '));
      assert.match(r.stderr, /^error: /);
      assert.deepEqual(readdirSync(cwd), [], `${argv.join(' ')} wrote nothing`);
    }
    const help = io(cwd);
    assert.equal(await run(['--help'], help), 0);
    assert.match(help.stdout, /--with-sup \[P:\]Name\{type:ofo\|afo\|rfo\|sofo/);
  });

  test('no options and no terminal: the defaults (as --yes), named MyNode unless named', async () => {
    const cwd = join(root, 'd');
    mkdirSync(cwd);
    assert.equal(await run([], io(cwd)), 0);
    assert.ok(existsSync(join(cwd, 'mynode', 'src', 'apps', 'myapp', 'myactor.ts')));
    assert.equal(await run(['Other{tls}', '--yes'], io(cwd)), 0);
    const readme = readFileSync(join(cwd, 'other', 'README.md'), 'utf8');
    assert.match(
      readme,
      /npm create ergo-ts@latest 'Other\{tls\}' -- --with-app MyApp --with-sup MyApp:MySup --with-actor MySup:MyActor/,
    );
    assert.ok(existsSync(join(cwd, 'other', 'src', 'tls.ts')));
  });

  test('--with-observer and --with-logger: the Observer app, the loggers, the dependency and the README', async () => {
    const cwd = join(root, 'e');
    mkdirSync(cwd);
    const r = io(cwd);
    assert.equal(
      await run(
        ['X', '--with-actor', 'A', '--with-observer', '--with-logger', 'colored', '--with-logger', 'rotate'],
        r,
      ),
      0,
    );
    assert.equal(r.stderr, '', 'no notices');
    const dir = join(cwd, 'x');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['@ergo-ts/observer', 'ergo-ts']);
    assert.equal(pkg.dependencies['@ergo-ts/observer'], pkg.dependencies['ergo-ts'], 'the same release line');
    const node = readFileSync(join(dir, 'src', 'node.ts'), 'utf8');
    assert.match(node, /^import \{ createObserverApp \} from '@ergo-ts\/observer';$/m);
    assert.match(node, /^import \{ createColoredLogger, createRotateLogger \} from 'ergo-ts\/logger';$/m);
    assert.match(node, /createObserverApp\(\{ host: 'localhost', port: config\.observerPort \}\)/);
    assert.match(node, /applications: \[observer\]/);
    assert.match(node, /defaultLogger: \{ disable: true \}/);
    assert.match(node, /name: 'colored', logger: createColoredLogger\(/);
    assert.match(node, /name: 'rotate',[\s\S]*new URL\('\.\.\/\.\.\/logs\/', import\.meta\.url\)[\s\S]*prefix: 'x'/);
    assert.doesNotMatch(node, /not generated|not published/i);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    assert.match(readme, /## Logs, Observer and entities\n/);
    assert.match(readme, /http:\/\/localhost:9911/);
    assert.match(readme, /`logs\/x\.log`/);
    assert.doesNotMatch(readme, /not generated|not published/i);
    assert.equal(readFileSync(join(dir, '.gitignore'), 'utf8'), 'node_modules/\ndist/\nlogs/\n');
    // nvm / fnm read the Node version the project runs on.
    assert.equal(readFileSync(join(dir, '.nvmrc'), 'utf8'), '24\n');
  });

  test('without extras: no Observer; the console logger prints as the demo (ISO times, names, colours on a TTY)', async () => {
    const cwd = join(root, 'f');
    mkdirSync(cwd);
    assert.equal(await run(['Y', '--with-actor', 'A'], io(cwd)), 0);
    const node = readFileSync(join(cwd, 'y', 'src', 'node.ts'), 'utf8');
    assert.doesNotMatch(node, /observer|entities/i);
    assert.match(node, /import \{ createColoredLogger \} from 'ergo-ts\/logger';/);
    assert.match(node, /defaultLogger: \{ disable: true \}/);
    assert.match(
      node,
      /name: 'console', logger: createColoredLogger\(\{ timeFormat: 'iso', includeName: true, disableBanner: true \}\)/,
    );
    const pkg = JSON.parse(readFileSync(join(cwd, 'y', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.deepEqual(Object.keys(pkg.dependencies), ['ergo-ts']);
  });
});

describe('--with-entity: durable entity kinds (@ergo-ts/entities)', () => {
  test('a kind, its test, the store and runtime in the node, the package dependency', async () => {
    const cwd = join(root, 'entity');
    mkdirSync(cwd);
    assert.equal(
      await run(['Shop', '--with-actor', 'A', '--with-entity', 'Cart', '--with-entity', 'Order'], io(cwd)),
      0,
    );
    const dir = join(cwd, 'shop');
    const cart = readFileSync(join(dir, 'src', 'entities', 'cart.ts'), 'utf8');
    assert.match(cart, /class CartEntity extends Entity<typeof CartProtocol, CartState>/);
    assert.match(cart, /export const Cart = defineEntity\('cart', \{/);
    assert.match(
      readFileSync(join(dir, 'test', 'order.test.ts'), 'utf8'),
      /SqliteStore\.open\(join\(dir, 'entities\.db'\)\)/,
    );
    const node = readFileSync(join(dir, 'src', 'node.ts'), 'utf8');
    assert.match(node, /import \{ startEntities \} from '@ergo-ts\/entities';/);
    assert.match(node, /const store = await openStore\('entities\.db'\)/);
    assert.match(node, /await startEntities\(node, \{ store, kinds: \[Cart, Order\] \}\)/);
    // src/store.ts: SQLite, unless ERGO_ENTITY_DB is a PostgreSQL connection string.
    const store = readFileSync(join(dir, 'src', 'store.ts'), 'utf8');
    assert.match(store, /import \{ PostgresStore, SqliteStore, type EntityStore \} from '@ergo-ts\/entities';/);
    assert.match(
      store,
      /return \/\^postgres\(\?:ql\)\?:\\\/\\\/\/i\.test\(db\) \? PostgresStore\.open\(db\) : SqliteStore\.open\(db\);/,
    );
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['@ergo-ts/entities', 'ergo-ts']);
    assert.match(readFileSync(join(dir, '.gitignore'), 'utf8'), /^entities\.db\*$/m);
    assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /`Cart` \(`src\/entities\/cart\.ts`\)/);
  });

  test('--entity-store postgres: PostgresStore at ERGO_ENTITY_DB', async () => {
    const cwd = join(root, 'entity-pg');
    mkdirSync(cwd);
    assert.equal(await run(['Pg', '--with-entity', 'Cart', '--entity-store', 'postgres'], io(cwd)), 0);
    const node = readFileSync(join(cwd, 'pg', 'src', 'node.ts'), 'utf8');
    assert.match(node, /const store = await openStore\(\)/);
    const store = readFileSync(join(cwd, 'pg', 'src', 'store.ts'), 'utf8');
    assert.match(store, /return PostgresStore\.open\(db\);/);
    assert.doesNotMatch(store, /SqliteStore/);
    assert.match(readFileSync(join(cwd, 'pg', 'test', 'cart.test.ts'), 'utf8'), /PostgresStore\.open\(db\)/);
  });

  test('bad entity options are refused with a code, nothing written', async () => {
    const cwd = join(root, 'entity-bad');
    mkdirSync(cwd);
    for (const [args, message] of [
      [
        ['X', '--with-entity', 'Cart', '--entity-store', 'mongo'],
        /--entity-store mongo: unknown store \(sqlite, postgres\)/,
      ],
      [['X', '--with-actor', 'A', '--entity-store', 'postgres'], /add an entity kind with --with-entity/],
      [['X', '--with-actor', 'Cart', '--with-entity', 'cart'], /--with-entity cart: duplicate name/],
      [['X', '--with-entity', '9lives'], /not a valid TypeScript identifier/],
    ] as const) {
      const r = io(cwd);
      assert.equal(await run(args, r), 1, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal(readdirSync(cwd).length, 0);
  });
});

describe('--from, in-process: where the packages come from', () => {
  /** A folder of (empty) files named as `npm pack` names the tarballs. */
  function tarballs(names: string[]): string {
    const dir = mkdtempSync(join(root, 'tgz-'));
    for (const n of names) writeFileSync(join(dir, n), '');
    return dir;
  }

  test('a folder of tarballs: the newest of each package, by its full name, relative to the project', () => {
    const dir = tarballs([
      'ergo-ts-0.1.0.tgz',
      'ergo-ts-0.10.0.tgz',
      'ergo-ts-0.9.1.tgz',
      'ergo-ts-observer-0.11.0.tgz',
      'ergo-ts-websocket-0.1.0.tgz',
    ]);
    const source = resolveFrom(dir, '/', ['ergo-ts', '@ergo-ts/observer'], join(dir, 'out', 'shop'));
    assert.equal(source.kind, 'tarballs');
    assert.deepEqual(source.specs, {
      'ergo-ts': 'file:../../ergo-ts-0.10.0.tgz',
      '@ergo-ts/observer': 'file:../../ergo-ts-observer-0.11.0.tgz',
    });
  });

  test('the generated package.json takes the packages from there; --from is not in the README command', async () => {
    const cwd = join(root, 'g');
    mkdirSync(cwd);
    const dir = tarballs(['ergo-ts-0.1.0.tgz', 'ergo-ts-observer-0.1.0.tgz']);
    const r = io(cwd);
    assert.equal(await run(['Shop', '--with-actor', 'Cart', '--with-observer', '--from', dir], r), 0, r.stderr);
    assert.match(r.stdout, /ergo-ts comes from the tarballs in /);
    const pkg = JSON.parse(readFileSync(join(cwd, 'shop', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.deepEqual(pkg.dependencies, {
      '@ergo-ts/observer': `file:../../${dir.split('/').pop()!}/ergo-ts-observer-0.1.0.tgz`,
      'ergo-ts': `file:../../${dir.split('/').pop()!}/ergo-ts-0.1.0.tgz`,
    });
    const readme = readFileSync(join(cwd, 'shop', 'README.md'), 'utf8');
    assert.match(readme, /Made with `--from`/);
    assert.match(readme, /^npm create ergo-ts@latest Shop -- --with-actor Cart --with-observer$/m);
  });

  test('a path that is neither a clone nor a folder of tarballs, a missing tarball, an unbuilt clone: ERR_CREATE_FROM, nothing written', async () => {
    const code = (f: () => unknown): string => {
      try {
        f();
      } catch (err) {
        return (err as { code: string }).code;
      }
      return 'no error';
    };
    const empty = mkdtempSync(join(root, 'empty-'));
    assert.equal(
      code(() => resolveFrom(empty, '/', ['ergo-ts'], '/x')),
      CreateErrorCode.From,
    );
    assert.equal(
      code(() => resolveFrom(join(empty, 'nope'), '/', ['ergo-ts'], '/x')),
      CreateErrorCode.From,
    );
    const onlyObserver = tarballs(['ergo-ts-observer-0.1.0.tgz']);
    assert.equal(
      code(() => resolveFrom(onlyObserver, '/', ['ergo-ts'], '/x')),
      CreateErrorCode.From,
    );
    // A clone whose packages are not built (no npm ci yet).
    const clone = mkdtempSync(join(root, 'clone-'));
    mkdirSync(join(clone, 'packages', 'ergo'), { recursive: true });
    writeFileSync(
      join(clone, 'packages', 'ergo', 'package.json'),
      JSON.stringify({ name: 'ergo-ts', exports: { '.': { default: './dist/src/index.js' } } }),
    );
    assert.equal(
      code(() => resolveFrom(clone, '/', ['ergo-ts'], '/x')),
      CreateErrorCode.From,
    );
    const cwd = join(root, 'h');
    mkdirSync(cwd);
    for (const from of [empty, onlyObserver, clone]) {
      const r = io(cwd);
      assert.equal(await run(['Shop', '--with-actor', 'Cart', '--from', from], r), 1);
      assert.match(r.stderr, /^error: --from /);
    }
    const r = io(cwd);
    assert.equal(await run(['Shop', '--with-actor', 'Cart', '--from', clone], r), 1);
    assert.match(r.stderr, /not built .*npm ci/);
    assert.deepEqual(readdirSync(cwd), [], 'nothing written');
  });
});

describe('--with-workflow: durable workflows and a three-node cluster (@ergo-ts/entities)', () => {
  test('the workflow, its test, its kind in the node, src/cluster.ts and npm run cluster', async () => {
    const cwd = join(root, 'workflow');
    mkdirSync(cwd);
    assert.equal(await run(['Shop', '--with-actor', 'A', '--with-workflow', 'Order'], io(cwd)), 0);
    const dir = join(cwd, 'shop');
    const order = readFileSync(join(dir, 'src', 'workflows', 'order.ts'), 'utf8');
    assert.match(order, /export const Order = defineWorkflow\(\n {2}'order',/);
    // Two steps, a sleep, a signal.
    assert.equal(order.match(/await ctx\.step\(/g)?.length, 2);
    assert.match(order, /await ctx\.sleep\(input\.coolOffMs\)/);
    assert.match(order, /await ctx\.signal\('approve'\)/);
    // Its test runs on the entities test kit, whose clock skips the sleep.
    const test = readFileSync(join(dir, 'test', 'order.test.ts'), 'utf8');
    assert.match(test, /await using kit = await startTestEntities\(\{ kinds: \[Order\]/);
    assert.match(test, /await wf\.advanceUntilDone\(\)/);
    const node = readFileSync(join(dir, 'src', 'node.ts'), 'utf8');
    assert.match(node, /import \{ Order \} from '\.\/workflows\/order\.js';/);
    assert.match(node, /await startEntities\(node, \{ store, kinds: \[Order\] \}\)/);
    const cluster = readFileSync(join(dir, 'src', 'cluster.ts'), 'utf8');
    assert.match(cluster, /const store = await openStore\('cluster\.db'\);/);
    assert.match(cluster, /startEntities\(node, \{ store, members: names, kinds: \[Order\] \}\)/);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['@ergo-ts/entities', 'ergo-ts']);
    assert.equal(pkg.scripts['cluster'], 'tsc -b && node --import ergo-ts/register dist/src/cluster.js');
    assert.match(readFileSync(join(dir, '.gitignore'), 'utf8'), /^cluster\.db\*$/m);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    assert.match(readme, /`npm run cluster`/);
    assert.match(readme, /curl localhost:9152\/order\/o1/);
  });

  test('--entity-store postgres: the cluster and the node open PostgreSQL at ERGO_ENTITY_DB', async () => {
    const cwd = join(root, 'workflow-pg');
    mkdirSync(cwd);
    assert.equal(await run(['PgShop', '--with-workflow', 'Order', '--entity-store', 'postgres'], io(cwd)), 0);
    const dir = join(cwd, 'pgshop');
    const cluster = readFileSync(join(dir, 'src', 'cluster.ts'), 'utf8');
    assert.match(cluster, /const store = await openStore\(\);/);
    assert.doesNotMatch(cluster, /SqliteStore|cluster\.db/);
    assert.match(readFileSync(join(dir, 'src', 'node.ts'), 'utf8'), /const store = await openStore\(\)/);
    assert.match(readFileSync(join(dir, 'src', 'store.ts'), 'utf8'), /return PostgresStore\.open\(db\);/);
    assert.doesNotMatch(readFileSync(join(dir, '.gitignore'), 'utf8'), /\.db/);
    assert.match(
      readFileSync(join(dir, 'README.md'), 'utf8'),
      /ERGO_ENTITY_DB=postgres:\/\/user@host:5432\/db npm run cluster/,
    );
  });

  test('bad workflow names are refused with a code, nothing written', async () => {
    const cwd = join(root, 'workflow-bad');
    mkdirSync(cwd);
    for (const [args, message] of [
      [['X', '--with-entity', 'Order', '--with-workflow', 'order'], /--with-workflow order: duplicate name/],
      [['X', '--with-workflow', 'Flow', '--with-workflow', 'flow'], /--with-workflow flow: duplicate name/],
      [['X', '--with-actor', 'Flow', '--with-workflow', 'Flow'], /--with-workflow Flow: duplicate name/],
      [['X', '--with-workflow', '9lives'], /not a valid TypeScript identifier/],
      [['X', '--with-workflow'], /--with-workflow needs a value/],
    ] as const) {
      const r = io(cwd);
      assert.equal(await run(args, r), 1, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal(readdirSync(cwd).length, 0);
  });
});
