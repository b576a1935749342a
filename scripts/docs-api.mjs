#!/usr/bin/env node
// Builds the API reference with TypeDoc over what consumers import: every subpath in the
// `exports` map of every non-private package under packages/ (so a package added later is
// picked up without edits), read from the built declarations (dist/**/*.d.ts) so the reference
// is exactly the published surface. Warnings are errors: an undocumented export or a broken
// {@link} fails the run. Run after `npm run build`. Usage: node scripts/docs-api.mjs [--check] [out-dir]
// (default docs/api, git-ignored).
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, ReflectionKind } from 'typedoc';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? join(root, 'docs', 'api'));

/** Every entry point a consumer can import: `{ name: 'ergo-ts/act', file: <abs .d.ts> }`. */
function entryPoints() {
  const dir = join(root, 'packages');
  const result = [];
  for (const name of readdirSync(dir).sort()) {
    const pkgDir = join(dir, name);
    const manifestPath = join(pkgDir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.private === true) continue;
    for (const [subpath, target] of Object.entries(manifest.exports ?? { '.': manifest.types })) {
      const types = typeof target === 'string' ? target : target?.types;
      if (typeof types !== 'string' || !types.endsWith('.d.ts')) continue; // ./package.json
      const file = join(pkgDir, types);
      if (!existsSync(file)) throw new Error(`${manifest.name}: ${types} is missing: run npm run build first`);
      result.push({
        pkg: manifest.name,
        name: subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`,
        file,
      });
    }
  }
  return result;
}

const entries = entryPoints();
const byFile = new Map(entries.map((e) => [e.file, e.name]));

const app = await Application.bootstrapWithPlugins({
  name: 'ergo-ts API reference',
  entryPoints: entries.map((e) => e.file),
  entryPointStrategy: 'resolve',
  tsconfig: join(root, 'scripts', 'tsconfig.docs.json'),
  out,
  readme: 'none',
  excludePrivate: true,
  excludeProtected: false,
  excludeInternal: true,
  excludeExternals: true,
  externalPattern: ['**/node_modules/@types/**', '**/node_modules/typescript/**'],
  disableSources: true,
  treatWarningsAsErrors: true,
  // TypeDoc's own notDocumented check covers every member; exports are checked below instead
  // (members are counted, and listed with --members).
  validation: { notExported: true, invalidLink: true, invalidPath: true, notDocumented: false },
  logLevel: 'Warn',
});

// Name each module after its import specifier rather than its path under dist/.
app.converter.on('createDeclaration', (context, reflection) => {
  if (!reflection.kindOf(ReflectionKind.Module)) return;
  const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile().fileName;
  const named = file && byFile.get(resolve(file));
  if (named) reflection.name = named;
});

/** A reflection carries documentation on itself or on one of its signatures. */
function documented(r) {
  if (r.hasComment()) return true;
  const sigs = [
    ...(r.signatures ?? []),
    ...(r.getSignature ? [r.getSignature] : []),
    ...(r.setSignature ? [r.setSignature] : []),
  ];
  if (sigs.some((s) => s.hasComment())) return true;
  const decl = r.type?.type === 'reflection' ? r.type.declaration : undefined;
  return decl ? (decl.signatures ?? []).some((s) => s.hasComment()) : false;
}

const EXPORT_KINDS =
  ReflectionKind.Class |
  ReflectionKind.Interface |
  ReflectionKind.TypeAlias |
  ReflectionKind.Function |
  ReflectionKind.Variable |
  ReflectionKind.Enum |
  ReflectionKind.Namespace;
const MEMBER_KINDS =
  ReflectionKind.Method | ReflectionKind.Property | ReflectionKind.Accessor | ReflectionKind.EnumMember;

/** Every export of every entry point is documented (an error each); undocumented members are counted. */
function checkDocumented(project) {
  const members = new Set();
  for (const mod of project.children ?? []) {
    for (const child of mod.children ?? []) {
      if (!child.kindOf(EXPORT_KINDS)) continue;
      if (!documented(child)) app.logger.warn(`${mod.name}: export ${child.name} has no documentation`);
      for (const member of child.children ?? []) {
        // Inherited, overriding and implementing members show the documentation of what they refine.
        if (!member.kindOf(MEMBER_KINDS) || member.flags.isPrivate || member.inheritedFrom) continue;
        if (member.overwrites || member.implementationOf) continue;
        if (!documented(member)) members.add(`${child.name}.${member.name}`);
      }
    }
  }
  if (members.size === 0) return;
  console.log(
    `docs: ${members.size} class/interface members have no documentation of their own (listed with --members)`,
  );
  if (process.argv.includes('--members')) for (const m of [...members].sort()) console.log(`  ${m}`);
}

const project = await app.convert();
if (!project) {
  console.error('docs: TypeDoc could not convert the entry points');
  process.exit(1);
}
app.validate(project);
checkDocumented(project);
if (app.logger.hasErrors() || app.logger.hasWarnings()) {
  console.error(`docs: ${app.logger.errorCount} error(s), ${app.logger.warningCount} warning(s) (warnings are errors)`);
  process.exit(1);
}
// `npm run check` validates only (--check): the pages are not used there, and rendering them is
// about a third of the run's CPU (measured: 7.3 against 11.6 CPU-s of user time).
if (process.argv.includes('--check')) {
  console.log(`docs: API reference of ${entries.length} entry points checked (not written: --check)`);
  process.exit(0);
}
await app.generateDocs(project, out);
if (app.logger.hasErrors() || app.logger.hasWarnings()) process.exit(1);
console.log(`docs: API reference of ${entries.length} entry points in ${relative(root, out)}/index.html`);
