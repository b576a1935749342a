// Connection set-up cost: node A dials N nodes (one process, loopback), one call each.
import { startNode, ProcessID } from '../packages/ergo/dist/src/index.js';
import { Actor } from '../packages/ergo/dist/src/index.js';
const N = Number(process.argv[2] ?? 200);
const pool = process.argv[3] ? Number(process.argv[3]) : undefined;
class Echo extends Actor { handleCall(req) { return req; } }
const quiet = { log: { level: 'error' }, systemApp: false };
const mk = (name) => startNode(name, { ...quiet, network: { cookie: 'c', registrar: null, acceptors: [{ port: 0, ...(pool ? { ergoPoolSize: pool } : {}) }] } });
const targets = [];
for (let i = 0; i < N; i++) {
  const n = await mk(`t${i}@localhost`);
  await n.spawnRegister('echo', () => new Echo());
  targets.push(n);
}
const routes = targets.map((n) => ({ match: n.name.replace(/[.$]/g, '\\$&'), route: { route: { host: '127.0.0.1', port: Number(n.network().acceptors()[0].info().interface.split(':').pop()), tls: false, handshakeVersion: { name: '', release: '' }, protoVersion: { name: '', release: '' } } } }));
const a = await startNode('a@localhost', { ...quiet, network: { cookie: 'c', registrar: null, acceptors: [{ port: 0 }], routes } });
const t0 = performance.now();
const cpu0 = process.cpuUsage();
let next = 0;
async function worker() { while (next < N) { const i = next++; await a.call(new ProcessID('echo', targets[i].name), i); } }
await Promise.all([worker(), worker(), worker(), worker()]);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(`${N} connections in ${ms.toFixed(0)} ms: ${(N / ms * 1000).toFixed(0)}/s, CPU ${( (cpu.user + cpu.system) / 1000 / N).toFixed(2)} ms per connection (both sides; user ${(cpu.user/1000/N).toFixed(2)} sys ${(cpu.system/1000/N).toFixed(2)})`);
await a.stop();
await Promise.all(targets.map((n) => n.stop()));
