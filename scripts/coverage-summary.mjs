#!/usr/bin/env node
// Prints the line coverage of each package and the modules under the bar, from c8's
// coverage/coverage-summary.json (written by `npm run test:coverage`). Informational: it never
// fails the run. Usage: node scripts/coverage-summary.mjs [bar-percent] (default 70).
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve, dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bar = Number(process.argv[2] ?? 70);
const file = join(root, 'coverage', 'coverage-summary.json');
if (!existsSync(file)) {
  console.log(`coverage: no ${relative(root, file)} (run npm run test:coverage)`);
  process.exit(0);
}
const summary = JSON.parse(readFileSync(file, 'utf8'));
const packages = new Map(); // package dir -> { total, covered, low: [] }
for (const [path, data] of Object.entries(summary)) {
  if (path === 'total') continue;
  const rel = relative(root, path).split(sep).join('/');
  const m = /^packages\/([^/]+)\/src\/(.+)$/.exec(rel);
  if (!m) continue;
  const pkg = packages.get(m[1]) ?? { total: 0, covered: 0, low: [] };
  pkg.total += data.lines.total;
  pkg.covered += data.lines.covered;
  if (data.lines.total > 0 && data.lines.pct < bar)
    pkg.low.push({ module: m[2], pct: data.lines.pct, total: data.lines.total });
  packages.set(m[1], pkg);
}
const pct = (c, t) => (t === 0 ? 100 : (100 * c) / t).toFixed(1);
console.log('coverage: lines per package (tests of every workspace, child processes included)');
for (const [name, p] of [...packages].sort()) {
  console.log(
    `  packages/${name.padEnd(10)} ${pct(p.covered, p.total).padStart(5)} %  (${p.covered} of ${p.total} lines)`,
  );
}
for (const [name, p] of [...packages].sort()) {
  if (p.low.length === 0) continue;
  console.log(`coverage: packages/${name} modules under ${bar} % of lines:`);
  for (const l of p.low.sort((a, b) => a.pct - b.pct))
    console.log(`  ${l.pct.toFixed(1).padStart(5)} %  ${l.module} (${l.total} lines)`);
}
