// `--from <path>`: where the generated project gets ergo-ts and its add-on packages when they are
// not (or not yet) taken from the registry. Two kinds of source:
//   - a clone of the ergo-ts repository, built (`npm ci` in it builds every package): the project
//     depends on the clone's package folders (`file:`), which npm links, so a rebuilt clone is
//     picked up without reinstalling;
//   - a folder of tarballs made by `npm run pack` (`ergo-ts-<version>.tgz`,
//     `ergo-ts-observer-<version>.tgz`, ...): the project depends on the tarballs (`file:`), which
//     npm installs as it would the published packages.
// Paths in the generated package.json are relative to the project, so the two can move together.

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

import { CreateError, CreateErrorCode } from './errors.js';

/** Where the packages come from: the clone's package folders, or the tarballs of a folder. */
export interface PackageSource {
  kind: 'checkout' | 'tarballs';
  /** The absolute path given to `--from`. */
  path: string;
  /** The dependency spec (`file:<path relative to the project>`) of each package asked for. */
  specs: Record<string, string>;
}

interface Manifest {
  name?: string;
  version?: string;
  exports?: Record<string, string | { default?: string }>;
}

function readManifest(file: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** `file:` and the path from the project to `target`, with forward slashes. */
function fileSpec(projectDir: string, target: string): string {
  const rel = relative(projectDir, target).split(sep).join('/');
  return `file:${rel.startsWith('.') ? rel : `./${rel}`}`;
}

/** x.y.z[-pre] as numbers (the pre-release sorts before its release), for picking the newest tarball. */
function versionKey(v: string): number[] {
  const m = /^(\d+)\.(\d+)\.(\d+)(-.+)?$/.exec(v)!;
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : 0];
}

function newer(a: string, b: string): boolean {
  const ka = versionKey(a);
  const kb = versionKey(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! > kb[i]!;
  return false;
}

/** The file `npm pack` names for a package: `@ergo-ts/observer` → `ergo-ts-observer-`. */
export function tarballPrefix(name: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-`;
}

/** The clone's packages: name → folder, from `packages/<dir>/package.json`. */
function checkoutPackages(root: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const manifest = readManifest(join(root, 'packages', dir, 'package.json'));
    if (manifest?.name !== undefined) found.set(manifest.name, join(root, 'packages', dir));
  }
  return found;
}

function fromCheckout(root: string, names: readonly string[], projectDir: string): PackageSource {
  const found = checkoutPackages(root);
  const specs: Record<string, string> = {};
  for (const name of names) {
    const dir = found.get(name);
    if (dir === undefined)
      throw new CreateError(CreateErrorCode.From, `--from ${root}: this clone has no package ${name} under packages/`);
    const entry = readManifest(join(dir, 'package.json'))?.exports?.['.'];
    const main = typeof entry === 'string' ? entry : entry?.default;
    if (main === undefined || !existsSync(join(dir, main)))
      throw new CreateError(
        CreateErrorCode.From,
        `--from ${root}: ${name} is not built (no ${join(dir, main ?? 'dist')}); run \`npm ci\` in the clone first (it builds every package)`,
      );
    specs[name] = fileSpec(projectDir, dir);
  }
  return { kind: 'checkout', path: root, specs };
}

function fromTarballs(dir: string, names: readonly string[], projectDir: string): PackageSource {
  const files = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  const specs: Record<string, string> = {};
  for (const name of names) {
    const prefix = tarballPrefix(name);
    let best: { file: string; version: string } | undefined;
    for (const f of files) {
      if (!f.startsWith(prefix)) continue;
      const version = f.slice(prefix.length, -'.tgz'.length);
      // `ergo-ts-observer-0.1.0.tgz` also starts with `ergo-ts-`: a version starts with a digit.
      if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version)) continue;
      if (best === undefined || newer(version, best.version)) best = { file: f, version };
    }
    if (best === undefined)
      throw new CreateError(
        CreateErrorCode.From,
        `--from ${dir}: no ${prefix}<version>.tgz for ${name} (\`npm run pack\` in a clone of ergo-ts makes them in .pack)`,
      );
    specs[name] = fileSpec(projectDir, join(dir, best.file));
  }
  return { kind: 'tarballs', path: dir, specs };
}

/**
 * The source `--from <from>` names (relative to `cwd`), and the dependency spec of each of `names`
 * for a project written to `projectDir`.
 * @throws CreateError ERR_CREATE_FROM: the path is neither a clone of ergo-ts (with
 *   packages/ergo/package.json) nor a folder holding tarballs, a package is missing from it, or
 *   the clone is not built.
 */
export function resolveFrom(from: string, cwd: string, names: readonly string[], projectDir: string): PackageSource {
  const path = resolve(cwd, from);
  if (!existsSync(path) || !statSync(path).isDirectory())
    throw new CreateError(CreateErrorCode.From, `--from ${from}: ${path} is not a folder`);
  if (readManifest(join(path, 'packages', 'ergo', 'package.json'))?.name === 'ergo-ts')
    return fromCheckout(path, names, projectDir);
  if (readdirSync(path).some((f) => f.endsWith('.tgz'))) return fromTarballs(path, names, projectDir);
  throw new CreateError(
    CreateErrorCode.From,
    `--from ${from}: ${path} is neither a clone of ergo-ts (packages/ergo/package.json) nor a folder of tarballs made by \`npm run pack\``,
  );
}
