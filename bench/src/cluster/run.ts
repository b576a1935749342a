// The cluster-scale run (issue 49; docs/scale.md, "A hundred nodes"): ergo-ts through etcd,
// ergo-ts through the embedded registrar and Erlang/OTP, one after the other on fresh test hosts,
// then a table side by side. Root, `ip`, `nft`, etcd and erl needed (what the test hosts need).
//
//   node bench/dist/cluster/run.js [--nodes 100] [--only etcd,embedded,erlang] [--idle 20]
//                                  [--wave 10] [--inflight 4] [--joiners 10] [--events 1000] [--kills 1,10] [--stall MS] [--links N]
//                                  [--cut SECONDS (30; 0: none)] [--cut-fraction 0.1] [--json FILE]
//                                  [--entities K (0: none; ergo-ts only, PostgreSQL needed)]
//                                  [--go G (0: none; Go Ergo nodes beside the embedded run's, the ergo-peer needed)]
//                                  [--timeline (where the join's time goes, wave by wave: up_timeline.ts)]
//                                  [--up-only (stop after the join)]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EntitiesFigures, RebalanceFigures } from './entities_phase.js';
import { runScale, scaleUnavailable, type ScaleFigures, type ScaleOptions } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
/** bench/erlang, where bench_cluster_node.erl is. */
export const ERLANG_SRC = join(here, '..', '..', 'erlang');

type Run = 'etcd' | 'embedded' | 'erlang';

/** Compiles bench_cluster_node.erl into a temporary folder; the caller removes it. */
export function compileClusterNode(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ergo-scale-beam-'));
  const r = spawnSync('erlc', ['-o', dir, join(ERLANG_SRC, 'bench_cluster_node.erl')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`erlc failed: ${r.error?.message ?? r.stderr}`);
  return dir;
}

/** One row per figure, a column per run. */
export function table(runs: ScaleFigures[]): string {
  const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '–');
  const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');
  const secs = (ms: number | undefined, none: string): string => (ms === undefined ? none : `${f1(ms / 1000)} s`);
  // The row names the nodes cut off when every run cut the same number (the usual case).
  const cuts = new Set(runs.flatMap((f) => (f.cut === undefined ? [] : [f.cut.isolated])));
  const cutNodes = cuts.size === 1 ? String([...cuts][0]) : 'K';
  const rows: [string, (f: ScaleFigures) => string][] = [
    ['all nodes up', (f) => `${f1(f.upMs / 1000)} s`],
    ['every node seen (etcd events)', (f) => (f.seenAllMs === undefined ? '–' : `${f1(f.seenAllMs / 1000)} s`)],
    [
      'full mesh: calls ok / all',
      (f) =>
        `${f.mesh.calls - f.mesh.failed}/${f.mesh.calls} in ${f1(f.mesh.ms / 1000)} s${f.mesh.failed > 0 ? ` ${JSON.stringify(f.mesh.failedBy)}` : ''}`,
    ],
    [
      'full mesh: calls/s, p50 / p99',
      (f) => `${f0(f.mesh.perSecond)}/s, ${f1(f.mesh.p50Us / 1000)} / ${f1(f.mesh.p99Us / 1000)} ms`,
    ],
    ['connected peers, min', (f) => `${f.connected.min}`],
    ['idle CPU, whole cluster', (f) => `${f1(f.idle.clusterCpuPercent)} % of a core`],
    [
      'idle bytes/s sent per node',
      (f) => `${f0(f.idle.sentBytesPerSecond.median)} (${f0(f.idle.sentBytesPerSecond.max)})`,
    ],
    [
      'idle packets/s sent per node',
      (f) => `${f1(f.idle.sentPacketsPerSecond.median)} (${f1(f.idle.sentPacketsPerSecond.max)})`,
    ],
    ['RSS per node', (f) => `${f1(f.rssMB.median)} MB (${f1(f.rssMB.max)})`],
    ['private memory (USS) per node', (f) => `${f1(f.ussMB.median)} MB (${f1(f.ussMB.max)})`],
    [
      'event fan-out: deliveries/s, lateness p50 / p99',
      (f) =>
        f.fanout === undefined
          ? '–'
          : `${f.fanout.events} × ${f.fanout.subscribers}: ${f0(f.fanout.deliveriesPerSecond)}/s, ${f1(f.fanout.p50Ms)} / ${f1(f.fanout.p99Ms)} ms`,
    ],
    [
      'event fan-out CPU: publisher, subscribers per delivery',
      (f) =>
        f.fanout === undefined
          ? '–'
          : `${f0(f.fanout.publisherCpuMs)} ms, ${f1(f.fanout.subscriberCpuUsPerDelivery)} µs`,
    ],
    [
      'join of a few into the running cluster',
      (f) =>
        f.join === undefined
          ? '–'
          : `${f.join.count} up in ${f1(f.join.upMs / 1000)} s${f.join.seenMs === undefined ? '' : `, told to all in ${f1(f.join.seenMs / 1000)} s`}; their ${f.join.calls} calls${Object.keys(f.join.failedBy).length === 0 ? ' ok' : ` failed ${JSON.stringify(f.join.failedBy)}`}`,
    ],
    ['Leader: elected (5 voters)', (f) => (f.cut === undefined ? '–' : secs(f.cut.electedMs, 'not within 60 s'))],
    [
      `cut of ${cutNodes} node${cutNodes === '1' ? '' : 's'}: new leader after`,
      (f) =>
        f.cut === undefined
          ? '–'
          : `${cutNodes === 'K' ? `${f.cut.isolated} nodes, ` : ''}${f0(f.cut.seconds)} s cut: ${secs(f.cut.newLeaderMs, 'none during the cut')}; old leader stepped down after ${secs(f.cut.stepDownMs, 'never')}`,
    ],
    [
      'healed: all 5 agree after',
      (f) =>
        f.cut === undefined
          ? '–'
          : `${secs(f.cut.healedMs, 'not within 60 s')}${f.cut.movedOnHeal === true ? ' (leader or term moved)' : ''}${f.registrar === 'etcd' ? `; cut-off nodes back in etcd for all after ${secs(f.cut.retoldMs, 'never (60 s)')}` : ''}`,
    ],
    [
      'Leader violations',
      (f) =>
        f.cut === undefined
          ? '–'
          : `${f.cut.violations}${f.cut.violating.map((v) => ` term ${v.term}: ${v.leaders.join(' + ')}`).join(';')} (${f.cut.terms} terms, ${f.cut.observations} observations)`,
    ],
    [
      'mesh after heal: ok/all, calls/s, p50/p99',
      (f) => {
        const m = f.cut?.mesh;
        return m === undefined
          ? '–'
          : `${m.calls - m.failed}/${m.calls}, ${f0(m.perSecond)}/s, ${f1(m.p50Us / 1000)} / ${f1(m.p99Us / 1000)} ms${m.failed > 0 ? ` ${JSON.stringify(m.failedBy)}` : ''}`;
      },
    ],
    ['file descriptors per node', (f) => `${f0(f.fds.median)} (${f0(f.fds.max)})`],
    ...entityRows(),
    ...[0, 1].map((i): [string, (f: ScaleFigures) => string] => [
      `kill -9 seen by all, round ${i + 1}`,
      (f) => {
        const k = f.kills[i];
        return k === undefined
          ? '–'
          : `${k.count}: ${f0(k.medianMs)} / ${f0(k.maxMs)} ms${k.missed > 0 ? `, ${k.missed} missed` : ''}`;
      },
    ]),
  ];
  const head = [
    '',
    ...runs.map(
      (f) =>
        `${f.kind} ${f.nodes}${f.goNodes === undefined ? '' : ` + ${f.goNodes} Go Ergo`} (${f.registrar}${f.peerStallTimeout === undefined ? '' : `, stall ${f.peerStallTimeout / 1000} s`}${f.links === undefined ? '' : `, ${f.links} link${f.links === 1 ? '' : 's'}`})`,
    ),
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const [label, cell] of rows) lines.push(`| ${label} | ${runs.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** The entities phase's rows (a '–' where a run had no phase). */
function entityRows(): [string, (f: ScaleFigures) => string][] {
  const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '–');
  const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');
  const failed = (by: Record<string, number>): string =>
    Object.keys(by).length === 0 ? 'none failed' : `failed ${JSON.stringify(by)}`;
  const moves = (r: RebalanceFigures | undefined, naive: string): string =>
    r === undefined
      ? '–'
      : `${r.nodes}: ${r.ms === undefined ? `not settled in 60 s (${r.unsettled} keys elsewhere${r.settledOthersMs === undefined ? '' : `, the others after ${f1(r.settledOthersMs / 1000)} s`})` : `${f1(r.ms / 1000)} s`}` +
        `${r.stopMs === undefined ? '' : ` (stopped in ${f1(r.stopMs / 1000)} s)`}; moved ${r.moved} ` +
        `(placement ${r.expectedMoved}, ${naive} ${f0(r.naiveMoved)}); rounds of ${f1(r.roundMs / 1000)} s; ` +
        `${r.calls} calls, p50 ${f1(r.p50Ms)} / p99 ${f1(r.p99Ms)} ms, ${failed(r.failedBy)}`;
  const cell =
    (g: (e: EntitiesFigures) => string) =>
    (f: ScaleFigures): string =>
      f.entities === undefined ? '–' : g(f.entities);
  return [
    [
      'entities: activation of K keys, per s, p50 / p99',
      cell(
        (e) =>
          `${e.keys} keys (${e.shards} shards): ${f0(e.activation.perSecond)}/s, ${f1(e.activation.p50Ms)} / ${f1(e.activation.p99Ms)} ms` +
          `${e.activation.failed > 0 ? `, ${failed(e.activation.failedBy)}` : ''}`,
      ),
    ],
    ['entities: join, every key on its new owner after', cell((e) => moves(e.join, 'K·j/(N+j)'))],
    ['entities: drain (stop), every key on its new owner after', cell((e) => moves(e.drain, 'K·d/N'))],
    ...[0, 1].map((i): [string, (f: ScaleFigures) => string] => [
      `entities: keys of the killed served again, round ${i + 1}`,
      cell((e) => {
        const k = e.kills[i];
        return k === undefined
          ? '–'
          : `${k.count} killed, ${k.keys} keys: ${k.ms === undefined ? `not within 60 s (${k.unsettled} left)` : `${f1(k.ms / 1000)} s`}; ${k.calls} calls, p99 ${f1(k.p99Ms)} ms, ${failed(k.failedBy)}`;
      }),
    ]),
    [
      'entities: final round; acknowledged writes lost',
      cell(
        (e) =>
          `${e.final === undefined ? '–' : `${e.final.calls - e.final.failed}/${e.final.calls} ok`}; ${e.lostWrites} lost`,
      ),
    ],
  ];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
  };
  const nodes = Number(opt('nodes', '100'));
  const only = opt('only', 'etcd,embedded,erlang').split(',') as Run[];
  const base: Omit<ScaleOptions, 'kind'> = {
    nodes,
    idleSeconds: Number(opt('idle', '20')),
    wave: Number(opt('wave', '10')),
    inflight: Number(opt('inflight', '4')),
    joiners: Number(opt('joiners', '10')),
    events: Number(opt('events', '1000')),
    kills: opt('kills', '1,10').split(',').map(Number),
    ...(opt('stall', '') === '' ? {} : { peerStallTimeout: Number(opt('stall', '')) }),
    ...(opt('links', '') === '' ? {} : { links: Number(opt('links', '')) }),
    cutSeconds: Number(opt('cut', '30')),
    cutFraction: Number(opt('cut-fraction', '0.1')),
    entities: Number(opt('entities', '0')),
    goNodes: Number(opt('go', '0')),
    log: (l) => console.log(`  ${l}`),
    timeline: args.includes('--timeline'),
    upOnly: args.includes('--up-only'),
  };
  const why = scaleUnavailable({
    erlang: only.includes('erlang'),
    etcd: only.includes('etcd'),
    postgres: base.entities !== undefined && base.entities > 0 && only.some((r) => r !== 'erlang'),
  });
  if (why !== undefined) {
    console.error(`cluster-scale: cannot run here: ${why}`);
    process.exit(2);
  }
  const results: ScaleFigures[] = [];
  for (const r of only) {
    console.log(`== ${r}, ${nodes} nodes`);
    if (r === 'erlang') {
      const beamDir = compileClusterNode();
      try {
        results.push(await runScale({ ...base, kind: 'erlang', beamDir }));
      } finally {
        rmSync(beamDir, { recursive: true, force: true });
      }
    } else
      results.push(
        // Go Ergo nodes join the embedded run only (the ergo-peer has no etcd registrar).
        await runScale({ ...base, kind: 'ergo-ts', registrar: r, goNodes: r === 'embedded' ? base.goNodes : 0 }),
      );
  }
  console.log(`\n${table(results)}`);
  const json = opt('json', '');
  if (json !== '') writeFileSync(json, JSON.stringify(results, null, 2));
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
