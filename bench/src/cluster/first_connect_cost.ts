// The first connections of a fresh process (issue 64, item 2: connection set-up at ≤ 2 ms of CPU
// for the first connections of a fresh process, both sides). A fresh process per run imports
// `ergo-ts` (or another build's entry), starts eleven nodes (no registrar, static routes over
// loopback), then measures the CPU (user + system, `process.cpuUsage()`) of one node's first call
// to another — dial, handshake on both sides, the call and its reply — then of nine more, each to
// a new node of the same process, one at a time. Each child also reports its import's CPU and
// the first `startNode`'s. The driver alternates the variants run by run, so a load that changes
// meanwhile weighs on each alike, and prints for each the median (min–max) of the first
// connection, the median of the next nine's mean, and the load average. docs/scale.md has the
// figures ("The first connection of a fresh process").
//
//   node bench/dist/cluster/first_connect_cost.js [runs=10] [--cache] [module...]
//
// With module paths (another build's entry, say the one before a change), the runs alternate
// between `ergo-ts` and each of them. Without `--cache`, Node's compile cache and ergo-ts's code
// cache are off in every child (`NODE_DISABLE_COMPILE_CACHE=1`); with it, each module also runs
// with Node's compile cache warm (`module.enableCompileCache` on a folder one unmeasured run of
// the same kind — import, start, connect — filled first), and as imported from a program's own
// entry that does not turn Node's cache on (ergo-ts's code cache then has a folder of its own in
// the temporary folder: here one per variant, `TMPDIR`, filled the same way).

import type * as Ergo from 'ergo-ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from '../lib/measure.js';
import { acceptorPort, loopbackRoute } from '../lib/routes.js';

interface ConnectFigures {
  /** CPU ms of the import. */
  import: number;
  /** CPU ms of the first `startNode`. */
  start: number;
  /** CPU ms of the first connection's call, both sides. */
  first: number;
  /** CPU ms of each of the next nine connections' calls, both sides. */
  next: number[];
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
const NEXT = 9;

async function child(): Promise<void> {
  const specifier = process.argv[3] ?? 'ergo-ts';
  const cacheDir = process.argv[4];
  if (cacheDir !== undefined) nodeModule.enableCompileCache(cacheDir);
  const c0 = process.cpuUsage();
  const ergo = (await import(specifier)) as typeof Ergo;
  const c1 = process.cpuUsage();
  class Echo extends ergo.Actor {
    override handleCall(_from: Ergo.PID, _ref: Ergo.Ref, request: unknown): unknown {
      return request;
    }
  }
  const quiet = { log: { level: 'error' as const }, systemApp: false };
  const targets: Ergo.Node[] = [];
  let start = 0;
  for (let i = 0; i <= NEXT; i++) {
    const s0 = process.cpuUsage();
    const t = await ergo.startNode(`t${i}@localhost`, {
      ...quiet,
      network: { cookie: 'c', registrar: null, acceptors: [{ port: 0 }] },
    });
    if (i === 0) start = cpuMs(process.cpuUsage()) - cpuMs(s0);
    await t.spawnRegister('echo', () => new Echo());
    targets.push(t);
  }
  const routes = targets.map((t) => ({
    match: t.name.replace(/[.$]/g, '\\$&'),
    route: loopbackRoute(acceptorPort(t)),
  }));
  const a = await ergo.startNode('a@localhost', {
    ...quiet,
    network: { cookie: 'c', registrar: null, acceptors: [{ port: 0 }], routes },
  });
  const calls: number[] = [];
  for (const t of targets) {
    const k0 = process.cpuUsage();
    await a.call(new ergo.ProcessID('echo' as Ergo.Atom, t.name), 1);
    calls.push(cpuMs(process.cpuUsage()) - cpuMs(k0));
  }
  await a.stop();
  await Promise.all(targets.map((t) => t.stop()));
  const figures: ConnectFigures = { import: cpuMs(c1) - cpuMs(c0), start, first: calls[0]!, next: calls.slice(1) };
  console.log(JSON.stringify(figures));
}

/** One variant the driver alternates: a module, and the compile cache's state for it. */
interface Variant {
  specifier: string;
  /** Off, Node's compile cache on (`warm`), or not turned on by the program (`entry`). */
  cache: 'off' | 'warm' | 'entry';
  /** The warm variant's cache folder, or the entry variant's temporary folder (`TMPDIR`, where
   * ergo-ts's code cache then lives), filled by one unmeasured run before the measured ones. */
  dir?: string;
}

const LABEL = {
  off: 'caches off',
  warm: "Node's compile cache warm",
  entry: "Node's compile cache not turned on (ergo-ts's own code cache warm, if it has one)",
};

function driver(runs: number, specifiers: string[], cache: boolean): void {
  const self = fileURLToPath(import.meta.url);
  const load0 = loadavg()[0]!;
  const variants: Variant[] = specifiers.flatMap((specifier): Variant[] =>
    cache
      ? [
          { specifier, cache: 'off' },
          { specifier, cache: 'warm', dir: mkdtempSync(join(tmpdir(), 'first-connect-warm-')) },
          { specifier, cache: 'entry', dir: mkdtempSync(join(tmpdir(), 'first-connect-entry-')) },
        ]
      : [{ specifier, cache: 'off' }],
  );
  const once = (v: Variant): ConnectFigures => {
    const args = [self, 'child', v.specifier, ...(v.cache === 'warm' ? [v.dir!] : [])];
    // Off: Node's compile cache and ergo-ts's code cache (which has a folder of its own otherwise).
    const env = {
      ...process.env,
      NODE_COMPILE_CACHE: undefined,
      NODE_DISABLE_COMPILE_CACHE: v.cache === 'off' ? '1' : undefined,
      ...(v.cache === 'entry' ? { TMPDIR: v.dir } : {}),
    };
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`first_connect_cost child failed: ${r.error?.message ?? r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as ConnectFigures;
  };
  for (const v of variants) if (v.dir !== undefined) once(v);
  const all = variants.map((): ConnectFigures[] => []);
  for (let i = 0; i < runs; i++) variants.forEach((v, k) => all[k]!.push(once(v)));
  const load1 = loadavg()[0]!;
  variants.forEach((v, k) => {
    const fs = all[k]!;
    const firsts = fs.map((f) => f.first);
    const f1 = (x: number): string => x.toFixed(1);
    console.log(
      `${v.specifier}, ${LABEL[v.cache]}: ${fs.length} processes, CPU medians:` +
        ` first connection ${f1(median(firsts))} ms (${f1(Math.min(...firsts))}–${f1(Math.max(...firsts))}),` +
        ` each of the next ${NEXT} ${f1(median(fs.map((f) => f.next.reduce((s, x) => s + x, 0) / f.next.length)))} ms,` +
        ` import ${f1(median(fs.map((f) => f.import)))} ms, first startNode ${f1(median(fs.map((f) => f.start)))} ms;` +
        ` load average ${load0.toFixed(1)} → ${load1.toFixed(1)}`,
    );
    if (v.dir !== undefined) rmSync(v.dir, { recursive: true, force: true });
  });
}

if (process.argv[2] === 'child') await child();
else {
  const rest = process.argv.slice(3);
  driver(
    Number(process.argv[2] ?? 10),
    ['ergo-ts', ...rest.filter((a) => a !== '--cache').map((p) => pathToFileURL(resolve(p)).href)],
    rest.includes('--cache'),
  );
}
