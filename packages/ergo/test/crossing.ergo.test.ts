// Crossing dials with a real Go Ergo 3.2 node (ergo-peer): an ergo-ts node and a Go node that
// call each other at the same moment, before either is connected, so each dials the other.
// Go keeps whichever connection it registered first and, as the dialling side, silently keeps
// using that one (its own dial's socket is left unread); as the accepting side it closes the
// later one. Both sides must end on the same connection: every call answers both ways, in that
// round and after it, and the ergo-ts side logs nothing above info about it. Fresh ergo-ts node
// each round; node names on both sides of the ordering (the crossing rule of ergo-ts compares
// names, Go's does not).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ProcessID, type Node } from '../src/index.js';
import { LogCapture, nodeName, probe, quietNode } from './helpers.js';
import { portOf, routeTo } from './net_helpers.js';
import { Peer, requirePeer, type Line } from '@ergo-ts/test-support';

const COOKIE = 'crossing-go';
const ROUNDS = 12;

/** How a round's crossing went on the ergo-ts side (from its debug log). */
type Outcome = 'our dial kept' | 'our dial given up' | 'no crossing';

/** One crossing: Go calls the ergo-ts `svc` while ergo-ts calls Go's `calc`, then each once more. */
async function round(go: Peer, prefix: string, r: number, outcomes: Map<Outcome, number>): Promise<string[]> {
  const goName = go.ready.node as string;
  const capture = new LogCapture();
  const ts: Node = await quietNode(
    {
      log: { level: 'debug' },
      network: {
        cookie: COOKIE,
        acceptors: [{ port: 0 }],
        registrar: null,
        routes: [{ match: goName.replace(/[.$]/g, '\\$&'), route: routeTo(go.ready.port as number) }],
      },
    },
    capture,
    nodeName(prefix),
  );
  const problems: string[] = [];
  try {
    await ts.spawnRegister(
      'svc',
      probe(undefined, (req) => `ts:${String(req)}`),
    );
    const added = await go.cmd('route_add', {
      match: ts.name.replace(/[.$]/g, '\\$&'),
      host: '127.0.0.1',
      port: portOf(ts),
    });
    assert.equal(added.kind, 'result', JSON.stringify(added));
    const calc = new ProcessID('calc' as never, goName as never);
    const to = { name: 'svc', node: ts.name };
    const both = async (tag: string): Promise<void> => {
      const fromGo = go.cmd('call', { to, req: `${tag}-${r}`, timeout: 10 });
      // Staggered so that either dial may come first, or cross (the outcome must not depend on it).
      if (r % 3 === 1) await new Promise((resolve) => setImmediate(resolve));
      if (r % 3 === 2) await new Promise((resolve) => setTimeout(resolve, 1));
      const fromTs = ts.call(calc, 'ping', { timeout: 10_000 }).then(
        (v) => (v === 'pong' ? null : `ts→go ${tag}: ${String(v)}`),
        (e: Error) => `ts→go ${tag}: ${e.message}`,
      );
      const [g, t] = await Promise.all([fromGo, fromTs]);
      if ((g as Line).kind !== 'result' || g.value !== `ts:${tag}-${r}`)
        problems.push(`go→ts ${tag}: ${JSON.stringify(g)}`);
      if (t !== null) problems.push(t);
    };
    await both('crossing');
    await both('after');
    const log = capture.text();
    const outcome: Outcome = log.includes('it crossed our dial')
      ? 'our dial kept'
      : log.includes('its own connection came first')
        ? 'our dial given up'
        : 'no crossing';
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const lines = log.split('\n');
    problems.push(...lines.filter((l) => /\[(warning|error|panic)\]/i.test(l)).map((w) => `logged: ${w}`));
    if (problems.length > 0)
      problems.push(...lines.filter((l) => /dial|connect|refused/.test(l)).map((l) => `log: ${l}`));
  } finally {
    await ts.stop();
  }
  return problems.map((p) => `round ${r} (${ts.name} / ${goName}): ${p}`);
}

async function rounds(
  t: { skip(m: string): void; diagnostic(m: string): void },
  goName: string,
  prefix: string,
): Promise<void> {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await Peer.start(bin, ['-name', goName, '-registrar', 'none', '-cookie', COOKIE]);
  try {
    const problems: string[] = [];
    const outcomes = new Map<Outcome, number>();
    for (let r = 0; r < ROUNDS; r++) problems.push(...(await round(go, prefix, r, outcomes)));
    t.diagnostic(`crossings: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    assert.deepEqual(problems, [], `ergo-peer stderr: ${go.stderr.slice(-3000)}`);
  } finally {
    await go.stop();
  }
}

test(`Go node's name smaller: ${ROUNDS} crossing dials, every call answers both ways, nothing logged`, async (t) => {
  await rounds(t, `acrossgo${process.pid}@localhost`, 'zcross');
});

test(`Go node's name larger: ${ROUNDS} crossing dials, every call answers both ways, nothing logged`, async (t) => {
  await rounds(t, `zcrossgo${process.pid}@localhost`, 'across');
});
