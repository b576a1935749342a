// The entities nodes the tests fork, each bundled into one ES module for a test run
// (scripts/run-tests.mjs calls bundleFixtures before its first file and names the folder in
// ERGO_TEST_FIXTURE_BUNDLES; @ergo-ts/entities' test/fixture_ipc.ts `fixtureEntry` picks the
// bundle up). Importing @ergo-ts/entities from dist/src is 161 ES modules: a forked entity_node
// spent ~0.53 CPU-s before its node started, ~0.32 bundled (compile cache warm), and a test run
// forks some 300-400 of them. Only the fixtures' own modules, the test kinds they load, the package's
// dist/src and the few helpers of @ergo-ts/test-support they use are bundled (from what tsc has just
// built); every other package import (ergo-ts, pg) stays an import, so the core is still its one
// bundle. @ergo-ts/test-support's modules are taken as free of side effects: the fixtures use a
// handful of its helpers, and importing its index loaded every module of it (node:test among
// them): a start 0.274 -> 0.254 and 0.289 -> 0.240 CPU-s (12 and 15 each, interleaved, load 9-11).
// One copy of each class in the forked process: nothing there imports dist/src beside the bundle. Class and function
// names are kept (esbuild's keepNames): a class renamed for a clash between two modules (`Answer2`)
// still reports its own name in logs and errors. No source map: a stack trace names the bundle's
// lines, each module under a comment naming its dist/ file. Written beside the fixtures (bare
// imports resolve from there), under a name of its own, then renamed into place: runs side by side
// each write a whole file. Without the variable (a file run alone, a coverage run) the tests fork
// dist/test.
//
// Usage: node scripts/bundle-fixtures.mjs (prints the folder)

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const testDir = join(root, 'packages', 'entities', 'dist', 'test');

/** The forked entry points: the most started (8 sampled files forked entity_node 38 times, projection_node 6, faults_node 4). */
export const FIXTURES = ['entity_node', 'projection_node', 'faults_node'];

const supportDir = join(root, 'packages', 'test-support') + sep;

/**
 * Every bare import stays an import (as esbuild's `packages: 'external'`), except
 * @ergo-ts/test-support: its modules are bundled, marked free of side effects, so only those whose
 * exports a fixture uses are kept.
 */
const inlineTestSupport = {
  name: 'inline-test-support',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.inner === true || args.path.startsWith('node:')) return undefined;
      const bare = /^[^./]/.test(args.path);
      const support = args.path.startsWith('@ergo-ts/test-support');
      if (bare && !support) return { path: args.path, external: true };
      if (!support && !args.importer.startsWith(supportDir)) return undefined;
      const r = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { inner: true },
      });
      if (r.errors.length > 0) return { errors: r.errors };
      return r.external ? { path: r.path, external: true } : { path: r.path, sideEffects: false };
    });
  },
};

/** True while process `pid` lives (EPERM: it does, as another user's). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * Removes the temporary files of runs whose process is gone (killed between esbuild's write and
 * the rename: a timed-out CI step): a failure of a live run cleans up after itself.
 */
function sweepStale(outDir) {
  for (const f of readdirSync(outDir)) {
    const m = /\.(\d+)\.tmp$/.exec(f);
    if (m !== null && !alive(Number(m[1]))) rmSync(join(outDir, f), { force: true });
  }
}

/**
 * Bundles each fixture into `<entities>/dist/test/bundled/<name>.js` and
 * returns that folder; undefined when the entities tests are not built. `dir` and `names` name
 * other compiled fixtures (a test of this script). Rejects with the first build's error when one
 * fails, once every build has ended and no temporary file of this call is left.
 */
export async function bundleFixtures({ dir = testDir, names = FIXTURES } = {}) {
  if (!names.every((f) => existsSync(join(dir, `${f}.js`)))) return undefined;
  const outDir = join(dir, 'bundled');
  mkdirSync(outDir, { recursive: true });
  sweepStale(outDir);
  const tag = `.${process.pid}.tmp`;
  // Settled, not Promise.all: a failure thrown while another build still writes its temporary
  // file would leave that file behind (a CLI run exits on the rejection).
  const builds = await Promise.allSettled(
    names.map(async (name) => {
      const out = join(outDir, `${name}.js`);
      try {
        await build({
          entryPoints: [join(dir, `${name}.js`)],
          outfile: out + tag,
          bundle: true,
          format: 'esm',
          platform: 'node',
          target: 'node22',
          plugins: [inlineTestSupport],
          keepNames: true,
          logLevel: 'warning',
        });
        renameSync(out + tag, out);
      } finally {
        // What a failed build or rename wrote (gone already after the rename).
        rmSync(out + tag, { force: true });
      }
    }),
  );
  const failed = builds.find((b) => b.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log((await bundleFixtures()) ?? 'not built');
