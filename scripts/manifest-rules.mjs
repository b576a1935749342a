// The rules of a published manifest, shared by scripts/pack.mjs (which cleans each manifest and
// refuses to pack one that breaks a rule) and scripts/check-publish.mjs (which checks the
// manifests inside the tarballs). What a user installs must stand on its own: no monorepo paths,
// no install scripts, no private or pinned internal dependencies, and the metadata the registry
// shows (repository with its directory, license, engines, keywords, files, homepage, bugs).
import { readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Node versions the packages support: Node 20 is end-of-life and no longer tested. */
export const ENGINES_NODE = '>=22';

/** Fields of package.json that only the monorepo uses; the packed manifest drops them. */
const MONOREPO_ONLY = ['scripts', 'devDependencies'];

const DEP_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/** Every workspace of the root package.json: its folder, its path from the root and its manifest. */
export function workspacePackages(root) {
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return rootManifest.workspaces
    .map((w) => join(root, w))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({
      dir,
      rel: relative(root, dir).replace(/\\/g, '/'),
      manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')),
    }));
}

/** The manifest as it is published: a copy without the monorepo-only fields. */
export function cleanManifest(manifest) {
  const clean = structuredClone(manifest);
  for (const f of MONOREPO_ONLY) delete clean[f];
  return clean;
}

/** x.y.z (and a pre-release) as numbers, or undefined. */
function parseVersion(v) {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-[\w.]+)?$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** True when the caret or tilde range (`^0.1.0`, `~1.2.0`) admits `version`. */
export function rangeAdmits(range, version) {
  const m = /^([~^])(\d+\.\d+\.\d+(?:-[\w.]+)?)$/.exec(range.trim());
  const base = m && parseVersion(m[2]);
  const v = parseVersion(version);
  if (!base || !v || compare(v, base) < 0) return false;
  if (m[1] === '~') return v[0] === base[0] && v[1] === base[1];
  // ^: the left-most non-zero part stays.
  if (base[0] !== 0) return v[0] === base[0];
  if (base[1] !== 0) return v[0] === 0 && v[1] === base[1];
  return v[0] === 0 && v[1] === 0 && v[2] === base[2];
}

/** Every string in a JSON value, with its path (`repository.url`). */
function* strings(value, path) {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, `${path}[${i}]`);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* strings(v, path === '' ? k : `${path}.${k}`);
}

/**
 * What is wrong with a manifest about to be published (an empty list when nothing is).
 * `packages` are the workspaces (from {@link workspacePackages}): internal dependencies are
 * checked against them.
 */
export function manifestProblems(manifest, packages) {
  const problems = [];
  const self = packages.find((p) => p.manifest.name === manifest.name);
  if (manifest.private === true) problems.push('is private');
  for (const f of MONOREPO_ONLY) if (manifest[f] !== undefined) problems.push(`has "${f}" (monorepo only)`);
  for (const [path, s] of strings(manifest, ''))
    if (/(^|[\\/])\.\.([\\/]|$)/.test(s) || /^(file|link|workspace|portal):/.test(s))
      problems.push(`${path} points into the monorepo (${s})`);
  for (const field of DEP_FIELDS)
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      const internal = packages.find((p) => p.manifest.name === dep);
      if (internal === undefined) continue;
      if (internal.manifest.private === true) problems.push(`${field}.${dep}: a private package`);
      else if (!rangeAdmits(range, internal.manifest.version))
        problems.push(
          `${field}.${dep} is ${JSON.stringify(range)}: use a caret range that admits ${internal.manifest.version} (^${internal.manifest.version}), not a pin`,
        );
    }
  const need = (ok, what) => ok || problems.push(what);
  need(typeof manifest.description === 'string' && manifest.description !== '', 'no description');
  need(manifest.license === 'MIT', 'license is not MIT');
  need(Array.isArray(manifest.keywords) && manifest.keywords.length > 0, 'no keywords');
  need(Array.isArray(manifest.files) && manifest.files.length > 0, 'no files list');
  need(manifest.engines?.node === ENGINES_NODE, `engines.node is not "${ENGINES_NODE}"`);
  need(/^git\+https:\/\/.+\.git$/.test(manifest.repository?.url ?? ''), 'repository.url is not a git+https URL');
  need(
    self !== undefined && manifest.repository?.directory === self.rel,
    `repository.directory is not "${self?.rel ?? '?'}"`,
  );
  need(/^https:\/\//.test(manifest.homepage ?? ''), 'no homepage');
  need(/^https:\/\//.test(manifest.bugs?.url ?? ''), 'no bugs.url');
  need(manifest.type === 'module', 'type is not "module"');
  need(manifest.exports?.['.'] !== undefined, 'no exports["."]');
  if (manifest.name.startsWith('@'))
    need(manifest.publishConfig?.access === 'public', 'a scoped package without publishConfig.access "public"');
  for (const [bin, target] of Object.entries(manifest.bin ?? {}))
    need(!target.startsWith('./'), `bin.${bin} starts with "./" (npm rewrites it, with a warning)`);
  return problems;
}
