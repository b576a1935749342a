#!/usr/bin/env node
// Checks that a package's imports run one way (docs/contributing.md, "Package layout"): no circle
// between its source files, and no import from a room (a folder of `src/`) on a lower floor to one
// on a higher floor, or between two rooms of the same floor. The floors of each package are listed
// below, lowest first; a room is a folder of `src/` or of one of its folders (`workflow/body`: a
// file belongs to the longest room its path starts with), or a file directly in `src/` named by
// itself (`entities.ts`); the other files directly in `src/` (index.ts) are the room '.'. Imports are read as
// text (`from '...'`, `import('...')`), relative ones only. Prints what breaks the rule and exits 1,
// or prints the floors and exits 0. Usage: node scripts/check-layers.mjs [package folder...]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Package folder → its floors, lowest first; each floor lists its rooms. */
const LAYOUTS = {
  'packages/entities': [
    ['contract'],
    ['store', 'kinds', 'inspect'],
    ['runtime'],
    ['workflow/model'],
    ['workflow/scheduling'],
    ['workflow/body', 'workflow/client'],
    ['workflow/instance'],
    ['workflow/operator'],
    ['entities.ts'],
    ['projection'],
    ['testing', '.'],
  ],
};

/** Every .ts file under `dir`. */
function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The relative imports of `file`, as absolute .ts paths. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

/** The circles of the graph (Tarjan's strongly connected components of more than one file, or a file importing itself). */
function circles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

let failed = false;
const wanted = process.argv.slice(2).map((p) => relative(root, resolve(p)));
for (const [pkg, floors] of Object.entries(LAYOUTS)) {
  if (wanted.length > 0 && !wanted.includes(pkg)) continue;
  const src = join(root, pkg, 'src');
  const floorOf = new Map(floors.flatMap((rooms, i) => rooms.map((room) => [room, i])));
  const rooms = [...floorOf.keys()].sort((a, b) => b.length - a.length);
  const roomOf = (file) => {
    const rel = relative(src, file).split(sep).join('/');
    if (!rel.includes('/')) return floorOf.has(rel) ? rel : '.';
    return rooms.find((room) => rel.startsWith(room + '/')) ?? rel.split('/')[0];
  };
  const graph = new Map(sources(src).map((f) => [f, importsOf(f)]));
  const problems = [];
  for (const [file, targets] of graph) {
    const from = roomOf(file);
    if (!floorOf.has(from)) problems.push(`${relative(root, file)}: room '${from}' is on no floor of ${pkg}`);
    for (const target of targets) {
      const to = roomOf(target);
      if (!target.startsWith(src + sep) || to === from || !floorOf.has(to) || !floorOf.has(from)) continue;
      if (floorOf.get(to) >= floorOf.get(from))
        problems.push(
          `${relative(root, file)} imports ${relative(root, target)}: room '${from}' may not import room '${to}' (${floorOf.get(to) > floorOf.get(from) ? 'a higher floor' : 'the same floor'})`,
        );
    }
  }
  for (const scc of circles(graph))
    problems.push(`circle of ${scc.length} files: ${scc.map((f) => relative(root, f)).join(', ')}`);
  if (problems.length > 0) {
    failed = true;
    console.log(`${pkg}: ${problems.length} import(s) against the layout`);
    for (const p of problems) console.log(`  ${p}`);
  } else
    console.log(
      `${pkg}: no circle, no import upward (${graph.size} files; floors, lowest first: ${floors.map((r) => r.join(' ')).join(' | ')})`,
    );
}
if (failed) process.exit(1);
