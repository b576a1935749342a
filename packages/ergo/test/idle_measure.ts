// A measurement, not a test (issue 49 item 4; figures in docs/networking.md, "Idle cost"): N
// ergo-ts nodes (default 10), each in its own OS process, in a network namespace of their own
// (`unshare -n`, loopback only) so the namespace's loopback counters hold their traffic and
// nothing else. Every node calls every other node once, all at once (the calls of that round that
// fail are reported, and called again until all pairs are connected; links per pair: the
// ergo-ts default, or IDLE_LINKS=N for N (each acceptor's `ergoPoolSize`)),
// then the nodes stay idle for S seconds (default 20): the script prints the packets and bytes per
// second per node (the loopback's transmit counters divided by N: every packet is sent by one
// node), and the CPU per node (utime + stime of each process over the idle window). Run as root:
//
//   unshare -n sh -c 'ip link set lo up && node packages/ergo/dist/test/idle_measure.js 10 20'

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Actor, ProcessID, startNode, type Atom, type PID, type Ref } from '../src/index.js';
import { routeTo } from './route_helpers.js';

const BASE_PORT = 23_100;
const COOKIE = 'idle-measure';
const nameOf = (i: number): string => `idle${i}@localhost`;
/** Links per pair (IDLE_LINKS; undefined: the ergo-ts default). */
const LINKS = process.env['IDLE_LINKS'] === undefined ? undefined : Number(process.env['IDLE_LINKS']);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

/** One node: listens on BASE_PORT + i, routes to the others, calls each once when told. */
async function child(i: number, n: number): Promise<void> {
  const routes = [];
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    routes.push({ match: `^idle${j}@localhost$`, route: routeTo(BASE_PORT + j) });
  }
  const node = await startNode(nameOf(i), {
    systemApp: false,
    log: { defaultLogger: { output: { write: () => true } } },
    network: {
      cookie: COOKIE,
      registrar: null,
      acceptors: [{ host: '127.0.0.1', port: BASE_PORT + i, ...(LINKS === undefined ? {} : { ergoPoolSize: LINKS }) }],
      routes,
    },
  });
  await node.spawnRegister('echo', () => new Echo());
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'mesh') {
      void (async () => {
        // The first round, all calls at once, is what a cluster meshing does; its failures are
        // reported. Later rounds call the peers not reached yet, so the idle window has all
        // pairs connected whatever the first round gave.
        let todo = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
        let failed = -1;
        const errors: string[] = [];
        for (let round = 0; round < 5 && todo.length > 0; round++) {
          const missed: number[] = [];
          await Promise.all(
            todo.map((j) =>
              node
                .call(new ProcessID('echo' as Atom, nameOf(j) as Atom), 'hi', { timeout: 30_000 })
                .catch((e: Error) => {
                  missed.push(j);
                  if (round === 0) errors.push(`${nameOf(j)}: ${e.message}`);
                }),
            ),
          );
          if (failed < 0) failed = missed.length;
          todo = missed;
        }
        process.send!({ kind: 'meshed', failed, errors, unreached: todo.length });
      })();
    }
  });
  process.send!({ kind: 'ready' });
}

function lo(): { bytes: number; packets: number } {
  const line = readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .find((l) => l.trim().startsWith('lo:'))!;
  const f = line.split(':')[1]!.trim().split(/\s+/).map(Number);
  // Transmit bytes and packets (every packet one node sent).
  return { bytes: f[8]!, packets: f[9]! };
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100/s)
}

function next(c: ChildProcess, kind: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>): void => {
      if (m.kind !== kind) return;
      c.off('message', on);
      resolve(m);
    };
    c.on('message', on);
  });
}

async function driver(n: number, idleS: number): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    const c = fork(self, ['child', String(i), String(n)], { stdio: 'inherit' });
    c.on('exit', (code) => {
      if (code !== null && code !== 0) {
        console.error(`node ${i} exited with ${code}`);
        process.exit(1);
      }
    });
    children.push(c);
  }
  try {
    await Promise.all(children.map((c) => next(c, 'ready')));
    const meshed = children.map((c) => next(c, 'meshed'));
    for (const c of children) c.send({ cmd: 'mesh' });
    const results = await Promise.all(meshed);
    const failed = results.reduce((s, r) => s + Number(r.failed), 0);
    const unreached = results.reduce((s, r) => s + Number(r.unreached), 0);
    for (const r of results) for (const e of r.errors as string[]) console.error('call failed:', e);
    // Let the handshakes' pool joins and the first answers settle before the window opens.
    await sleep(2000);
    const l0 = lo();
    const c0 = children.map((c) => cpuTicks(c.pid!));
    const t0 = performance.now();
    await sleep(idleS * 1000);
    const secs = (performance.now() - t0) / 1000;
    const l1 = lo();
    const c1 = children.map((c) => cpuTicks(c.pid!));
    const cpu = c1.map((v, i) => (v - c0[i]!) / 100 / secs);
    const out = {
      nodes: n,
      peersPerNode: n - 1,
      failedCallsFirstRound: failed,
      pairsNotConnected: unreached,
      idleSeconds: Math.round(secs * 10) / 10,
      packetsPerSecPerNode: Math.round(((l1.packets - l0.packets) / secs / n) * 100) / 100,
      bytesPerSecPerNode: Math.round((l1.bytes - l0.bytes) / secs / n),
      packetsPerSecPerPeer: Math.round(((l1.packets - l0.packets) / secs / n / (n - 1)) * 1000) / 1000,
      bytesPerSecPerPeer: Math.round(((l1.bytes - l0.bytes) / secs / n / (n - 1)) * 10) / 10,
      cpuPercentPerNode: {
        median: Math.round([...cpu].sort((a, b) => a - b)[Math.floor(n / 2)]! * 1000) / 10,
        max: Math.round(Math.max(...cpu) * 1000) / 10,
      },
    };
    console.log(JSON.stringify(out, null, 2));
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

if (process.argv[2] === 'child') await child(Number(process.argv[3]), Number(process.argv[4]));
else await driver(Number(process.argv[2] ?? 10), Number(process.argv[3] ?? 20));
