// What a node process spends to import ergo-ts and start a node (issue 64, item 1): a fresh
// process per run imports `ergo-ts`, starts a node with the embedded registrar (it binds the
// registrar's port 4499, alone in a network namespace of its own when run as root, so another
// node on the machine cannot make it a registrar client), stops it and exits. Each child reports
// its CPU (user + system, `process.cpuUsage()`) before the import (Node's own start), for the
// import, for `startNode` and for the whole process, and the wall time of import and start; the
// driver prints the median of each and the load average (the machine is shared: CPU time is the
// robust figure, wall time is noisy). docs/scale.md has the figures.
//
//   node bench/dist/cluster/start_cost.js [runs=20] [--cache] [module...]
//
// With module paths (another build's dist/src/index.js, say the one before a change), the runs
// alternate between `ergo-ts` and each of them, so a load that changes meanwhile weighs on all
// alike, and a line is printed for each. Without a cache, Node's compile cache and ergo-ts's code
// cache are off (`NODE_DISABLE_COMPILE_CACHE=1`). `--cache` adds, for each module, two more alternating
// variants with Node's compile cache turned on before the import (`module.enableCompileCache`, what
// the launcher's worker and the `ergo-ts` command do): cold (an empty cache directory per run, so
// the run compiles and writes the cache; its writing is counted in the whole process) and warm (a
// directory one unmeasured run filled first).

import type * as Ergo from 'ergo-ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface StartFigures {
  /** CPU ms before the first line of this module ran (Node's own start). */
  boot: number;
  /** CPU ms of `import('ergo-ts')`. */
  import: number;
  /** CPU ms of `startNode`. */
  start: number;
  /** CPU ms of the whole process, to its exit. */
  total: number;
  /** Wall ms of the import and of `startNode`. */
  wallImport: number;
  wallStart: number;
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

async function child(): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const specifier = process.argv[3] ?? 'ergo-ts';
  const cacheDir = process.argv[4];
  if (cacheDir !== undefined) nodeModule.enableCompileCache(cacheDir);
  const { startNode } = (await import(specifier)) as typeof Ergo;
  const c1 = process.cpuUsage();
  const t1 = performance.now();
  const node = await startNode('start@localhost', { network: { cookie: 'c' }, log: { level: 'warning' } });
  const c2 = process.cpuUsage();
  const t2 = performance.now();
  await node.stop();
  // Written at exit otherwise, after the figures: a cold run's writing counts in its total.
  if (cacheDir !== undefined) nodeModule.flushCompileCache();
  const figures: StartFigures = {
    boot: cpuMs(c0),
    import: cpuMs(c1) - cpuMs(c0),
    start: cpuMs(c2) - cpuMs(c1),
    total: cpuMs(process.cpuUsage()),
    wallImport: t1 - t0,
    wallStart: t2 - t1,
  };
  console.log(JSON.stringify(figures));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One variant the driver alternates: a module, and the compile cache's state for it. */
interface Variant {
  specifier: string;
  cache: 'off' | 'cold' | 'warm';
  /** The warm variant's directory, filled once before the measured runs. */
  dir?: string;
}

function driver(runs: number, specifiers: string[], cache: boolean): void {
  const self = fileURLToPath(import.meta.url);
  const isolate = process.getuid?.() === 0;
  const load0 = loadavg()[0]!;
  const variants: Variant[] = specifiers.flatMap((specifier): Variant[] =>
    cache
      ? [
          { specifier, cache: 'off' },
          { specifier, cache: 'cold' },
          { specifier, cache: 'warm', dir: mkdtempSync(join(tmpdir(), 'start-cost-warm-')) },
        ]
      : [{ specifier, cache: 'off' }],
  );
  const once = (v: Variant): StartFigures => {
    const dir = v.cache === 'cold' ? mkdtempSync(join(tmpdir(), 'start-cost-cold-')) : v.dir;
    const args = [self, 'child', v.specifier, ...(dir !== undefined ? [dir] : [])];
    // Off: Node's compile cache and ergo-ts's code cache (which has a folder of its own otherwise).
    const env = {
      ...process.env,
      NODE_COMPILE_CACHE: undefined,
      NODE_DISABLE_COMPILE_CACHE: dir === undefined ? '1' : undefined,
    };
    try {
      const r = isolate
        ? spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...args], {
            encoding: 'utf8',
            env,
          })
        : spawnSync(process.execPath, args, { encoding: 'utf8', env });
      if (r.status !== 0) throw new Error(`start_cost child failed: ${r.error?.message ?? r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as StartFigures;
    } finally {
      if (v.cache === 'cold') rmSync(dir!, { recursive: true, force: true });
    }
  };
  for (const v of variants) if (v.cache === 'warm') once(v);
  const all = variants.map((): StartFigures[] => []);
  for (let i = 0; i < runs; i++) variants.forEach((v, k) => all[k]!.push(once(v)));
  variants.forEach((v, k) => {
    const label = v.cache === 'off' ? v.specifier : `${v.specifier} (compile cache ${v.cache})`;
    report(label, all[k]!, isolate, load0);
    if (v.dir !== undefined) rmSync(v.dir, { recursive: true, force: true });
  });
}

function report(specifier: string, all: StartFigures[], isolate: boolean, load0: number): void {
  const m = (k: keyof StartFigures): string => median(all.map((f) => f[k])).toFixed(1);
  console.log(
    `${specifier}: ${all.length} starts${isolate ? ' (each in its own network namespace)' : ''}, medians: CPU import ${m('import')} ms + startNode ${m('start')} ms` +
      ` (Node's own start before the import ${m('boot')} ms; whole process ${m('total')} ms); wall import ${m('wallImport')} ms, startNode ${m('wallStart')} ms;` +
      ` load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
  );
}

if (process.argv[2] === 'child') await child();
else {
  const rest = process.argv.slice(3);
  driver(
    Number(process.argv[2] ?? 20),
    ['ergo-ts', ...rest.filter((a) => a !== '--cache').map((p) => pathToFileURL(resolve(p)).href)],
    rest.includes('--cache'),
  );
}
