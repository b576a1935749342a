// The bundle test pass's preload (`node scripts/run-tests.mjs --bundle`): the core's tests import
// its entry points by relative path (`../src/index.js`, compiled to dist/src), the build users get
// is the bundle (dist/bundle, scripts/bundle-core.mjs). Loaded into every Node process of the pass
// through NODE_OPTIONS (forked nodes and worker threads too), this resolve hook sends each import
// of an entry point of dist/src to its file in dist/bundle, so the same tests run on the bundle.
// Any other module of dist/src loaded in such a process is an error: it would be a second copy
// of the framework beside the bundle's (two PID classes, two EDF registries), and the test would
// no longer be testing the bundle. The files of the pass (scripts/test-plan.mjs, `bundle`)
// import entry points only.

import { registerHooks } from 'node:module';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleEntries } from './bundle-core-entries.mjs';

const pkgDir = resolvePath(dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'ergo');
const srcDir = join(pkgDir, 'dist', 'src') + '/';
const redirect = new Map(
  Object.entries(bundleEntries(pkgDir)).map(([name, file]) => [
    pathToFileURL(file).href,
    pathToFileURL(join(pkgDir, 'dist', 'bundle', `${name}.js`)).href,
  ]),
);

if (typeof registerHooks !== 'function') {
  console.error('bundle-preload: module.registerHooks is missing (Node 22.15 or later runs the bundle pass)');
  process.exit(1);
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    const r = nextResolve(specifier, context);
    if (!r.url.startsWith('file:')) return r;
    const to = redirect.get(r.url);
    if (to !== undefined) return { ...r, url: to };
    const path = fileURLToPath(r.url);
    if (path.startsWith(srcDir))
      throw new Error(
        `bundle test pass: ${relative(pkgDir, path)} is not an entry point (imported from ${context.parentURL ?? '?'}); ` +
          'a file of the pass may import only the entry points of dist/src',
      );
    return r;
  },
});
