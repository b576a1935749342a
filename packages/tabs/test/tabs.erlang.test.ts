// Tabs and a real Erlang/OTP node (`erl`, its own OS process, test/erl/tab_peer.erl) through the
// gateway's Erlang bridge: a private `epmd` on a free port, the Erlang node registered with it,
// and each tab's endpoint (@ergo-ts/erlang's startErlangEndpoint) registering the tab's own name.
// A tab calls an Erlang gen_server and gets an Erlang process's answer to its mail; the Erlang node
// sends to and calls a tab process by its PID (dialling the tab's name through EPMD), links to and
// monitors it, and hears `noconnection` when the session ends; a tab process links to and
// monitors an Erlang process and hears its end with its reason; a value the tab frame codec cannot
// carry (an atom, a tuple) is refused at the gateway with ERR_TAB_VALUE and a log line (an Erlang
// caller gets {error, _} at once), a tab value with no Erlang term fails the tab's call with
// ERR_ETF_ENCODE, and nothing else is lost. Skips without erl, erlc and epmd
// (fails under CI=true).

import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  Actor,
  MessageDownPID,
  MessageExitPID,
  PID,
  ProcessID,
  startNode,
  TerminateReasonShutdown,
  type Atom,
  type Ref,
} from 'ergo-ts';
import { startErlangEndpoint } from '@ergo-ts/erlang';
import { eventually, serverPort } from '@ergo-ts/test-support';

import { createTabGateway } from '../src/index.js';
import { COOKIE, LogLines, quiet, tabOf } from './helpers.js';

const ERL_SRC = fileURLToPath(new URL('../../test/erl/', import.meta.url));

/** Why the test cannot run (erl, erlc or epmd missing), or undefined; under CI=true it throws. */
function missingErlang(): string | undefined {
  const missing = ['erl', 'erlc', 'epmd'].filter(
    (c) => spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).status !== 0,
  );
  if (missing.length === 0) return undefined;
  const why = `${missing.join(', ')} not installed (Debian: apt-get install erlang-base erlang-dev)`;
  if (process.env['CI'] === 'true') throw new Error(`${why}; CI must have it`);
  console.log(`# skipped: ${why}`);
  return why;
}

/** An OS process whose output is read line by line, with waits for a line. */
class Lines {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  #partial = '';
  #waiters: { re: RegExp; from: number; resolve(l: string): void; reject(e: Error): void }[] = [];
  #exited: string | null = null;
  #seq = 0;

  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const onData = (b: Buffer): void => {
      const parts = (this.#partial + b.toString('utf8')).split('\n');
      this.#partial = parts.pop()!;
      for (const l of parts) {
        this.lines.push(l);
        const at = this.lines.length - 1;
        this.#waiters = this.#waiters.filter((w) => !(at >= w.from && w.re.test(l) && (w.resolve(l), true)));
      }
    };
    this.proc.stdout!.on('data', onData);
    this.proc.stderr!.on('data', onData);
    this.proc.stdin!.on('error', () => {});
    // A process that ends fails what waits for its lines (with its output), instead of a hang.
    this.proc.once('exit', (code, signal) => {
      this.#exited = `${cmd} exited (${code ?? signal}); output:\n${this.lines.join('\n')}`;
      for (const w of this.#waiters.splice(0)) w.reject(new Error(this.#exited));
    });
  }

  /** The first line from index `from` matching `re` (the test's timeout bounds the wait). */
  waitFor(re: RegExp, from = 0): Promise<string> {
    const had = this.lines.slice(from).find((l) => re.test(l));
    if (had !== undefined) return Promise.resolve(had);
    if (this.#exited !== null) return Promise.reject(new Error(this.#exited));
    return new Promise((resolve, reject) => this.#waiters.push({ re, from, resolve, reject }));
  }

  /** Evaluates Erlang expressions `expr` (tab_peer:eval_line) and resolves with the printed value. */
  async eval(expr: string): Promise<string> {
    const id = `e${++this.#seq}`;
    const from = this.lines.length;
    this.proc.stdin!.write(`${id} ${expr}.\n`);
    const line = await this.waitFor(new RegExp(`^RESULT ${id} `), from);
    return line.slice(`RESULT ${id} `.length);
  }

  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await gone;
  }
}

/** The real epmd on a free loopback port, then an Erlang node running tab_peer registered with it. */
async function erlang(t: {
  after(fn: () => Promise<void>): void;
}): Promise<{ epmdPort: number; erl: Lines; name: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tabs-erl-'));
  t.after(async () => rmSync(dir, { recursive: true, force: true }));
  const c = spawnSync('erlc', ['-o', dir, join(ERL_SRC, 'tab_peer.erl')], { encoding: 'utf8' });
  assert.equal(c.status, 0, `erlc: ${c.stdout}${c.stderr}`);
  const epmdPort = await serverPort();
  const epmd = new Lines('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1', '-d']);
  t.after(() => epmd.kill());
  await epmd.waitFor(/epmd running/);
  const env = { ERL_EPMD_PORT: String(epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1' };
  const name = `erl${process.pid}@localhost`;
  // epmd prints its line just before it listens: wait until it accepts a connection.
  const accepts = (): Promise<boolean> =>
    new Promise((resolve) => {
      const c = connect(epmdPort, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
  await eventually(accepts, 'epmd to accept', { timeoutMs: 30_000, intervalMs: 20 });
  const erl = new Lines(
    'erl',
    ['-noshell', '-sname', name, '-setcookie', COOKIE, '-pa', dir, '-eval', 'tab_peer:start()'],
    env,
  );
  t.after(() => erl.kill());
  await erl.waitFor(/^ready\b/);
  return { epmdPort, erl, name };
}

/** A tab process: keeps its mail; `['ask', to, v]` mails [self, v] to `to`; a number is answered +1. */
class TabBox extends Actor {
  constructor(readonly got: (m: unknown, from: PID) => void) {
    super();
  }
  override handleMessage(from: PID, m: unknown): void {
    this.got(m, from);
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    if (typeof req === 'number') return req + 1;
    if (Array.isArray(req) && req[0] === 'ask' && req[1] instanceof ProcessID) {
      this.send(req[1], [this.pid, req[2]]);
      return true;
    }
    return 'what?';
  }
}

/**
 * A tab process that links to and monitors Erlang process `target`, makes sure both are in place
 * (mail after them to the same process is answered after them), then reports the reasons of the
 * exit signal and the down message.
 */
class Watcher extends Actor {
  constructor(
    readonly target: PID,
    readonly inPlace: () => void,
    readonly ended: (code: string) => void,
  ) {
    super();
  }
  override init(): void {
    this.setTrapExit(true);
    this.link(this.target);
    this.monitor(this.target);
    this.send(this.target, [this.pid, 'in place?']);
  }
  override handleMessage(_from: PID, m: unknown): void {
    const code = (r: Error): string => String((r as { code?: unknown }).code ?? r.message);
    if (m instanceof MessageExitPID || m instanceof MessageDownPID) this.ended(code(m.reason));
    else this.inPlace();
  }
}

/** Mail of a tab process, waited for in order (`from`: the sender of the last one taken). */
class Mail {
  readonly #items: [unknown, PID][] = [];
  #waiting: ((item: [unknown, PID]) => void) | null = null;
  from: PID | null = null;
  readonly put = (m: unknown, from: PID): void => {
    const w = this.#waiting;
    this.#waiting = null;
    if (w !== null) w([m, from]);
    else this.#items.push([m, from]);
  };
  async next(): Promise<unknown> {
    const [m, from] = this.#items.shift() ?? (await new Promise<[unknown, PID]>((r) => (this.#waiting = r)));
    this.from = from;
    return m;
  }
}

const text = (v: unknown): string => {
  assert.ok(v instanceof Uint8Array, `a binary, not ${String(v)}`);
  return new TextDecoder().decode(v);
};

let seq = 0;

test('an Erlang node and a tab process: calls and mail both ways, by PID and by name; links and monitors end with noconnection', async (t) => {
  const why = missingErlang();
  if (why !== undefined) return t.skip(why);
  const { epmdPort, erl, name: E } = await erlang(t);

  const lines = new LogLines();
  const g = await startNode(`gwerl${process.pid}x${seq++}@localhost`, {
    ...quiet(lines),
    network: { cookie: COOKIE, acceptors: [{ port: 0 }], registrar: null },
  });
  const gw = await createTabGateway(g, {
    admit: () => ({ names: { adder: true, box: true, victim: true } }),
    erlang: {
      nodes: [E],
      start: (o) => startErlangEndpoint({ ...o, cookie: COOKIE, host: '127.0.0.1', epmd: { port: epmdPort } }),
    },
  });
  t.after(async () => {
    await gw.stop();
    await g.stop();
  });
  const tab = await tabOf(t, gw);
  const mail = new Mail();
  const box = await tab.node.spawn(() => new TabBox(mail.put));

  // The tab calls an Erlang gen_server by name (its first frame starts its Erlang endpoint).
  assert.equal(await tab.node.call(new ProcessID('adder' as Atom, E as Atom), 41), 42);
  await lines.waitFor(/: Erlang endpoint up \(port \d+\)/, 'the endpoint');

  // A tab value with no Erlang term (a Set) fails the tab's call with the ETF encoder's error.
  await assert.rejects(tab.node.call(new ProcessID('adder' as Atom, E as Atom), new Set([1])), {
    code: 'ERR_ETF_ENCODE',
  });

  // A tab process mails a registered Erlang process; the answer comes back to its PID.
  assert.equal(await tab.node.call(box, ['ask', new ProcessID('box' as Atom, E as Atom), 'ping']), true);
  const answer = await mail.next();
  assert.ok(Array.isArray(answer) && answer.length === 3);
  assert.deepEqual(answer.slice(0, 2).map(text), ['pong', 'ping']);
  assert.ok(answer[2] instanceof PID && answer[2].node === E, 'the Erlang process names itself');

  // The Erlang node has the tab process's PID (it came in the mail): it dials the tab's name
  // through epmd, sends to it and calls it.
  const P = '[P, _] = tab_peer:last()';
  assert.equal(await erl.eval(`${P}, node(P)`), `'${tab.name}'`);
  assert.equal(await erl.eval(`${P}, P ! <<"hi from erlang">>, ok`), 'ok');
  assert.equal(text(await mail.next()), 'hi from erlang');
  assert.equal(await erl.eval(`${P}, gen_server:call(P, 41)`), '42');

  // What the tab frame codec cannot carry is refused at the gateway with ERR_TAB_VALUE and a log
  // line: a mailed atom is dropped, a call with a tuple is answered {error, _} at once.
  assert.equal(await erl.eval(`${P}, P ! an_atom, ok`), 'ok');
  await lines.waitFor(/a send from .* refused: .*cannot carry/, 'the refused send logged');
  assert.match(await erl.eval(`${P}, gen_server:call(P, {a, tuple})`), /^\{error,/);
  await lines.waitFor(/a call from .* refused: .*cannot carry/, 'the refused call logged');
  assert.equal(await erl.eval(`${P}, P ! <<"still here">>, ok`), 'ok');
  assert.equal(text(await mail.next()), 'still here');

  // A tab process links to and monitors an Erlang process that wrote to it (Erlang's `!` carries
  // its sender to a tab: the grant hands it out); its end reaches the tab with its reason.
  await tab.node.call(box, ['ask', new ProcessID('victim' as Atom, E as Atom), 'who']);
  const victim = ((await mail.next()) as unknown[])[2] as PID;
  assert.equal(String(mail.from), String(victim), 'the sender of the mail');
  const codes: string[] = [];
  let inPlace!: () => void;
  let bothEnded!: () => void;
  const placed = new Promise<void>((r) => (inPlace = r));
  const ended = new Promise<void>((r) => (bothEnded = r));
  await tab.node.spawn(
    () =>
      new Watcher(victim, inPlace, (c) => {
        if (codes.push(c) === 2) bothEnded();
      }),
  );
  await placed;
  assert.equal(await erl.eval('exit(whereis(victim), shutdown), ok'), 'ok');
  await ended;
  assert.deepEqual(codes, [TerminateReasonShutdown.code, TerminateReasonShutdown.code]);

  // An Erlang process links to and monitors the tab process (its call after both answers once
  // both are in place); the session's end is `noconnection` for both.
  assert.equal(await erl.eval(`${P}, tab_peer:watch(P)`), '2');
  const from = erl.lines.length;
  assert.ok(gw.disconnect(tab.name));
  const pidRe = `<\\d+\\.${box.id}\\.\\d+>`;
  await erl.waitFor(new RegExp(`^WATCH down ${pidRe} noconnection$`), from);
  await erl.waitFor(new RegExp(`^WATCH exit ${pidRe} noconnection$`), from);
});
