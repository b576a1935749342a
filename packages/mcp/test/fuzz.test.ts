// Issue 63 item 2: every tool the server lists (read from its own tools/list, not a hard-coded
// subset), called with random and edge arguments — missing, of the wrong type, huge strings,
// negative, zero, fractional and huge numbers, unknown PIDs and names, processes that are killed
// while they are asked about — from several clients at once, with samplers started, read and
// stopped in any order and a process that holds its mailbox and lets go. The node runs in a
// child process (server_child.ts, actions on, tools waiting 2 s by default): it must stay up, and
// every call must come back with an answer or a tool error that has a code — never
// ERR_MCP_INTERNAL (a tool's own fault). The seed is printed; MCP_FUZZ_SEED=<seed> replays it
// (the order in which concurrent calls land may still differ). MCP_FUZZ_CALLS sets the calls
// per client (default 60, four clients).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { ServerChild } from './child.js';
import { connect } from './helpers.js';

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

interface Tool {
  name: string;
  inputSchema: JsonSchema;
}

const CLIENTS = 4;
/** Processes an action may not name: the server the run talks to, and the gate it holds. */
const KEPT = ['mcp_server', 'gate', 'system_inspect'];
/** The tools that may end or change a process (the others only read). */
const ACTIONS = new Set(['process_kill', 'send_exit', 'send_message', 'call_process', 'log_level_set']);
/** A call not answered within this is a hang (every tool waits at most a few seconds here). */
const HANG_MS = 60_000;
const CALLS = Number(process.env.MCP_FUZZ_CALLS ?? 60);

test('fuzz: every tool, random and edge arguments, concurrent clients, start/stop races', async (t) => {
  const seed = process.env.MCP_FUZZ_SEED !== undefined ? Number(process.env.MCP_FUZZ_SEED) : Date.now() % 2 ** 31;
  const seedLine = `MCP fuzz seed ${seed} (replay: MCP_FUZZ_SEED=${seed})`;
  console.log(seedLine);
  t.diagnostic(seedLine);
  const rnd = generator(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number): boolean => rnd() < p;

  const child = await ServerChild.start(['--actions', '--timeout=2']);
  t.after(() => child.stop());
  const clients: Client[] = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(await connect(child.url));
  t.after(() => Promise.all(clients.map((c) => c.close())).then(() => undefined));

  const { tools } = (await clients[0]!.listTools()) as { tools: Tool[] };
  assert.ok(tools.length >= 50, `the server lists its tools (${tools.length})`);
  const toolNames = tools.map((x) => x.name);

  // What the arguments are drawn from (besides pure noise).
  const victims: { pid: string; name: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await child.cmd('spawn');
    victims.push({ pid: String(r.spawned), name: String(r.name) });
  }
  const victimPid = String((await child.cmd('spawn')).spawned);
  const crc = /^<([0-9A-F]+)\./.exec(victimPid)?.[1] ?? '0';
  const samplers: string[] = ['mcp_sampler_00000000', 'mcp_sampler_', 'not_a_sampler'];
  const huge = 'x'.repeat(200_000);
  const strings = [
    '',
    ' ',
    'a',
    '<',
    '<>',
    '<1.0.1>',
    `<${crc}.0.1>`,
    `<${crc}.0.99999999>`,
    `<${crc}.0.-1>`,
    `<${crc}.1.1001>`,
    victimPid,
    'gate',
    'no_such_process',
    'mcp_server',
    'system_inspect',
    '%s%s%s%d',
    '\u0000\uffff',
    'ünïcødé 名前',
    'nobody@nowhere',
    'x@y@z',
    child.node,
    '../../etc/passwd',
    '{"a":1}',
    'normal',
    'kill',
    'trace',
    'info',
    'panic',
    'disabled',
    '#ergo-ts/nothing/Here',
    huge.slice(0, 5000),
  ];
  const numbers = [
    0,
    -0,
    -1,
    1,
    2,
    0.5,
    -0.5,
    99,
    100,
    101,
    120,
    121,
    3600,
    3601,
    2 ** 31,
    2 ** 53,
    1e21,
    -1e21,
    1e308,
  ];
  const junk = (): unknown =>
    pick<unknown>([null, true, false, {}, [], [1, 'a'], { nested: { deep: [null] } }, 'NaN', '5', -3, 1.5]);

  /** Whether the call being made is hostile (any value) or plausible (values of the right kind). */
  let hostile = false;
  /** Whether it is an action (which must not end the processes the run itself needs). */
  let acting = false;
  const plausibleNumbers = [0, 1, 2, 5, 10, 100];

  /** A value for property `key` of type `s`: plausible, or in a hostile call often wrong and sometimes absurd. */
  const value = (key: string, s: JsonSchema): unknown => {
    if (hostile && chance(0.15)) return junk();
    if (hostile && chance(0.04)) return huge;
    if (s.enum !== undefined && chance(0.8)) return pick(s.enum);
    const type: string = (Array.isArray(s.type) ? pick(s.type) : s.type) ?? 'any';
    switch (type) {
      case 'string':
        if (/pid|^to$|parent|target/.test(key))
          return pick([
            ...victims.map((v) => pick([v.pid, v.name])),
            victimPid,
            ...strings.filter((x) => !acting || !KEPT.includes(x)),
          ]);
        if (key === 'sampler_id') return pick(samplers);
        if (key === 'tool') return pick([...toolNames, ...strings]);
        if (key === 'node') return pick([child.node, child.node, 'nobody@127.0.0.1', 'bad', '', huge.slice(0, 300)]);
        return pick(strings);
      case 'integer':
      case 'number':
        // A timeout or duration that is valid is kept short: the run is bounded.
        if (/timeout|duration|wait|linger/.test(key) && (!hostile || chance(0.7)))
          return pick(hostile ? [1, 2, 0, -1, 121, 1e9] : [1, 2]);
        if (key === 'interval_ms' && (!hostile || chance(0.7)))
          return pick(hostile ? [100, 150, 99, 0, 2 ** 31, 1e12] : [100, 150]);
        return pick(hostile ? numbers : plausibleNumbers);
      case 'boolean':
        return !hostile || chance(0.8) ? chance(0.5) : pick(['true', 1, null]);
      case 'array':
        return !hostile || chance(0.7)
          ? Array.from({ length: Math.floor(rnd() * 4) }, () => value(key, s.items ?? {}))
          : pick([[], [null], 'a']);
      case 'object':
        return pick([{}, { pid: victimPid }, { limit: 1 }, { timeout: 1 }, junk()]);
      default:
        return chance(0.5) ? pick(strings) : junk();
    }
  };

  const argsFor = (tool: Tool): Record<string, unknown> => {
    hostile = chance(0.5);
    acting = ACTIONS.has(tool.name);
    const props = tool.inputSchema.properties ?? {};
    const required = new Set(tool.inputSchema.required ?? []);
    const args: Record<string, unknown> = {};
    for (const [key, s] of Object.entries(props)) {
      const present = required.has(key) ? !hostile || !chance(0.2) : chance(0.45);
      if (present) args[key] = value(key, s);
    }
    if (hostile && chance(0.1)) args[pick(strings) || 'unknown_key'] = junk();
    if (tool.name === 'sample_start' && chance(0.6)) {
      args.tool = pick(toolNames.filter((n) => !n.startsWith('sample_')));
      args.interval_ms = pick([100, 150]);
      args.duration_sec = pick([1, 2, 3]);
      args.linger_sec = pick([0, 1]);
    }
    return args;
  };

  const log: string[] = [];
  const internal: string[] = [];
  const outcomes = new Map<string, number>();
  let answered = 0;

  const callOne = async (client: Client, tool: Tool): Promise<void> => {
    const args = argsFor(tool);
    const shown = `${tool.name} ${JSON.stringify(args).slice(0, 300)}`;
    log.push(shown);
    let text = '';
    try {
      // The SDK's request timeout is the hang guard: a call the server never answers fails the run.
      const r = (await client.callTool({ name: tool.name, arguments: args }, undefined, { timeout: HANG_MS })) as {
        isError?: boolean;
        content?: { type: string; text?: string }[];
      };
      text = r.content?.find((c) => c.type === 'text')?.text ?? '';
      if (r.isError !== true && tool.name.startsWith('sample_') && /"sampler_id":"(mcp_sampler_[0-9a-f]+)"/.test(text))
        samplers.push(/"sampler_id":"(mcp_sampler_[0-9a-f]+)"/.exec(text)![1]!);
    } catch (err) {
      // A JSON-RPC error (the SDK's own checks) is an answer too; a broken transport is not.
      text = err instanceof Error ? err.message : String(err);
      if (!child.alive) throw new Error(`the node process ended during ${shown}: ${child.stderr}`);
      if (/fetch failed|ECONNRESET|socket hang up|Request timed out/i.test(text)) throw new Error(`${shown}: ${text}`);
    }
    if (/ERR_MCP_INTERNAL/.test(text)) internal.push(`${shown} -> ${text.slice(0, 400)}`);
    const outcome = /^(ERR_[A-Z_]+|MCP error -?\d+)/.exec(text)?.[1] ?? 'answer';
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    answered++;
  };

  const worker = async (client: Client): Promise<void> => {
    for (let i = 0; i < CALLS && child.alive; i++) {
      const sampling = ['sample_start', 'sample_stop', 'sample_read', 'sample_list'];
      // A third of the calls race the samplers (start, read, stop in any order).
      const name = chance(0.33) ? pick(sampling) : pick(toolNames);
      await callOne(
        client,
        tools.find((x) => x.name === name)!,
      );
    }
  };

  const control = async (): Promise<void> => {
    // Targets that die and come back, and a mailbox that is held and let go, while the clients ask.
    for (let i = 0; i < CALLS && child.alive; i++) {
      const what = pick(['spawn', 'kill', 'hold', 'release', 'queued']);
      const r = await child.cmd(what);
      if (what === 'spawn') victims.push({ pid: String(r.spawned), name: String(r.name) });
      // Let a few calls land between two changes.
      await clients[0]!.callTool({ name: 'node_info', arguments: {} });
    }
    await child.cmd('release');
  };

  try {
    await Promise.all([...clients.map(worker), control()]);
  } catch (err) {
    throw new Error(`${seedLine}: ${String(err)}\nlast calls:\n${log.slice(-20).join('\n')}`);
  }
  await child.cmd('release');

  // The node is up and every client is still answered.
  assert.ok(child.alive, `${seedLine}: the node process ended (${String(child.ended)}): ${child.stderr}`);
  for (const c of clients) {
    const r = (await c.callTool({ name: 'node_info', arguments: {} })) as { isError?: boolean };
    assert.notEqual(r.isError, true);
  }
  assert.deepEqual(internal, [], `${seedLine}: tools failed on their own (ERR_MCP_INTERNAL)`);
  assert.equal(answered, log.length);
  t.diagnostic(`${answered} calls answered: ${JSON.stringify(Object.fromEntries(outcomes))}`);
});
