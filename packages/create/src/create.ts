// `npm create ergo-ts`: from the command line (or the answers) to a project on disk. Kept apart
// from cli.ts so tests run it in-process with their own streams and working directory.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { type CliOptions, USAGE, isValuedOption, parseCliArgs } from './args.js';
import { CreateError, CreateErrorCode, ignorable } from './errors.js';
import { resolveFrom } from './from.js';
import { generateFiles, writeProject } from './generate.js';
import { type Project, buildProject } from './model.js';
import { parseParamSpec } from './params.js';
import { type Answers, ask, defaultAnswers } from './prompts.js';
import { ergoPackages } from './render_project.js';

/** Where `run` writes and what it may ask. */
export interface RunIO {
  cwd: string;
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when questions may be asked (stdin and stdout are terminals). */
  interactive: boolean;
}

/** The version of ergo-ts the generated project depends on: this package's own version (they are released together). */
export function ergoVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Quotes one argument for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that makes the same project again, for its README: the node name as typed, `--`,
 * then the options that shape the project (not --path, --from, --force, --yes).
 */
export function commandLine(argv: readonly string[], answers?: Answers): string {
  let name = '';
  const rest: string[] = [];
  const source = answers !== undefined ? answers.args.slice(1) : argv;
  if (answers !== undefined) {
    // The questions answered for the options; the node name keeps its own parameters if typed.
    name = argv.find((a) => !a.startsWith('-')) ?? answers.name;
  }
  for (let i = 0; i < source.length; i++) {
    const a = source[i]!;
    const key = a.replace(/^--?/, '');
    if (!a.startsWith('-')) {
      if (answers === undefined) name = a;
    } else if (key.includes('=')) {
      if (key.startsWith('init=')) {
        if (answers === undefined) name = key.slice('init='.length);
      } else if (!key.startsWith('path=') && !key.startsWith('from=')) rest.push(a);
    } else if (isValuedOption(key)) {
      const value = source[++i] ?? '';
      if (key === 'init') {
        if (answers === undefined) name = value;
      } else if (key !== 'path' && key !== 'from') rest.push(a, value);
    } else if (!['force', 'yes', 'y'].includes(key)) rest.push(a);
  }
  return [
    'npm create ergo-ts@latest',
    shellQuote(name),
    ...(rest.length > 0 ? ['--', ...rest.map(shellQuote)] : []),
  ].join(' ');
}

/**
 * The checked project and its directory, from parsed options (asking when allowed). Rejects with
 * a {@link CreateError}; safe to leave un-awaited.
 */
export function resolveProject(
  opts: CliOptions,
  argv: readonly string[],
  io: RunIO,
): Promise<{ project: Project; dir: string }> {
  return ignorable(resolveProjectAsync(opts, argv, io));
}

async function resolveProjectAsync(
  opts: CliOptions,
  argv: readonly string[],
  io: RunIO,
): Promise<{ project: Project; dir: string }> {
  let answers: Answers | undefined;
  if (!opts.shaped) {
    if (!opts.yes && io.interactive) answers = await ask(opts.name?.name);
    else answers = defaultAnswers(opts.name?.name);
  }
  const nameSpec = opts.name ?? (answers !== undefined ? parseParamSpec(answers.name, 'node name') : undefined);
  if (nameSpec === undefined)
    throw new CreateError(
      CreateErrorCode.NodeName,
      'node name is empty: npm create ergo-ts@latest <NodeName> -- [options] (see --help)',
    );
  const project = buildProject({
    name: nameSpec,
    declarations: answers?.declarations ?? opts.declarations,
    loggers: opts.loggers,
    observer: opts.observer || (answers?.observer ?? false),
    tls: opts.tls || (answers?.tls ?? false),
    entities: opts.entities,
    workflows: opts.workflows,
    entityStore: opts.entityStore,
    commandLine: commandLine(argv, answers),
  });
  return { project, dir: resolve(io.cwd, opts.path, project.packageName) };
}

/**
 * Runs the command; resolves with the exit code (0 ok, 1 bad input — nothing written then).
 * Rejects only when writing fails (the file system's error: ENOTDIR, EACCES...); safe to leave
 * un-awaited.
 */
export function run(argv: readonly string[], io: RunIO): Promise<number> {
  return ignorable(runAsync(argv, io));
}

async function runAsync(argv: readonly string[], io: RunIO): Promise<number> {
  try {
    const opts = parseCliArgs(argv);
    if (opts.help) {
      io.out(USAGE);
      return 0;
    }
    const { project, dir } = await resolveProject(opts, argv, io);
    const source = opts.from !== undefined ? resolveFrom(opts.from, io.cwd, ergoPackages(project), dir) : undefined;
    const files = generateFiles(project, ergoVersion(), source);
    writeProject(dir, files, opts.force);
    const rel = join(opts.path, project.packageName);
    const from =
      source === undefined
        ? ''
        : `ergo-ts comes from ${source.kind === 'checkout' ? 'the clone' : 'the tarballs'} in ${source.path} (${source.specs['ergo-ts']}).\n`;
    io.out(
      `Created ${project.nodeName} in ${dir} (${files.size} files).\n${from}\nNext:\n  cd ${shellQuote(rel)}\n  npm install\n  npm start        # the node, until Ctrl-C\n  npm test\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof CreateError) {
      io.err(`error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
