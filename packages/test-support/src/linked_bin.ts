// A workspace package's command runs from a clone. npm links a workspace's bin at `npm ci` only if
// the bin's file exists then, and `npm ci` installs before it builds: a bin pointing into dist/ was
// never linked. So each bin is a committed shim (`bin/<name>.js`) that imports dist; the packages'
// bin tests check that with this, then run the command through the link it returns.

import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Checks that the package in `packageDir` (a workspace folder, two levels below the checkout's
 * root) declares the bin `name` as the committed shim `bin/<name>.js` with a node shebang, packs
 * its bin folder, and that the checkout's node_modules/.bin links `name` to that shim. Returns the
 * link's path, to run the command by. Throws an AssertionError naming what is wrong.
 */
export function linkedBin(packageDir: string, name: string): string {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    bin?: Record<string, string>;
    files?: string[];
  };
  const target = manifest.bin?.[name];
  assert.equal(target, `bin/${name}.js`);
  assert.ok(manifest.files?.includes('bin'), 'the bin folder is packed');
  const shim = join(packageDir, target);
  assert.match(readFileSync(shim, 'utf8'), /^#!\/usr\/bin\/env node\n/);

  const link = join(packageDir, '..', '..', 'node_modules', '.bin', name);
  assert.ok(existsSync(link), `${link}: npm ci links the bin`);
  assert.equal(realpathSync(link), realpathSync(shim));
  return link;
}
