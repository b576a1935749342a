// What `npm test` runs (scripts/run-tests.mjs): each workspace with tests, where its compiled test
// files are, the modules preloaded into each of them (`node --import`), and a script to run once
// before them. Paths are relative to the workspace. A test file that must run alone (it loads the
// machine on purpose, or measures something load would spoil) says so itself in a comment near
// its top: `// test-runner: exclusive (why)`.

/**
 * @typedef {object} Workspace
 * @property {string} dir the workspace folder, relative to the repository root
 * @property {string} files a glob of its compiled test files (one `*` in the last segment)
 * @property {string[]} [imports] modules loaded with `--import` into each test file's process
 * @property {string} [before] a Node script run once before the workspace's files
 */

/** @type {Workspace[]} */
export const workspaces = [
  { dir: 'packages/test-support', files: 'dist/test/*.test.js' },
  {
    dir: 'packages/ergo',
    files: 'dist/test/*.test.js',
    imports: ['./dist/test/warnings_preload.js'],
    before: 'dist/test/peer_note.js',
  },
  { dir: 'packages/erlang', files: 'dist/test/*.test.js', before: 'dist/test/peer_note.js' },
  { dir: 'packages/websocket', files: 'dist/test/*.test.js' },
  { dir: 'packages/tabs', files: 'dist/test/*.test.js', imports: ['../ergo/dist/test/warnings_preload.js'] },
  { dir: 'packages/create', files: 'dist/test/*.test.js' },
  { dir: 'packages/metrics', files: 'dist/test/*.test.js', imports: ['../ergo/dist/test/warnings_preload.js'] },
  { dir: 'packages/etcd', files: 'dist/test/*.test.js', imports: ['../ergo/dist/test/warnings_preload.js'] },
  { dir: 'packages/saturn', files: 'dist/test/*.test.js', imports: ['../ergo/dist/test/warnings_preload.js'] },
  { dir: 'packages/entities', files: 'dist/test/*.test.js', imports: ['./dist/test/warnings_preload.js'] },
  { dir: 'packages/observer', files: 'dist/test/*.test.js', imports: ['../ergo/dist/test/warnings_preload.js'] },
  { dir: 'packages/mcp', files: 'dist/test/*.test.js', imports: ['../ergo/dist/test/warnings_preload.js'] },
  { dir: 'packages/temporal', files: 'dist/test/*.test.js', imports: ['../ergo/dist/test/warnings_preload.js'] },
  { dir: 'packages/eslint-plugin', files: 'dist/test/*.test.js' },
  { dir: 'examples', files: 'dist/*.test.js' },
  { dir: 'bench', files: 'dist/test/*.test.js' },
];

/**
 * The smoke run (`--smoke`) on the other Node versions CI checks: the same build, a few files that
 * touch every layer (spawn, calls, supervision, the network between OS processes, the typed layer,
 * the test kit, the demos), so a version-specific break shows without the whole suite's time.
 */
export const smoke = [
  'packages/ergo/dist/test/node.basic.test.js',
  'packages/ergo/dist/test/process.call.test.js',
  'packages/ergo/dist/test/supervisor.ofo.test.js',
  'packages/ergo/dist/test/net.process.test.js',
  'packages/ergo/dist/test/typed.local.test.js',
  'packages/ergo/dist/test/testing.basic.test.js',
  'packages/ergo/dist/test/edf.vectors.test.js',
  'packages/erlang/dist/test/etf.codec.test.js',
  'examples/dist/demo_actors.test.js',
];

/**
 * The bundle pass: the core's test files that reach its code only through entry points
 * (`../src/index.js`, `../src/cluster/index.js` ...) run on the bundle users get
 * (packages/ergo/dist/bundle, scripts/bundle-core.mjs), with scripts/bundle-preload.mjs sending
 * those imports there; listed as `<file> [bundle]` (`--filter '[bundle]'` runs the pass alone).
 * Once, not also on dist/src: the bundle is esbuild's copy of dist/src's modules, so a fault of
 * the code fails the file on either, and a fault of the bundling fails it on the bundle only
 * (until 2026-11 they ran on both, ~40 CPU-s a run for nothing more). `--both-passes`, and
 * coverage (which measures dist/src), run them on dist/src as well. Not in the smoke run (its
 * files run on dist/src). Which files qualify is found from their imports
 * (scripts/bundle-core-entries.mjs); these are left out of the pass (they run on dist/src): long
 * fault runs of the network that the rest of the suite covers on dist/src, and whose code the bundle does not change
 * (crossing dials on the bundle are also every mesh of bench's cluster_scale test, whose nodes run
 * ergo-ts from the bundle); and the Chromium test of the browser bundle (dist/browser), which the
 * Node bundle is no part of.
 */
export const bundlePass = {
  dir: 'packages/ergo',
  skip: [
    'leader.jepsen.test.js',
    'leader.testhosts.test.js',
    'net.testhosts.test.js',
    'net.crossing.test.js',
    'browser.chromium.test.js',
  ],
};
