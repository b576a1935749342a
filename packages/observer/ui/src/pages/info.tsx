// Node page: facts, log level, loggers, env (when the node exposes it), and 60 s charts of
// processes, memory, CPU and — for an ergo-ts node observed from itself — event loop
// utilisation and delay.

import { useCallback, useMemo, useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { Chart } from '../chart';
import { bytes, count, list, logLevel, seconds } from '../format';
import { Series, isErgoTS, useFrames, useNodeHistory, useSubscription } from '../hooks';
import { Error, KV, LevelSelect } from '../ui';

/** V8's heap spaces of an ergo-ts node (the heap query; Go nodes answer it from pprof in newer cores only). */
function Heap() {
  const [heap, error] = useSubscription('heap', { limit: 20 });
  if (error !== null || heap === null) return null;
  return (
    <div class="card" data-testid="heap">
      <h3>Heap</h3>
      <p class="muted small">
        in use {bytes(heap.totalInuse)} of {bytes(heap.totalAlloc)}, GC {(Number(heap.gcCPUFraction) * 100).toFixed(1)}{' '}
        % of the time
      </p>
      <table class="kv">
        <tbody>
          {list(heap.records).map((r: Json) => (
            <tr key={list(r.stack).join('/')}>
              <th>{list(r.stack).join(' ')}</th>
              <td>
                {bytes(r.inuseBytes)} / {bytes(r.allocBytes)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Tenths of a percent (the legend); on the axis, as many decimals as its step needs. */
const percent = (v: number, decimals = 1): string => `${+v.toFixed(decimals)} %`;
const ms = (v: number, decimals = 2): string => `${+v.toFixed(decimals)} ms`;

/** The node's own version (the `version` node option): none set reads so, not "name 0.0.0". */
function version(v: Json): string {
  const release = String(v?.release ?? '');
  if (release === '' || release === '0.0.0') return 'not set (node option version)';
  return `${v?.name ?? ''} ${release}`.trim();
}

export function InfoPage() {
  const node = api.connected?.node.name ?? '';
  const charts = useMemo(
    () => ({
      procs: new Series(['total', 'running']),
      // Go's meaning: MemoryUsed is what the runtime took from the OS (Go Sys, Node.js RSS), MemoryAlloc
      // the heap objects in use (Go Alloc, V8 heapUsed): the first is the larger.
      mem: new Series(['from the OS', 'heap in use']),
      cpu: new Series(['user', 'system']),
      loop: new Series(['utilisation %']),
      delay: new Series(['mean ms', 'max ms']),
    }),
    [node],
  );
  // Re-renders the page when a chart's series moved (each chart reads its series' version).
  const [, setTick] = useState(0);
  const [meta, setMeta] = useState<Json>(null);
  const [prev, setPrev] = useState<{ t: number; user: number; sys: number } | null>(null);
  const [runtime, setRuntime] = useState(false);
  const [data, error] = useSubscription('node_info', {});
  // The last minutes the Observer kept (its own node only): the charts start filled.
  useNodeHistory(
    charts,
    useCallback(() => (setRuntime(true), setTick((n) => n + 1)), []),
  );
  useFrames(
    'node_meta',
    useCallback((m: Json) => setMeta(m), []),
  );
  useFrames(
    'runtime',
    useCallback(
      (r: Json) => {
        const t = Date.now() / 1000;
        charts.loop.push(t, [r.elu * 100]);
        charts.delay.push(t, [r.delayMean, r.delayMax]);
        setRuntime(true);
        setTick((n) => n + 1);
      },
      [charts],
    ),
  );
  useFrames(
    'node_info',
    useCallback(
      (m: Json) => {
        const i = m.info ?? {};
        const t = Date.now() / 1000;
        charts.procs.push(t, [i.processesTotal, i.processesRunning]);
        charts.mem.push(t, [i.memoryUsed, i.memoryAlloc]);
        setPrev((p) => {
          if (p !== null && t > p.t) {
            const dt = (t - p.t) * 1e9;
            charts.cpu.push(t, [((i.userTime - p.user) / dt) * 100, ((i.systemTime - p.sys) / dt) * 100]);
          }
          return { t, user: i.userTime, sys: i.systemTime };
        });
        setTick((n) => n + 1);
      },
      [charts],
    ),
  );
  void prev;
  const i = data?.info;
  return (
    <div class="page" data-page="info">
      <h1>
        Node <span class="mono">{node}</span>
      </h1>
      <Error text={error} />
      {i === undefined ? (
        <p class="muted">waiting for the node inspector…</p>
      ) : (
        <>
          <div class="cards">
            <KV
              title="Node"
              rows={[
                ['name', i.name],
                ['uptime', seconds(i.uptime)],
                ['version', version(i.version)],
                ['framework', `${i.framework?.name ?? ''} ${i.framework?.release ?? ''}`],
                ['platform', meta === null ? '' : `${meta.os}/${meta.arch}, ${meta.cores} cores`],
                ['creation', meta?.creation ?? ''],
              ]}
            />
            <KV
              title="Processes"
              rows={[
                ['total', <span data-testid="processes-total">{count(i.processesTotal)}</span>],
                ['running', count(i.processesRunning)],
                ['zombee', count(i.processesZombee)],
                ['names / aliases / events', `${i.registeredNames} / ${i.registeredAliases} / ${i.registeredEvents}`],
                ['applications', `${i.applicationsRunning} running of ${i.applicationsTotal}`],
                [
                  'memory: heap in use / from the OS',
                  <span
                    data-testid="memory"
                    title="heap in use: Go Alloc, V8 heapUsed; from the OS: Go Sys, the process's resident set (RSS)"
                  >
                    {bytes(i.memoryAlloc)} / {bytes(i.memoryUsed)}
                  </span>,
                ],
              ]}
            />
            <div class="card">
              <h3>Log level</h3>
              <LevelSelect
                value={logLevel(i.logLevel)}
                onChange={(level) => api.do('set_log_level', { target: 'node', level })}
              />
              <h3>Loggers</h3>
              {list(i.loggers).length === 0 ? <p class="muted">none</p> : null}
              <table class="loggers" data-testid="loggers">
                <tbody>
                  {list(i.loggers).map((l: Json) => (
                    <tr key={l.name}>
                      <td class="mono">{l.name}</td>
                      <td>{l.behavior}</td>
                      <td>{list(l.levels).map(logLevel).join(' ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
          <div class="charts">
            <Chart title="Processes" series={charts.procs} format={(v) => count(Math.round(v))} whole />
            <Chart title="Memory" series={charts.mem} format={bytes} />
            <Chart title="CPU (%)" series={charts.cpu} format={percent} />
            {runtime ? <Chart title="Event loop utilisation (%)" series={charts.loop} format={percent} /> : null}
            {runtime ? <Chart title="Event loop delay (ms)" series={charts.delay} format={ms} /> : null}
          </div>
          {isErgoTS(`${i.framework?.name ?? ''}`) ? <Heap /> : null}
          {i.env !== null && i.env !== undefined && Object.keys(i.env).length > 0 ? (
            <KV title="Env" rows={Object.entries(i.env).map(([k, v]) => [k, String(v)])} />
          ) : (
            <p class="muted">Env is not exposed by this node (security.exposeEnvInfo).</p>
          )}
        </>
      )}
    </div>
  );
}
