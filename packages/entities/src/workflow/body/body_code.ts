// Whose code called a guarded function (determinism.ts): the body's, or the framework's. The async
// context alone cannot tell: what the framework starts while a body's context is current — a
// promise continuation, a timer, a socket a pool opens lazily, the core scheduler's next turn —
// runs in that context too. So inside a live segment the guard also reads the stack, and the
// nearest frame with a location decides: the call is the body's unless that frame is
//
// - Node's own code (`node:` URLs: a timer's or a socket's callback dispatch, fetch's internals);
// - in a `node_modules` directory (the installed framework, `ergo-ts` and `@ergo-ts/*`, and the
//   libraries it uses, pg and pg-pool; a library the body calls itself too);
// - the code a framework package ships (a package whose package.json is named `ergo-ts`,
//   `@ergo-ts/…` or `create-ergo-ts`: its `dist/src/`, `dist/bundle/`, `dist/browser/`, `src/` and
//   `bin/`), found by the nearest package.json with a name: that is where a workspace or a linked
//   package lives outside node_modules. Its other files (the monorepo's `dist/test/`) are user code.
//
// Frames without a location (builtins: `Array.prototype.map`, a `new Promise`) are skipped; code
// made by `eval` or `new Function` is judged by the file that made it (the core's actor loop is
// such a copy). V8's async frames (`at async f`) name who awaits, not who called: they end the
// callers. When no caller has a location (a guarded function given as a promise callback itself,
// `.then(Date.now)`), no code called it: not the body's. The stack is read as V8's call sites,
// not as text, so `--enable-source-maps` (which prints the TypeScript sources) changes nothing: 4
// frames, then 16 when those did not decide, whatever `Error.stackTraceLimit` the application set.
// It costs about what `new Error().stack` does, and only a guarded call in a live segment pays it:
// the body's own (reported anyway) or the framework's work a body started around its context.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How many frames above the guarded function are read: a few (the caller is nearly always there), then more. */
const FIRST_FRAMES = 4;
const FRAMES = 16;

/** The directories of a framework package that hold its code (relative to its root, `/`-separated). */
const SHIPPED = ['dist/src/', 'dist/bundle/', 'dist/browser/', 'src/', 'bin/'];

/** True when `name` is a framework package's name. */
const isFrameworkName = (name: unknown): boolean =>
  typeof name === 'string' && (name === 'ergo-ts' || name === 'create-ergo-ts' || name.startsWith('@ergo-ts/'));

/** A call site as V8 gives it (the subset read here). */
interface CallSite {
  getFileName(): string | null | undefined;
  isEval(): boolean;
  isAsync(): boolean;
  getEvalOrigin(): string | undefined;
  toString(): string;
}

/** The nearest package.json with a name, by directory: its root and whether it is a framework package. */
const packages = new Map<string, { readonly root: string; readonly framework: boolean } | null>();

function packageOf(dir: string): { readonly root: string; readonly framework: boolean } | null {
  const known = packages.get(dir);
  if (known !== undefined) return known;
  let found: { readonly root: string; readonly framework: boolean } | null = null;
  const file = join(dir, 'package.json');
  let name: unknown;
  try {
    if (existsSync(file)) name = (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name;
  } catch {
    name = undefined; // unreadable: as if absent
  }
  if (name !== undefined) found = { root: dir, framework: isFrameworkName(name) };
  else if (dirname(dir) !== dir) found = packageOf(dirname(dir));
  packages.set(dir, found);
  return found;
}

/** By script name: true when it is Node's, a library's or the framework's code (never the body's). */
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 10_000;

/**
 * @internal True when the script `name` (a call site's file name: a `file:` URL, an absolute path
 * or a `node:` URL) is Node's own code, in a `node_modules` directory, or what a framework package
 * ships; false for any other script (the application's, a test's, a `vm` script's).
 */
export function isFrameworkScript(name: string): boolean {
  const known = verdicts.get(name);
  if (known !== undefined) return known;
  const verdict = judge(name);
  if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
  verdicts.set(name, verdict);
  return verdict;
}

function judge(name: string): boolean {
  if (name.startsWith('node:')) return true;
  let path: string;
  if (name.startsWith('file:')) {
    try {
      path = fileURLToPath(name);
    } catch {
      return false;
    }
  } else if (isAbsolute(name)) path = name;
  else return false; // a vm script's own name, a data: URL: the application's
  if (path.split(/[\\/]/).includes('node_modules')) return true;
  const pkg = packageOf(dirname(path));
  if (pkg === null || !pkg.framework) return false;
  const rel = relative(pkg.root, path).split(sep).join('/');
  return SHIPPED.some((d) => rel.startsWith(d));
}

/** The script an `eval` or `new Function` was made by: the innermost `(file:line:column)` of its origin. */
function evalScript(origin: string | undefined): string | undefined {
  return origin === undefined ? undefined : /\(([^()]+?):\d+:\d+\)/.exec(origin)?.[1];
}

/** The call sites above `fn` (at most `frames`), read without formatting a stack. */
function callSites(fn: (...args: never[]) => unknown, frames: number): readonly CallSite[] {
  const had = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace');
  const limit = Error.stackTraceLimit;
  const holder: { stack?: unknown } = {};
  try {
    Error.stackTraceLimit = frames;
    Error.prepareStackTrace = (_err, sites) => sites;
    Error.captureStackTrace(holder, fn);
    const sites = holder.stack; // formatted now, by the function above
    return Array.isArray(sites) ? (sites as CallSite[]) : [];
  } finally {
    Error.stackTraceLimit = limit;
    if (had === undefined) Reflect.deleteProperty(Error, 'prepareStackTrace');
    else Object.defineProperty(Error, 'prepareStackTrace', had);
  }
}

/**
 * @internal Where the body's own code called `fn` (the guarded function, the frame to start
 * above): the index of the deciding frame among those above `fn`; undefined when the nearest frame
 * with a location is Node's, a library's or the framework's, or there is none (see the top of
 * this file).
 */
export function bodyFrame(fn: (...args: never[]) => unknown): number | undefined {
  let sites = callSites(fn, FIRST_FRAMES);
  let verdict = decide(sites);
  if (verdict === 'undecided' && sites.length === FIRST_FRAMES) {
    sites = callSites(fn, FRAMES);
    verdict = decide(sites);
  }
  return typeof verdict === 'number' ? verdict : undefined;
}

/** The index of the body's caller among `sites`, `'not'` when the caller is not the body's, else undecided. */
function decide(sites: readonly CallSite[]): number | 'not' | 'undecided' {
  for (const [i, site] of sites.entries()) {
    if (site.isAsync()) return 'not'; // who awaits, not who called: the callers have ended
    const name = site.isEval() ? evalScript(site.getEvalOrigin()) : site.getFileName();
    if (name === undefined || name === null || name === '') continue;
    return isFrameworkScript(name) ? 'not' : i;
  }
  return 'undecided';
}
