// Child process entry: runs one suite (optionally one scenario, for one peer) in a fresh V8 so the
// JIT and GC state of one measurement does not leak into the next. Rows go to stdout as
// `@@row <json>` lines (and one `@@cpu` line: CPU time vs wall time); anything else the suite prints is passed through by the runner.
//
//   node --expose-gc dist/child.js run  <suite-file.js> <scenario|-> <peer> <rounds> <warmup> <quick 0|1>
//   node dist/child.js list <suite-file.js>     → `@@list <json>`: the module's scenarios and figures

import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  CPU_PREFIX,
  LIST_PREFIX,
  ROW_PREFIX,
  suiteFunction,
  type Report,
  type Row,
  type SuiteContext,
  type SuiteModule,
} from './lib/types.js';
import { awaitChildren } from './lib/reap.js';

function emit(line: string): void {
  writeSync(1, line + '\n');
}

async function main(): Promise<void> {
  const [mode, file, scenario, peer, rounds, warmup, quick] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: child.js run|list <suite-file> ...');
  const mod = (await import(pathToFileURL(file).href)) as SuiteModule;
  if (mode === 'list') {
    emit(
      LIST_PREFIX +
        JSON.stringify({
          scenarios: mod.scenarios ?? null,
          figures: mod.figures ?? [],
          hasSuite: suiteFunction(mod) !== undefined,
        }),
    );
    return;
  }
  const fn = suiteFunction(mod);
  if (fn === undefined) throw new Error(`${file} exports no function named *Suite (nor a default export)`);
  const ctx: SuiteContext = {
    scenario: scenario === undefined || scenario === '-' ? undefined : scenario,
    peer: peer ?? 'ergo-ts',
    rounds: Number(rounds ?? 5),
    warmup: Number(warmup ?? 1),
    quick: quick === '1',
  };
  const report: Report = (row: Row) => {
    if (typeof row?.value !== 'number' || typeof row.group !== 'string' || typeof row.name !== 'string') {
      throw new TypeError(`bad row ${JSON.stringify(row)}`);
    }
    emit(ROW_PREFIX + JSON.stringify({ peer: ctx.peer, ...row }));
  };
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await fn(report, ctx);
  // CPU time this process got vs wall time: well below 1 means another process competed for the
  // cores (the figures of a single-threaded benchmark are then unreliable).
  const cpu = process.cpuUsage(cpu0);
  emit(CPU_PREFIX + JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - wall0 }));
}

/**
 * Exits once every process this child started has ended and been reaped, so their CPU time
 * reaches the runner's `cutime` (its busy-machine guard then counts a forked peer as the
 * scenario's own, not as other load: lib/reap.ts).
 */
async function exit(code: number): Promise<never> {
  const left = await awaitChildren();
  if (left.length > 0) process.stderr.write(`child processes still running at exit: ${left.join(', ')}\n`);
  process.exit(code);
}

main().then(
  () => exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return exit(1);
  },
);
