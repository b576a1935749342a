// Not a test: how long one tools/call takes through the SDK's client on this machine (loopback
// HTTP, a fresh SDK server per request, one inspector question). Run after the build:
//   node packages/mcp/dist/test/call_cost.js [calls]
// Prints the median and 95th percentile per tool, on a node running `processes` idle processes.

import { Actor, startNode } from 'ergo-ts';

import { createMcpApplication } from '../src/index.js';
import { connect } from './helpers.js';

class Idle extends Actor {}

const calls = Number(process.argv[2] ?? 200);
const processes = Number(process.argv[3] ?? 1000);
const app = createMcpApplication({ port: 0, token: 't' });
const node = await startNode(`mcpcost${process.pid}@localhost`, { applications: [app], log: { level: 'warning' } });
for (let i = 0; i < processes; i++) await node.spawn(Idle);
const client = await connect(app.url!, 't');

for (const [name, args] of [
  ['node_info', {}],
  ['process_list', { limit: 100 }],
  ['process_list', { sort_by: 'mailbox', limit: 10 }],
  ['process_info', { pid: 'mcp_server' }],
  ['log_tail', { limit: 100 }],
] as const) {
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await client.callTool({ name, arguments: args });
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number): string => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(2);
  console.log(`${name} ${JSON.stringify(args)}: median ${at(0.5)} ms, p95 ${at(0.95)} ms (${calls} calls)`);
}
await client.close();
await node.stop();
