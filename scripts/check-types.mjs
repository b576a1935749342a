#!/usr/bin/env node
// `npm run check:types` (a step of `npm run check`): the type-level tests of every package, in ONE
// TypeScript program. Each `test-types/` folder is a strict consumer project importing the built
// packages (`ergo-ts`, `@ergo-ts/erlang`, `@ergo-ts/entities`...): its positive cases must compile
// and each of its `@ts-expect-error` lines must be an error (the compiler reports an unused one).
// A `test-types-errors/` folder holds deliberate errors whose text is the point (a readable name
// instead of "parameter of type 'never'"): a `// @expect-error: TEXT` line there says the next
// line must have an error whose message contains TEXT; an error on a line without one fails, and
// so does an expected error that is missing; a `// @never-error: TEXT` line says no error of the
// file may contain TEXT.
//
// Why one program: the projects share the packages' declarations and @types/node, which a compile
// per project would each parse and check again (it was a tsc process per test file). The projects
// must have the same compiler options (checked here), so one program checks each as its own would.
//
// Usage: node scripts/check-types.mjs (after `npm run build`: the projects import the built
// declarations). Exits 1 with every unexpected diagnostic.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ts = createRequire(import.meta.url)('typescript');

/** Every type-test project: packages/X/test-types and packages/X/test-types-errors. */
const projects = [];
for (const pkg of readdirSync(join(root, 'packages')).sort())
  for (const folder of ['test-types', 'test-types-errors']) {
    const config = join(root, 'packages', pkg, folder, 'tsconfig.json');
    if (existsSync(config)) projects.push({ config, expectsErrors: folder === 'test-types-errors' });
  }
if (projects.length === 0) fail('no packages/*/test-types*/tsconfig.json found');

const parsed = projects.map((p) => {
  const cmd = ts.getParsedCommandLineOfConfigFile(
    p.config,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: report },
  );
  if (cmd === undefined || cmd.errors.length > 0) fail(`${rel(p.config)}: ${format(cmd?.errors ?? [])}`);
  return { ...p, cmd };
});
// One program checks every project as its own would only if their options agree.
const optionsOf = (cmd) =>
  JSON.stringify({ ...cmd.options, configFilePath: undefined }, Object.keys(cmd.options).sort());
const first = parsed[0];
for (const p of parsed.slice(1))
  if (optionsOf(p.cmd) !== optionsOf(first.cmd))
    fail(
      `${rel(p.config)} has other compiler options than ${rel(first.config)}; one program checks them all, so make them the same:\n  ${optionsOf(p.cmd)}\n  ${optionsOf(first.cmd)}`,
    );

const expectingErrors = new Set(
  parsed.filter((p) => p.expectsErrors).flatMap((p) => p.cmd.fileNames.map((f) => resolve(f))),
);
const rootNames = parsed.flatMap((p) => p.cmd.fileNames);
const program = ts.createProgram({ rootNames, options: first.cmd.options });
const diagnostics = ts.getPreEmitDiagnostics(program);

const problems = [];
const byFile = new Map();
for (const d of diagnostics) {
  const file = d.file === undefined ? undefined : resolve(d.file.fileName);
  if (file === undefined || !expectingErrors.has(file)) {
    problems.push(format([d]));
    continue;
  }
  if (!byFile.has(file)) byFile.set(file, []);
  byFile.get(file).push(d);
}
for (const file of expectingErrors) {
  const source = program.getSourceFile(file);
  const lines = source.text.split('\n');
  /** line index (0-based) → the text its error must contain */
  const expected = new Map();
  /** texts no error of the file may contain */
  const never = [];
  lines.forEach((line, i) => {
    const m = /\/\/ @(expect|never)-error: (.+)$/.exec(line);
    if (m?.[1] === 'expect') expected.set(i + 1, m[2].trim());
    else if (m?.[1] === 'never') never.push(m[2].trim());
  });
  if (expected.size === 0)
    problems.push(`${rel(file)}: no \`// @expect-error: TEXT\` line (an errors fixture with nothing to check)`);
  const seen = new Set();
  for (const d of byFile.get(file) ?? []) {
    const line = source.getLineAndCharacterOfPosition(d.start ?? 0).line;
    const want = expected.get(line);
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    for (const bad of never) if (text.includes(bad)) problems.push(`an error containing "${bad}": ${format([d])}`);
    if (want === undefined) problems.push(`unexpected (no @expect-error on the line before): ${format([d])}`);
    else if (!text.includes(want)) problems.push(`expected an error containing "${want}", got: ${format([d])}`);
    else seen.add(line);
  }
  for (const [line, want] of expected)
    if (!seen.has(line)) problems.push(`${rel(file)}:${line + 1}: expected an error containing "${want}", none there`);
}

const files = rootNames.length;
if (problems.length > 0) {
  console.error(`check-types: ${problems.length} problem(s) in ${files} type-test files:\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`check-types: ${files} type-test files of ${projects.length} projects compile as expected`);

function rel(path) {
  return relative(root, path);
}

function format(list) {
  return ts.formatDiagnostics(list, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  });
}

function report(d) {
  fail(format([d]));
}

function fail(message) {
  console.error(`check-types: ${message}`);
  process.exit(1);
}
