// A measurement, not a test (issue 45; figures in docs/networking.md, "Pauses and detection"):
// a sender with the DEFAULT network options floods a peer node in its own OS process (the
// linkflow fixture) that is stopped with SIGSTOP for each pause length given (seconds), then
// continued. The sender makes 64 KiB plain sends with a fresh buffer each as fast as it may, and
// every 10 ms one important send and one call (default 5 s timeout). Per pause it prints what was
// accepted, delivered, refused and reported, the sender's RSS peak and the warning lines.
//
//   node --expose-gc packages/ergo/dist/test/pause_measure.js 10   (one pause per run: RSS starts clean)
//
// PAUSE_MEASURE_CONTROL=1 runs the same load for the same time against the peer NOT stopped:
// the RSS the sender's own garbage costs (the allocator keeps what it got), the baseline beside
// which a paused peer's cost is read.
// PAUSE_MEASURE_REUSE=1 sends one buffer over and over instead of a fresh one per plain send.

import { ErgoError, ProcessID, startNode, type Atom, type PID } from '../src/index.js';
import { probe, type Probe } from './helpers.js';
import { LfNode } from './linkflow_helpers.js';
import { routeTo } from './route_helpers.js';

const SIZE = 64 * 1024;
const CONTROL = process.env['PAUSE_MEASURE_CONTROL'] === '1';
/** PAUSE_MEASURE_REUSE=1: one buffer for every plain send instead of a fresh one each. */
const REUSE = process.env['PAUSE_MEASURE_REUSE'] === '1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const code = (e: unknown): string => String((e as { code?: string }).code ?? e);

function tally(into: Map<string, number>, k: string): void {
  into.set(k, (into.get(k) ?? 0) + 1);
}

async function measure(pauseS: number): Promise<Record<string, unknown>> {
  const child = await LfNode.start(`measured${process.pid}_${pauseS}`, {});
  const lines: string[] = [];
  const sender = await startNode(`measurer${process.pid}_${pauseS}@localhost`, {
    systemApp: false,
    network: {
      cookie: 'linkflow',
      registrar: null,
      acceptors: [],
      routes: [{ match: child.name.replace(/[.$]/g, '\\$&'), route: routeTo(child.port) }],
    },
    log: { defaultLogger: { output: { write: (c: string) => (lines.push(c), true) } } },
  });
  const sink = new ProcessID('sink' as Atom, child.name as Atom);
  await sender.call(sink, 'count');
  const runner: PID = await sender.spawn(probe((m, _f, self) => (typeof m === 'function' ? m(self) : undefined)));
  const run = (fn: (self: Probe) => unknown): void => sender.send(runner, fn);

  const plain = { accepted: 0, refused: new Map<string, number>() };
  const important = new Map<string, number>();
  const calls = new Map<string, number>();
  const settled: Promise<void>[] = [];
  (globalThis as { gc?: () => void }).gc?.();
  const rss0 = process.memoryUsage.rss();
  let rssPeak = rss0;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 50);
  const shared = new Uint8Array(SIZE);
  let sending = true;
  /** Set while the retained memory is measured: the flood's refused buffers are garbage still being swept. */
  let holding = false;
  const flood = async (): Promise<void> => {
    while (sending) {
      if (holding) {
        await sleep(10);
        continue;
      }
      for (let i = 0; i < 20; i++) {
        try {
          sender.send(sink, REUSE ? shared : new Uint8Array(SIZE));
          plain.accepted++;
        } catch (e) {
          tally(plain.refused, code(e));
          if (!(e instanceof ErgoError)) throw e;
        }
      }
      await new Promise((r) => setImmediate(r));
    }
  };
  const ticker = setInterval(() => {
    settled.push(
      new Promise<void>((resolve) =>
        run((self) => {
          try {
            self.sendImportant(sink, 'important').then(
              () => (tally(important, 'acked'), resolve()),
              (e) => (tally(important, code(e)), resolve()),
            );
          } catch (e) {
            tally(important, `refused ${code(e)}`);
            resolve();
          }
        }),
      ),
    );
    settled.push(
      sender.call(sink, 'ping').then(
        () => tally(calls, 'answered'),
        (e: unknown) => tally(calls, code(e)),
      ),
    );
  }, 10);
  const flooding = flood();
  await sleep(500);
  const stoppedAt = Date.now();
  if (!CONTROL) child.proc.kill('SIGSTOP');
  await sleep(pauseS * 1000);
  // What the sender retains at the end of the pause, once the refused buffers are collected
  // (run with --expose-gc; the peak RSS above includes the garbage of the refused fresh buffers).
  // The flood holds while this is measured: ArrayBuffers' memory is released by a sweeper that
  // runs after the collection itself, so buffers refused just before a collection would still be
  // counted. Two collections 100 ms apart, no buffer made between them, count only what is held.
  const gc = (globalThis as { gc?: () => void }).gc;
  holding = true;
  await sleep(100);
  gc?.();
  await sleep(100);
  gc?.();
  await sleep(100);
  const retained = process.memoryUsage();
  let connectionQueued: number | string;
  try {
    connectionQueued = sender.network().node(child.name).info().queuedBytes ?? 'not reported';
  } catch (e) {
    connectionQueued = code(e);
  }
  holding = false;
  if (!CONTROL) child.proc.kill('SIGCONT');
  await sleep(2000);
  sending = false;
  clearInterval(ticker);
  await flooding;
  const settleStart = Date.now();
  await Promise.all(settled);
  const settleMs = Date.now() - settleStart;
  clearInterval(sampler);
  let count: number | undefined;
  const backStart = Date.now();
  for (;;) {
    count = await sender.call(sink, 'count', { timeout: 2000 }).then(
      (n) => n as number,
      () => undefined,
    );
    if (count !== undefined) break;
    await sleep(200);
  }
  const downLine = lines.find((l) => l.includes('declared down'));
  const u = sender
    .network()
    .info()
    .undelivered?.find((x) => x.node === child.name);
  const acked = important.get('acked') ?? 0;
  const result = {
    pauseS,
    control: CONTROL,
    reuse: REUSE,
    declaredDown: downLine === undefined ? 'no' : `after ${((Date.now() - stoppedAt) / 1000).toFixed(0)} s or less`,
    plainAccepted: plain.accepted,
    plainDelivered: count - acked,
    plainRefused: Object.fromEntries(plain.refused),
    undelivered: u ?? null,
    important: Object.fromEntries(important),
    calls: Object.fromEntries(calls),
    settleAfterRunMs: settleMs,
    backAfterMs: Date.now() - backStart,
    rssBaseMB: +(rss0 / 2 ** 20).toFixed(1),
    rssPeakMB: +(rssPeak / 2 ** 20).toFixed(1),
    retainedAtPauseEnd:
      gc === undefined
        ? null
        : {
            rssMB: +(retained.rss / 2 ** 20).toFixed(1),
            arrayBuffersMB: +(retained.arrayBuffers / 2 ** 20).toFixed(1),
            heapUsedMB: +(retained.heapUsed / 2 ** 20).toFixed(1),
            connectionQueued,
          },
    warningLines: lines.filter((l) => /warning/i.test(l)).length,
    warnings: [...new Set(lines.filter((l) => /warning/i.test(l)).map((l) => l.replace(/\d+/g, 'N').slice(0, 160)))],
  };
  await sender.stop();
  await child.stop().catch(() => child.proc.kill('SIGKILL'));
  return result;
}

const pauses = process.argv.slice(2).map(Number);
for (const p of pauses.length > 0 ? pauses : [10, 20, 30, 60]) {
  console.log(JSON.stringify(await measure(p)));
}
process.exit(0);
