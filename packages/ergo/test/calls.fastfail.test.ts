// Calls fail fast when the callee ends (issue 37 item 3). A caller whose request a process holds
// gets the reason at once when that process ends — a panic, a kill, a normal exit with the
// request still queued or being handled, its node stopping or dying — locally, from another
// ergo-ts node in its own OS process, and from a Go Ergo caller (the callee's node answers with
// an ENP error response, code 3, which Go maps to gen.ErrProcessTerminated). Plain and important
// calls alike.
//
// Every call here waits up to 60 s: without the fix it would only time out, so the hang guard
// (`within`, 20 s) fails the test first. No timing thresholds: the reason code is the check.

import { fork, type ChildProcess } from 'node:child_process';
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  Actor,
  ProcessID,
  ReplyLater,
  TerminateReasonNormal,
  type Atom,
  type HandlerResult,
  type Node,
  type PID,
} from '../src/index.js';
import { engineOf } from '../src/node/internals.js';
import { noUnhandled, quietNode, within } from './helpers.js';
import { netNode, portOf, routeTo } from './net_helpers.js';
import { DIST_COOKIE, startGoPeer, tsFor } from './dist_helpers.js';
import { eventually } from '@ergo-ts/test-support';

noUnhandled();

const LONG = 60_000;
const GUARD = 20_000;

/** The error a call ended with (a reply is a test failure). */
function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  return p.then(
    (v) => assert.fail(`the call was answered with ${String(v)}`),
    (e: unknown) => e as Error & { code?: string },
  );
}

// --- a callee node in its own OS process (fastfail_fixture.ts) ------------------------------------

const FIXTURE = fileURLToPath(new URL('./fastfail_fixture.js', import.meta.url));

interface Callee {
  proc: ChildProcess;
  name: Atom;
  cmd(cmd: string, fields?: Record<string, unknown>): Promise<unknown>;
  /** Resolves when holder `name` got request `request`. */
  held(name: string, request: string): Promise<void>;
  exited: Promise<unknown>;
  /** Resolves once the callee's node holds `n` requests from other nodes. */
  holding(n: number): Promise<void>;
}

async function startCallee(t: { after(fn: () => Promise<void>): void }, prefix: string): Promise<Callee> {
  const name = `${prefix}${process.pid}@localhost` as Atom;
  const proc = fork(FIXTURE, [], {
    env: { ...process.env, FASTFAIL_FIXTURE_NAME: name, FASTFAIL_FIXTURE_COOKIE: DIST_COOKIE },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  t.after(async () => void proc.kill('SIGKILL'));
  const reports: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let port = 0;
  const ready = new Promise<void>((resolve, reject) => {
    proc.on('message', (m: { kind?: string; id?: number; ok?: unknown; err?: string; port?: number }) => {
      if (m.kind === 'ready') {
        port = m.port!;
        resolve();
      } else if (m.kind === 'report') {
        reports.push(m as Record<string, unknown>);
        for (const w of [...waiters]) w();
      } else {
        const w = pending.get(m.id!);
        pending.delete(m.id!);
        if (m.err !== undefined) w?.reject(new Error(m.err));
        else w?.resolve(m.ok);
      }
    });
    proc.once('exit', (code) => reject(new Error(`fixture exited with ${String(code)}`)));
  });
  await within(ready, 'fixture ready', GUARD);
  let next = 1;
  const callee: Callee = {
    proc,
    name,
    exited,
    cmd(cmd, fields = {}) {
      const id = next++;
      const answer = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
      proc.send({ cmd, id, ...fields });
      return within(answer, `fixture ${cmd}`, GUARD);
    },
    holding(n) {
      return eventually(async () => (await callee.cmd('requests')) === n, `the callee to hold ${n} requests`, {
        timeoutMs: GUARD,
      }).then(() => undefined);
    },
    held(holder, request) {
      const found = (): boolean => reports.some((r) => r.name === holder && r.request === request);
      return within(
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (!found()) return;
            waiters.delete(check);
            resolve();
          };
          waiters.add(check);
          check();
        }),
        `${holder} to hold '${request}'`,
        GUARD,
      );
    },
  };
  (callee as { port?: number }).port = port;
  return callee;
}

/** A caller node in this process with a route to `callee` (and `callee` one back to it). */
async function callerFor(t: { after(fn: () => Promise<void>): void }, callee: Callee): Promise<Node> {
  const node = await netNode('ffcaller', {
    cookie: DIST_COOKIE,
    routes: [
      {
        match: callee.name.replace(/[.$]/g, '\\$&'),
        route: routeTo((callee as { port?: number }).port!),
      },
    ],
  });
  t.after(() => node.stop().catch(() => undefined));
  await callee.cmd('route', { match: node.name.replace(/[.$]/g, '\\$&'), port: portOf(node) });
  return node;
}

async function remote(
  t: { after(fn: () => Promise<void>): void },
  prefix: string,
): Promise<{ callee: Callee; caller: Node }> {
  const callee = await startCallee(t, prefix);
  const caller = await callerFor(t, callee);
  return { callee, caller };
}

const holderAt = (callee: Callee, name: string): ProcessID => new ProcessID(name as Atom, callee.name);

// --- remote: ergo-ts caller, ergo-ts callee in another OS process -----------------------------------

// The cases whose callee node lives on share one callee OS process; each case has its own holder
// process there and its own caller node here (so a caller's call table is only its case's). A
// process per case proved nothing more. The cases that end the callee's node, and the normal-exit
// ones (their deferred request stays held until their caller's node stops, and they count the
// callee's held requests), keep a process each.
describe('remote: one callee node process for the cases that end only a process there', () => {
  let callee: Callee | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  before(async () => {
    callee = await startCallee({ after: (fn) => void cleanups.push(fn) }, 'ffshared');
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  let holders = 0;
  /** The shared callee, a caller node for this case, and a fresh holder process on the callee. */
  const setup = async (t: {
    after(fn: () => Promise<void>): void;
  }): Promise<{ callee: Callee; caller: Node; h: string }> => {
    assert.ok(callee !== undefined, 'the shared callee did not start');
    const caller = await callerFor(t, callee);
    const h = `h${++holders}`;
    await callee.cmd('spawn', { name: h });
    return { callee, caller, h };
  };

  for (const important of [false, true]) {
    const kind = important ? 'an important call' : 'a call';

    test(`remote: ${kind} being handled when the callee panics fails at once with ERR_PROCESS_TERMINATED`, async (t) => {
      const { callee, caller, h } = await setup(t);
      const p = failure(caller.call(holderAt(callee, h), 'block', { timeout: LONG, important }));
      await callee.held(h, 'block');
      await callee.cmd('end', { name: h, how: 'panic' });
      const e = await within(p, 'the call to fail (not time out)', GUARD);
      assert.equal(e.code, 'ERR_PROCESS_TERMINATED', e.message);
      assert.equal(engineOf(caller).calls.size, 0);
    });

    test(`remote: ${kind} the callee deferred fails at once when the callee is killed`, async (t) => {
      const { callee, caller, h } = await setup(t);
      const p = failure(caller.call(holderAt(callee, h), 'defer', { timeout: LONG, important }));
      await callee.held(h, 'defer');
      await callee.cmd('kill', { name: h });
      const e = await within(p, 'the call to fail (not time out)', GUARD);
      assert.equal(e.code, 'ERR_PROCESS_TERMINATED', e.message);
    });
  }

  test('remote: the callee node answers what it holds and forgets it (no entry left after replies or ends)', async (t) => {
    const { callee, caller, h } = await setup(t);
    for (let i = 0; i < 50; i++) assert.equal(await caller.call(holderAt(callee, h), i, { timeout: LONG }), i);
    const p = failure(caller.call(holderAt(callee, h), 'block', { timeout: LONG }));
    await callee.held(h, 'block');
    await callee.cmd('end', { name: h, how: 'panic' });
    assert.equal((await within(p, 'the call to fail', GUARD)).code, 'ERR_PROCESS_TERMINATED');
  });
});

for (const important of [false, true]) {
  const kind = important ? 'an important call' : 'a call';

  test(`remote: ${kind} queued behind a running handler fails at once when the callee exits normally`, async (t) => {
    const { callee, caller } = await remote(t, `ffnormal${important ? 'i' : ''}`);
    await callee.cmd('spawn', { name: 'h' });
    // The handler of 'block' ends the process normally without replying: like a deferred
    // request (Ergo's `return nil, TerminateReasonNormal` after handing the ref on), its caller
    // keeps waiting for a delegated reply. The request queued behind it will never be handled.
    const handled = failure(caller.call(holderAt(callee, 'h'), 'block', { timeout: LONG, important }));
    await callee.held('h', 'block');
    const queued = failure(caller.call(holderAt(callee, 'h'), 'queued', { timeout: LONG, important }));
    await callee.holding(2);
    await callee.cmd('end', { name: 'h', how: 'normal' });
    const e = await within(queued, 'the queued call to fail (not time out)', GUARD);
    assert.equal(e.code, 'ERR_PROCESS_TERMINATED', e.message);
    // The deferred one ends with the caller's node (after the test).
    void handled;
  });
}

test('remote: a deferred call fails at once when the callee’s node stops', async (t) => {
  const { callee, caller } = await remote(t, 'ffstop');
  await callee.cmd('spawn', { name: 'h' });
  const p = failure(caller.call(holderAt(callee, 'h'), 'defer', { timeout: LONG }));
  await callee.held('h', 'defer');
  // No answer comes back (the process exits): sent, not awaited.
  callee.proc.send({ cmd: 'stop', id: 0 });
  const e = await within(p, 'the call to fail (not time out)', GUARD);
  // The node's processes end with reason shutdown (a normal reason: a deferred request is left
  // to whoever holds its ref), then the connection closes: the node-down error.
  assert.equal(e.code, 'ERR_NO_CONNECTION', e.message);
  await within(callee.exited, 'the callee node to exit', GUARD);
});

test('remote: a call fails at once when the callee’s node is killed (kill -9)', async (t) => {
  const { callee, caller } = await remote(t, 'ffkill9');
  await callee.cmd('spawn', { name: 'h' });
  const p = failure(caller.call(holderAt(callee, 'h'), 'block', { timeout: LONG, important: true }));
  const q = failure(caller.call(holderAt(callee, 'h'), 'queued', { timeout: LONG }));
  await callee.held('h', 'block');
  callee.proc.kill('SIGKILL');
  for (const x of [p, q]) {
    const e = await within(x, 'the call to fail (not time out)', GUARD);
    assert.equal(e.code, 'ERR_NO_CONNECTION', e.message);
  }
  assert.equal(engineOf(caller).calls.size, 0);
});

// --- a Go Ergo caller, an ergo-ts callee ----------------------------------------------------------------

/** Holds 'defer' and 'block' requests like the fixture's holders; ends on 'normal'/'panic'. */
class Holder extends Actor {
  static gate: ((how: string) => void) | null = null;
  /** Called with each request as it is handled. */
  static arrived: ((request: unknown) => void) | null = null;
  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (message === 'normal') return TerminateReasonNormal;
    if (message === 'panic') throw new Error('holder panicked on purpose');
    return undefined;
  }
  override handleCall(_from: PID, _ref: unknown, request: unknown): unknown {
    Holder.arrived?.(request);
    if (request === 'defer') return ReplyLater;
    if (request === 'block') {
      return new Promise<string>((resolve) => (Holder.gate = resolve)).then((how) => {
        if (how === 'panic') throw new Error('holder panicked on purpose');
        return TerminateReasonNormal;
      });
    }
    return request;
  }
}

for (const [how, important] of [
  ['panic', false],
  ['panic', true],
  ['kill', false],
] as const) {
  test(`Go caller: ${important ? 'an important call' : 'a call'} to an ergo-ts process that ends (${how}) gets "process terminated" at once`, async (t) => {
    const go = await startGoPeer(t, `goff${how}${important ? 'i' : ''}`);
    if (go === undefined) return;
    const ts = await tsFor(t, `tsff${how}${important ? 'i' : ''}`, go);
    const pid = await ts.spawnRegister('ffholder', () => new Holder());
    const request = how === 'kill' ? 'defer' : 'block';
    const arrived = new Promise<void>((resolve) => (Holder.arrived = () => resolve()));
    const answer = go.cmd(
      'call',
      { to: { name: 'ffholder', node: ts.name }, req: request, timeout: LONG / 1000, important },
      GUARD,
    );
    await within(arrived, 'the Go request to arrive', GUARD);
    Holder.arrived = null;
    if (how === 'kill') ts.kill(pid);
    else {
      const gate = Holder.gate!;
      Holder.gate = null;
      gate(how);
    }
    const r = await answer;
    assert.equal(r.kind, 'error', JSON.stringify(r));
    assert.equal(r.error, 'process terminated');
    assert.equal(engineOf(ts).remoteRequests.size, 0);
  });
}

// --- local: the same ends, for comparison (the rule that remote callers now share) ----------------------

test('local: calls held by a process that panics, is killed or exits normally (queued) fail at once', async () => {
  const node = await quietNode();
  try {
    for (const how of ['panic', 'normal', 'kill'] as const) {
      const pid = await node.spawn(() => new Holder());
      const p = failure(node.call(pid, how === 'kill' ? 'defer' : 'block', { timeout: LONG }));
      const q = failure(node.call(pid, 'queued', { timeout: LONG, important: true }));
      if (how === 'kill') node.kill(pid);
      else {
        await eventually(() => Holder.gate !== null, 'the holder to block', { timeoutMs: GUARD });
        const gate = Holder.gate!;
        Holder.gate = null;
        gate(how);
      }
      // A normal stop from the handler leaves the handled request to a delegated reply.
      for (const x of how === 'normal' ? [q] : [p, q]) {
        const e = await within(x, `the call to fail (${how})`, GUARD);
        assert.equal(e.code, 'ERR_PROCESS_TERMINATED', `${how}: ${e.message}`);
      }
    }
  } finally {
    await node.stop();
  }
});

// --- CallOptions.monitor: Erlang's way (monitor the callee while the call waits) -------------------------

test('monitor: a Go callee that ends with the request queued fails the call at once (its node sends nothing)', async (t) => {
  const go = await startGoPeer(t, 'goffmon');
  if (go === undefined) return;
  const ts = await tsFor(t, 'tsffmon', go);
  const worker = await (await ts.network().getNode(go.ready.node as string)).spawn('peer_worker');
  // 'stop' ends the worker normally; the request queued behind it is never handled, and a Go
  // node answers nothing for it: without the monitor the call would wait out its 60 s.
  ts.send(worker, 'stop');
  const e = await within(
    failure(ts.call(worker, 'ping', { timeout: LONG, monitor: true })),
    'the call to fail (not time out)',
    GUARD,
  );
  // Down (normal) if the monitor got there before the worker ended, refused (no such process) after.
  assert.ok(['ERR_PROCESS_TERMINATED', 'ERR_PROCESS_UNKNOWN'].includes(e.code!), `${e.code}: ${e.message}`);
  const engine = engineOf(ts);
  assert.equal(engine.callMonitors.size, 0);
  assert.equal(engine.calls.size, 0);
  // A monitored call that is answered leaves no monitor behind either.
  const echo = new ProcessID('echo' as Atom, go.ready.node as Atom);
  for (let i = 0; i < 20; i++) assert.equal(await ts.call(echo, `m${i}`, { timeout: LONG, monitor: true }), `m${i}`);
  await eventually(() => engine.targets.keyedHosts === 0, 'the monitor relations to go');
  assert.equal(engine.callMonitors.size, 0);
});

test('monitor: an ergo-ts callee that defers the request and stops normally fails the call at once (remote and local)', async (t) => {
  const { callee, caller } = await remote(t, 'ffmon');
  await callee.cmd('spawn', { name: 'h' });
  const p = failure(caller.call(holderAt(callee, 'h'), 'defer', { timeout: LONG, monitor: true }));
  await callee.held('h', 'defer');
  await callee.cmd('end', { name: 'h', how: 'normal' });
  const e = await within(p, 'the call to fail (not time out)', GUARD);
  assert.equal(e.code, 'ERR_PROCESS_TERMINATED', e.message);
  assert.equal(e.cause, TerminateReasonNormal);
  assert.equal(engineOf(caller).callMonitors.size, 0);

  // Locally the same, and the node-wide default does it for every call.
  const node = await quietNode({ monitorCalls: true });
  try {
    const pid = await node.spawn(() => new Holder());
    const arrived = new Promise<void>((resolve) => (Holder.arrived = () => resolve()));
    const q = failure(node.call(pid, 'defer', { timeout: LONG }));
    await within(arrived, 'the request to arrive', GUARD);
    Holder.arrived = null;
    node.send(pid, 'normal');
    const l = await within(q, 'the local call to fail (not time out)', GUARD);
    assert.equal(l.code, 'ERR_PROCESS_TERMINATED', l.message);
  } finally {
    await node.stop();
  }
});

test('monitor: a bad value is refused before anything is sent', async () => {
  const node = await quietNode();
  try {
    const pid = await node.spawn(() => new Holder());
    const e = await failure(node.call(pid, 'x', { monitor: 'yes' as never }));
    assert.equal(e.code, 'ERR_INCORRECT');
    await assert.rejects(quietNode({ monitorCalls: 1 as never }), { code: 'ERR_INCORRECT' });
  } finally {
    await node.stop();
  }
});
