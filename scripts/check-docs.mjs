#!/usr/bin/env node
// The consumer check: packs every package (scripts/pack.mjs), installs the tarballs into a fresh
// strict consumer project (nodenext, skipLibCheck false, no DOM lib), then
//   1. compiles and runs a smoke program that imports every entry point of every package, and
//   2. compiles every ```ts block of README.md, packages/*/README.md and docs/*.md, and runs the
//      complete programs among them (each must end by itself with exit code 0).
// The block conventions (info-string flags, the hidden setup comment) are in docs/contributing.md.
// Run after `npm run build`. Usage: node scripts/check-docs.mjs [--keep] [--no-run]
// [--packed <json>] [file.md ...]; --packed takes the tarballs pack.mjs made (its packed.json).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, relative, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const noRun = args.includes('--no-run');
const packedAt = args.indexOf('--packed');
const packed = packedAt >= 0 ? args[packedAt + 1] : undefined;
const onlyFiles = args
  .filter((a, i) => !a.startsWith('--') && (packedAt < 0 || i !== packedAt + 1))
  .map((f) => resolve(f));
/** A program that has not ended by itself after this long has failed (it never ends). */
const RUN_LIMIT_MS = 120_000;

// ---- the markdown blocks ------------------------------------------------------------------------

const FLAGS = new Set(['fragment', 'method', 'no-run', 'ignore']);

/** Every ```ts block of the checked markdown files, with its flags and hidden setup. */
function collectBlocks() {
  const files = [
    join(root, 'README.md'),
    ...readdirSync(join(root, 'packages'))
      .map((p) => join(root, 'packages', p, 'README.md'))
      .filter((f) => existsSync(f)),
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => join(root, 'docs', f)),
  ].filter((f) => onlyFiles.length === 0 || onlyFiles.includes(f));
  const blocks = [];
  const problems = [];
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^(\s*)```(ts|typescript)(?:\s+(.*))?$/.exec(lines[i]);
      if (!open) continue;
      const indent = open[1].length;
      const flags = (open[3] ?? '').trim().split(/\s+/).filter(Boolean);
      const where = `${relative(root, file)}:${i + 1}`;
      for (const f of flags)
        if (!FLAGS.has(f)) problems.push(`${where}: unknown flag '${f}' (known: ${[...FLAGS].join(', ')})`);
      let end = i + 1;
      while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) end++;
      const code = lines.slice(i + 1, end).map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)));
      // A hidden setup: an HTML comment `<!-- ts-setup ... -->` ending on the line before the fence.
      let setup = null;
      if (i > 0 && lines[i - 1].trim() === '-->') {
        let s = i - 2;
        while (s >= 0 && !lines[s].trim().startsWith('<!--')) s--;
        if (s >= 0 && lines[s].trim() === '<!-- ts-setup') setup = lines.slice(s + 1, i - 1);
      }
      blocks.push({ file, where, line: i + 1, flags: new Set(flags), code, setup });
      i = end;
    }
  }
  return { blocks, problems };
}

// ---- the consumer project -----------------------------------------------------------------------

function run(cmd, argv, cwd) {
  return execFileSync(cmd, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

const work = mkdtempSync(join(tmpdir(), 'ergo-ts-consumer-'));
const consumer = join(work, 'consumer');
mkdirSync(join(consumer, 'src', 'docs'), { recursive: true });
let failed = false;
try {
  if (packed === undefined) console.log(`check-docs: packing into ${work}`);
  const tarballs = JSON.parse(
    packed !== undefined
      ? readFileSync(packed, 'utf8')
      : run(process.execPath, [join(root, 'scripts', 'pack.mjs'), join(work, 'pack')], root),
  );
  checkTarballs(tarballs);
  const typesNode = JSON.parse(
    readFileSync(join(root, 'node_modules', '@types', 'node', 'package.json'), 'utf8'),
  ).version;
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'ergo-ts-consumer', private: true, type: 'module' }, null, 2) + '\n',
  );
  // What a strict consumer would use; no DOM lib, so a block using a DOM global without importing
  // its ergo-ts namesake (Event, Worker ...) fails instead of compiling against the wrong type.
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2023', 'ESNext.Disposable'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      skipLibCheck: false,
      types: ['node'],
      outDir: 'dist',
      rootDir: 'src',
      sourceMap: false,
    },
    include: ['src/**/*.ts'],
  };
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2) + '\n');
  console.log('check-docs: installing the tarballs into a strict consumer project');
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', ...Object.values(tarballs), `@types/node@${typesNode}`],
    consumer,
  );

  const entries = entryPoints(tarballs);
  writeFileSync(join(consumer, 'src', 'smoke.ts'), smokeProgram(entries));
  const exportsOf = exportedNames(entries);

  const { blocks, problems } = collectBlocks();
  const sources = new Map(); // generated file -> { block, offset }
  for (const block of blocks) {
    if (block.flags.has('ignore')) continue;
    // A block that opens with `// name.ts` is that file (other blocks of the page may import it).
    const named = /^\/\/ ([\w.-]+\.ts)\s*$/.exec(block.code[0] ?? '');
    const page = basename(block.file, '.md').replace(/\W/g, '_');
    const name = named ? join(page, named[1]) : `${page}_${block.line}.ts`;
    mkdirSync(dirname(join(consumer, 'src', 'docs', name)), { recursive: true });
    const { text, offset } = blockSource(block, exportsOf, problems);
    writeFileSync(join(consumer, 'src', 'docs', name), text);
    sources.set(join('src', 'docs', name), { block, offset });
  }
  for (const p of problems) console.error(`check-docs: ${p}`);
  failed ||= problems.length > 0;

  console.log(`check-docs: compiling the smoke program and ${sources.size} of ${blocks.length} blocks`);
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer, '--pretty', 'false'],
    {
      cwd: consumer,
      encoding: 'utf8',
    },
  );
  const badFiles = new Set();
  for (const line of `${tsc.stdout}${tsc.stderr}`.split('\n').filter(Boolean)) {
    const m = /^(src[\\/][^(]+)\((\d+),(\d+)\): (.*)$/.exec(line);
    const src = m && sources.get(m[1]);
    if (src) {
      badFiles.add(m[1]);
      const at = Number(m[2]) - src.offset;
      const where =
        at >= 1
          ? `${relative(root, src.block.file)}:${src.block.line + at}`
          : `${src.block.where} (setup line ${m[2]})`;
      console.error(`${where}: ${m[4]}`);
    } else {
      if (m) badFiles.add(m[1]);
      console.error(line);
    }
  }
  if (tsc.status !== 0) failed = true;
  const compiled = [...sources.keys()].filter((f) => !badFiles.has(f)).length;
  console.log(
    `check-docs: ${compiled} of ${sources.size} checked blocks compile (${blocks.length - sources.size} ignored)`,
  );

  if (!noRun && tsc.status === 0) {
    failed = !runProgram('smoke program', join(consumer, 'dist', 'smoke.js')) || failed;
    let ran = 0;
    let passed = 0;
    for (const [file, { block }] of sources) {
      if (block.flags.has('fragment') || block.flags.has('method') || block.flags.has('no-run')) continue;
      ran++;
      const js = join(consumer, 'dist', relative('src', file)).replace(/\.ts$/, '.js');
      if (runProgram(block.where, js)) passed++;
    }
    console.log(`check-docs: ${passed} of ${ran} programs ran to a clean end`);
    failed ||= passed !== ran;
  }
} finally {
  if (keep) console.log(`check-docs: the consumer project is kept in ${consumer}`);
  else rmSync(work, { recursive: true, force: true });
}
if (failed) {
  console.error('check-docs: FAILED (conventions: docs/contributing.md)');
  process.exit(1);
}
console.log('check-docs: ok');

// ---- helpers ------------------------------------------------------------------------------------

/** Each tarball ships its LICENSE, no source map pointing at a file it does not ship, and its declarations. */
function checkTarballs(tarballs) {
  for (const [name, tgz] of Object.entries(tarballs)) {
    const listed = new Set(
      run('tar', ['-tzf', tgz], root)
        .split('\n')
        .filter(Boolean)
        .map((f) => f.replace(/^package\//, '')),
    );
    const missing = [];
    if (!listed.has('LICENSE')) missing.push('LICENSE');
    const x = work && join(work, 'x', name.replace(/\W/g, '_'));
    mkdirSync(x, { recursive: true });
    run('tar', ['-xzf', tgz, '-C', x], root);
    for (const f of listed) {
      if (!f.endsWith('.map')) continue;
      const map = JSON.parse(readFileSync(join(x, 'package', f), 'utf8'));
      (map.sources ?? []).forEach((s, i) => {
        const target = join(dirname(f), map.sourceRoot ?? '', s).replace(/\\/g, '/');
        // A source from another package of the repository (a browser bundle holding the core:
        // @ergo-ts/tabs' tab.js) is fine when the map carries its text; the package's own must ship.
        const embedded = target.startsWith('../') && typeof map.sourcesContent?.[i] === 'string';
        if (!listed.has(target) && !embedded) missing.push(`${target} (the source of ${f})`);
      });
    }
    if (missing.length > 0) {
      console.error(
        `check-docs: ${name}'s tarball lacks ${[...new Set(missing)].slice(0, 5).join(', ')}${missing.length > 5 ? ' ...' : ''}`,
      );
      failed = true;
    }
  }
}

/** Every import specifier the packed packages offer, from their `exports` maps. */
function entryPoints(tarballs) {
  const result = [];
  for (const name of Object.keys(tarballs)) {
    const manifest = JSON.parse(readFileSync(join(consumer, 'node_modules', name, 'package.json'), 'utf8'));
    for (const [sub, target] of Object.entries(manifest.exports ?? { '.': manifest.types })) {
      const types = typeof target === 'string' ? target : target?.types;
      if (typeof types !== 'string' || !types.endsWith('.d.ts')) continue;
      result.push({
        specifier: sub === '.' ? name : `${name}/${sub.slice(2)}`,
        dts: join(consumer, 'node_modules', name, types),
      });
    }
  }
  // The core's root entry first: a name several entry points export is imported from there.
  return result.sort((a, b) => rank(a.specifier) - rank(b.specifier));
}
function rank(specifier) {
  if (specifier === 'ergo-ts') return 0;
  if (specifier.startsWith('ergo-ts/')) return 1;
  return 2;
}

/** name -> { specifier, typeOnly } for every export of every entry point (first entry wins). */
function exportedNames(entries) {
  const program = ts.createProgram(
    entries.map((e) => e.dts),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      noEmit: true,
    },
  );
  const checker = program.getTypeChecker();
  const names = new Map();
  for (const e of entries) {
    const sf = program.getSourceFile(e.dts);
    const mod = sf && checker.getSymbolAtLocation(sf);
    if (!mod) continue;
    for (const sym of checker.getExportsOfModule(mod)) {
      // A default export is imported under a name of the importer's choosing: `default` is a keyword.
      if (names.has(sym.name) || sym.name === 'default') continue;
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      names.set(sym.name, { specifier: e.specifier, typeOnly: (target.flags & ts.SymbolFlags.Value) === 0 });
    }
  }
  return names;
}

/** The TypeScript file of one block: its setup, then the block (fragments get automatic imports). */
function blockSource(block, exportsOf, problems) {
  const header = [`// ${block.where} (generated by scripts/check-docs.mjs)`];
  let before = block.setup ? [...block.setup] : [];
  let after = [];
  const cut = before.indexOf('{fragment}');
  if (cut >= 0) {
    after = before.slice(cut + 1);
    before = before.slice(0, cut);
  }
  // A method fragment is the body of an async method of an actor: `this` is the process.
  const method = block.flags.has('method');
  // Its imports move out of the method (blank lines keep the line numbers).
  const hoisted = method ? block.code.filter((l) => /^import\s/.test(l)) : [];
  const code = method
    ? [
        'class Fragment extends Actor {',
        '  async fragment(): Promise<void> {',
        ...block.code.map((l) => (/^import\s/.test(l) ? '' : l)),
        '  }',
        '}',
      ]
    : block.code;
  const fragment = block.flags.has('fragment') || method;
  {
    // The ergo-ts exports the block names but neither it nor its setup declares or imports. A
    // fragment gets an import of each; in a complete block each is an error, even where a global
    // of the same name (Node's Event) would let it compile.
    const text = [...hoisted, ...before, ...code, ...after].join('\n');
    const declared = new Set();
    for (const m of text.matchAll(/\b(?:class|interface|type|const|let|var|function|enum)\s+([A-Za-z_$][\w$]*)/g))
      declared.add(m[1]);
    for (const m of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}/g))
      for (const part of m[1].split(',')) {
        const local = part
          .trim()
          .split(/\s+as\s+/)
          .pop()
          ?.replace(/^type\s+/, '')
          .trim();
        if (local) declared.add(local);
      }
    const used = new Set(
      text
        .replace(/^\s*import\s.*$/gm, '') // imported names are declared, not used
        .replace(/\/\/.*$/gm, '')
        .replace(/'[^'\n]*'|"[^"\n]*"|`[^`]*`/g, '')
        // an object key (`heartbeat: 15_000`) names no export
        .match(/(?<![.\w$])[A-Za-z_$][\w$]*\b(?!\s*:(?!:))/g) ?? [],
    );
    const bySpecifier = new Map();
    for (const n of used) {
      const exp = exportsOf.get(n);
      if (!exp || declared.has(n)) continue;
      if (!bySpecifier.has(exp.specifier)) bySpecifier.set(exp.specifier, []);
      bySpecifier.get(exp.specifier).push(exp.typeOnly ? `type ${n}` : n);
    }
    if (fragment) {
      for (const [spec, list] of bySpecifier) header.push(`import { ${list.sort().join(', ')} } from '${spec}';`);
    } else {
      for (const [spec, list] of bySpecifier)
        for (const n of list)
          problems.push(`${block.where}: uses ${n.replace(/^type /, '')} without importing it from '${spec}'`);
    }
  }
  const lines = [...header, ...hoisted, ...before];
  const offset = lines.length + (method ? 2 : 0);
  lines.push(...code, ...after);
  // Every block is a module of its own, so two blocks never clash.
  if (!/^\s*(import|export)\s/m.test(lines.join('\n'))) lines.push('export {};');
  return { text: lines.join('\n') + '\n', offset };
}

/** A program that imports every entry point and runs a node: what a first consumer does. */
function smokeProgram(entries) {
  const imports = entries.map((e, i) => `import * as entry${i} from '${e.specifier}';`);
  const checks = entries.map(
    (e, i) => `if (Object.keys(entry${i}).length === 0) throw new Error('${e.specifier} exports nothing');`,
  );
  return `// Generated by scripts/check-docs.mjs: every entry point loads, and a node runs.
${imports.join('\n')}
import { startNode, Actor, type PID, type Ref } from 'ergo-ts';

${checks.join('\n')}

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}
const node = await startNode('consumer@localhost');
const pid = await node.spawn(Echo, {});
const reply = await node.call(pid, 'ping');
if (reply !== 'ping') throw new Error(\`unexpected reply \${String(reply)}\`);
await node.stop();
console.log('smoke: ${entries.length} entry points loaded, a node answered a call');
`;
}

/** Runs one compiled program; true when it ends by itself with exit code 0. */
function runProgram(label, js) {
  const r = spawnSync(process.execPath, [js], { cwd: consumer, encoding: 'utf8', timeout: RUN_LIMIT_MS });
  if (r.status === 0) return true;
  const why =
    r.error?.code === 'ETIMEDOUT'
      ? `did not end by itself within ${RUN_LIMIT_MS / 1000} s`
      : `exit code ${r.status ?? r.signal}`;
  console.error(`${label}: the program failed (${why})`);
  const out = `${r.stdout}${r.stderr}`.trim().split('\n').slice(-15).join('\n');
  if (out) console.error(out.replace(/^/gm, '    '));
  return false;
}
