// The failover workload on a highly available PostgreSQL (test-support's pg_ha.ts), shared by
// entities.workflows.pg_failover.test.ts and the bench's failover row: workflow members in child
// OS processes (pg_failover_node.ts) on the store through HAProxy; workflows that sleep across the
// fault, that wait for a signal sent during it, and chains that start one short workflow after
// another (each start and each result() asked again with the same key when it fails, as a client
// would); then a fault at the primary. It measures the fault's time line and checks the effects file
// against what the journal kept.

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { IpcCommands, eventually, ipcMessage, isKind, within, type PgHa } from '@ergo-ts/test-support';

import type { HaInput, HaOutput } from './pg_failover_node.js';

const FIXTURE = fileURLToPath(new URL('./pg_failover_node.js', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./warnings_preload.js', import.meta.url));

/** One workflow member in a child process. */
export class HaMember {
  output = '';
  /** Times (ms) at which the runtime published a write the store acknowledged, of the workflow kind. */
  readonly writes: number[] = [];
  readonly #commands: IpcCommands;
  /** Set when the process exits before {@link stop} was asked. */
  exitedEarly: string | undefined;
  #stopping = false;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.#commands = new IpcCommands(proc, name);
    proc.on('message', (m: { kind?: string; event?: { event: string; kind: string }; at?: number }) => {
      if (m.kind === 'event' && m.event?.event === 'written' && m.event.kind === 'wfha') this.writes.push(m.at!);
    });
    proc.once('exit', (code, sig) => {
      if (this.#stopping) return;
      this.exitedEarly = `${name} exited (${sig ?? String(code)})`;
      // What it printed last says why (an unhandled rejection ends a member with 1).
      console.error(`# ${this.exitedEarly}; its last output:\n${this.output.slice(-4000)}`);
    });
    const keep = (d: Buffer): void => {
      this.output += d.toString();
      if (process.env.PG_FAILOVER_VERBOSE === '1') process.stderr.write(d);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
  }

  /** Forks the member and waits until it is ready. */
  static async start(name: string, env: Record<string, string>): Promise<HaMember> {
    const proc = fork(FIXTURE, [], {
      execArgv: [...process.execArgv, '--import', PRELOAD],
      env: { ...process.env, ENT_NAME: name, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const m = new HaMember(name, proc);
    try {
      await ipcMessage(proc, isKind('ready'), `${name} ready`, 90_000);
    } catch (e) {
      await m.stop();
      throw e;
    }
    return m;
  }

  cmd(cmd: string, fields: Record<string, unknown> = {}, ms = 150_000): Promise<unknown> {
    return this.#commands.value(cmd, fields, ms);
  }

  /** A graceful stop, or a kill when it does not answer. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    try {
      await this.cmd('stop', {}, 20_000);
      await within(this.#commands.exited, `${this.name} exit`, 10_000);
    } catch {
      this.proc.kill('SIGKILL');
      await this.#commands.exited;
    }
  }
}

/**
 * Asks `f` again (the same request: same key, same signal id) until it answers, 50 ms after each
 * failure, as a client backs off; counts the failures; gives up after two minutes.
 */
export async function untilAnswered<T>(
  what: string,
  f: () => Promise<T>,
  failures: { n: number; codes: Set<string> },
): Promise<T> {
  const giveUp = Date.now() + 120_000;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      failures.n++;
      failures.codes.add(`${what}: ${String((e as { code?: unknown }).code ?? (e as Error).message).slice(0, 80)}`);
      if (Date.now() > giveUp) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** The fault at the primary. */
export type StoreFault = 'kill' | 'freeze' | 'switchover';

/** What one failover run measured. */
export interface FailoverRun {
  readonly fault: StoreFault;
  readonly old: string;
  readonly promoted: string;
  /** When the fault began (kill -9 / SIGSTOP sent, switchover asked). */
  readonly faultAt: number;
  /** When a member other than the old primary first answered Patroni's `/primary`. */
  readonly patroniPrimaryAt: number;
  /** Patroni's own promotion timestamp (`patronictl history`). */
  readonly patroniHistoryAt: number | undefined;
  /** When HAProxy routed to the new primary alone. */
  readonly routedAt: number;
  /** The first workflow write (a journaled step, a start...) acknowledged by the new primary. */
  readonly firstWriteAt: number;
  /** Workflow writes the old primary acknowledged after the fault began. */
  readonly lastOldWrites: number;
  /** The completion time of every workflow, by key. */
  readonly completedAt: ReadonlyMap<string, number>;
  /** When each workflow's first start was asked, by key (its latency: completedAt − issuedAt). */
  readonly issuedAt: ReadonlyMap<string, number>;
  /** Every workflow's input and output, by key. */
  readonly outputs: ReadonlyMap<string, { input: HaInput; output: HaOutput; go: number }>;
  /** Calls (start, result, signal) that failed and were asked again. */
  readonly failures: { n: number; codes: Set<string> };
}

/** Options of {@link runFailover}. */
export interface FailoverOptions {
  readonly fault: StoreFault;
  /** How long the fault lasts (freeze): then SIGCONT. Default 20 000. */
  readonly freezeMs?: number;
  /** Chains of short workflows started one after another, per member. Default 2. */
  readonly chains?: number;
  /** Workflows each chain completes before the fault. Default 3. */
  readonly before?: number;
  /** And the chains run at least this long before the fault, in ms (a steady rate to compare with). Default 0. */
  readonly beforeMs?: number;
  /** Workflows each chain completes after the new primary took its first workflow write. Default 3. */
  readonly after?: number;
  /** And the chains go on at least this long after the first write on the new primary, in ms. Default 0. */
  readonly afterMs?: number;
  /** A tag for the keys of this run (several runs on one cluster). */
  readonly tag: string;
  /** Called right after the fault began; the run waits for it too (a rejection fails the run). */
  readonly duringFault?: () => Promise<unknown>;
}

/**
 * One failover under load: 2 sleeping and 2 signal-waiting workflows per member, and chains of
 * short ones, then the fault; resolves once every workflow completed and the chains went on
 * `after` workflows past the first write on the new primary.
 */
export async function runFailover(ha: PgHa, members: readonly HaMember[], o: FailoverOptions): Promise<FailoverRun> {
  const failures = { n: 0, codes: new Set<string>() };
  const completedAt = new Map<string, number>();
  const issuedAt = new Map<string, number>();
  const outputs = new Map<string, { input: HaInput; output: HaOutput; go: number }>();
  const old = (await ha.primary())!;
  /** Starts `key` on `m` (asked again until answered), then waits for its result (the same). */
  const workflow = async (m: HaMember, key: string, input: HaInput, go = 0): Promise<void> => {
    issuedAt.set(key, Date.now());
    await untilAnswered('start', () => m.cmd('start', { key, req: input }), failures);
    const output = (await untilAnswered('result', () => m.cmd('result', { key }), failures)) as HaOutput;
    completedAt.set(key, Date.now());
    outputs.set(key, { input, output, go });
  };
  const long: Promise<void>[] = [];
  const waiting: { m: HaMember; key: string; go: number }[] = [];
  members.forEach((m, i) => {
    for (let j = 0; j < 2; j++)
      long.push(workflow(m, `${o.tag}-sl${i}-${j}`, { steps: 3, sleepMs: 3000, signal: false }));
    for (let j = 0; j < 2; j++) {
      const key = `${o.tag}-sg${i}-${j}`;
      waiting.push({ m, key, go: 100 + 10 * i + j });
      long.push(workflow(m, key, { steps: 3, sleepMs: 0, signal: true }, 100 + 10 * i + j));
    }
  });
  let faultAt = Infinity;
  let firstWriteAt = Infinity;
  let lastOldWrites = 0;
  let stopChains = false;
  const afterFirst = (): number => [...completedAt.values()].filter((t) => t > firstWriteAt).length;
  const chains = members.flatMap((m, i) =>
    Array.from({ length: o.chains ?? 2 }, async (_, c) => {
      for (let n = 0; !stopChains; n++)
        await workflow(m, `${o.tag}-ch${i}.${c}-${n}`, { steps: 3, sleepMs: 0, signal: false });
    }),
  );
  const chainCount = members.length * (o.chains ?? 2);
  const loadFrom = Date.now();
  await eventually(
    () => completedAt.size >= chainCount * (o.before ?? 3) && Date.now() >= loadFrom + (o.beforeMs ?? 0),
    'the chains run',
    {
      timeoutMs: 60_000 + (o.beforeMs ?? 0),
      intervalMs: 10,
    },
  );
  // The fault.
  const ms = o.fault === 'freeze' ? (o.freezeMs ?? 20_000) : 0;
  let thawed: Promise<void> = Promise.resolve();
  if (o.fault === 'kill') faultAt = ha.killPostmaster(old);
  else if (o.fault === 'freeze') {
    faultAt = Date.now();
    ha.freeze(old, true);
    thawed = new Promise((r) => setTimeout(r, ms)).then(() => ha.freeze(old, false));
  } else {
    faultAt = Date.now();
    void ha.switchover().catch((e: unknown) => (failures.codes.add(`switchover: ${String(e)}`), failures.n++));
  }
  // Settled into a value: a rejection before the run waits for it is not an unhandled one.
  const during = o.duringFault?.().then(
    () => undefined,
    (e: unknown) => ({ e }),
  );
  // The signals, sent while the primary is gone.
  const signals = waiting.map(({ m, key, go }) =>
    untilAnswered('signal', () => m.cmd('signal', { key, value: go }), failures),
  );
  const { member: promoted, at: patroniPrimaryAt } = await ha.newPrimary(old, 90_000);
  const routedAt = await ha.routedTo(promoted, 90_000);
  // Writes acknowledged after the fault but before Patroni named the new primary were the old
  // primary's last (a killed postmaster's backends live on for a moment; their commits had reached
  // the synchronous standby): the new primary takes writes only once HAProxy saw it answer /primary.
  lastOldWrites = members.reduce((n, m) => n + m.writes.filter((w) => w > faultAt && w < patroniPrimaryAt).length, 0);
  firstWriteAt = await eventually(
    () => {
      const t = Math.min(...members.flatMap((m) => m.writes.filter((w) => w > patroniPrimaryAt)));
      return Number.isFinite(t) ? t : 0;
    },
    'a workflow write after the fault',
    { timeoutMs: 90_000, intervalMs: 10 },
  );
  await Promise.all([...long, ...signals]);
  const failed = await during;
  if (failed !== undefined) throw failed.e;
  await eventually(
    () => afterFirst() >= chainCount * (o.after ?? 3) && Date.now() >= firstWriteAt + (o.afterMs ?? 0),
    'the chains go on after the failover',
    { timeoutMs: 90_000 + (o.afterMs ?? 0), intervalMs: 10 },
  );
  stopChains = true;
  await Promise.all(chains);
  await thawed;
  const history = await ha.history().catch(() => []);
  const patroniHistoryAt = history.filter((h) => h.at >= faultAt - 1000).at(-1)?.at;
  return {
    fault: o.fault,
    old: old.name,
    promoted: promoted.name,
    faultAt,
    patroniPrimaryAt,
    patroniHistoryAt,
    routedAt,
    firstWriteAt,
    lastOldWrites,
    completedAt,
    issuedAt,
    outputs,
    failures,
  };
}

/**
 * What contradicts "a step whose completion was journaled never runs again": for each workflow,
 * the run of each step the journal kept (its output) must be the step's last run in the effects
 * file (a run after it ran a step whose result was already journaled), and every output right:
 * one run per step, of that step, and the signal's value.
 */
export function violations(effects: string, outputs: FailoverRun['outputs']): { bad: string[]; reruns: number } {
  const runs = new Map<string, string[]>();
  for (const line of readFileSync(effects, 'utf8').split('\n')) {
    if (line === '') continue;
    const [key, id] = line.split(' ') as [string, string];
    runs.set(key, [...(runs.get(key) ?? []), id]);
  }
  const bad: string[] = [];
  let reruns = 0;
  for (const [key, { input, output, go }] of outputs) {
    if (output.go !== go) bad.push(`${key}: signal ${output.go}, sent ${go}`);
    if (output.steps.length !== input.steps) bad.push(`${key}: ${output.steps.length} steps`);
    output.steps.forEach((kept, i) => {
      const of = [...runs].find(([k]) => k.startsWith(`wfha/${key}/`) && k.endsWith(`/step:s${i}`))?.[1] ?? [];
      reruns += Math.max(0, of.length - 1);
      if (!kept.startsWith(`${i}:`)) bad.push(`${key} step ${i}: kept ${kept}`);
      else if (of.at(-1) !== kept) bad.push(`${key} step ${i}: journaled ${kept}, runs ${of.join(',')}`);
    });
  }
  return { bad, reruns };
}

/** Completions per second in [from, to). */
export function rate(run: FailoverRun, from: number, to: number): number {
  const n = [...run.completedAt.values()].filter((t) => t >= from && t < to).length;
  return to > from ? (n * 1000) / (to - from) : 0;
}

/** The members on `ha` (a registrar of their own), after both see both. */
export async function haMembers(
  ha: PgHa,
  o: { names: string[]; registrar: number; prefix: string; effects: string },
): Promise<HaMember[]> {
  const env = {
    ENT_REGISTRAR: String(o.registrar),
    ENT_MEMBERS: o.names.join(','),
    ENT_DB: ha.url,
    ENT_PREFIX: o.prefix,
    WF_EFFECTS: o.effects,
  };
  const members: HaMember[] = [];
  try {
    for (const n of o.names) members.push(await HaMember.start(n, env));
  } catch (e) {
    for (const m of members) await m.stop();
    throw e;
  }
  return members;
}
