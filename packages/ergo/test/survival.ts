// Survival tests: "nothing a peer, a client or an ignored result does may end the node's OS
// process". A scenario runs inside a node in a child OS process (survival_child.ts) with Node's
// default handling of unhandled rejections and uncaught exceptions; the test passes only if that
// process is still alive afterwards, its node answers calls, and it stops cleanly with exit 0.
//
// Writing one: export a `SurvivalScenario` from a test-support module (not a *.test.ts file) that
// provokes the failure and resolves only once the failure has happened (the client reset, the
// reply was refused, the 5 s ack timeout passed ...), then call
// `await survives(import.meta.url-of-that-module, 'exportName')` from the test. What the scenario
// resolves with (JSON) comes back for assertions, with the child's stdout (where the default
// logger writes its lines) and stderr. `survivesEach` runs several scenarios of a module one
// after another in ONE child (each proved as `survives` proves one, and the process must still
// stop cleanly after the last): scenarios that start and stop their own nodes need no process
// each, and a process per scenario costs a Node start and a load of the package.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Node } from '../src/index.js';

/** What a scenario gets: the child's node (started, with a registered `survivor_echo` actor). */
export interface SurvivalContext {
  node: Node;
}

/** A scenario: provoke one failure, resolve after it has happened; may resolve with JSON data. */
export type SurvivalScenario = (ctx: SurvivalContext) => Promise<unknown>;

/** What `survives` returns once the child proved alive and stopped cleanly. */
export interface SurvivalOutcome {
  /** The scenario's resolved value (JSON). */
  result: unknown;
  /** Everything the child wrote to stderr. */
  stderr: string;
  /** Everything the child wrote to stdout (the default logger writes there). */
  stdout: string;
}

const CHILD = fileURLToPath(new URL('./survival_child.js', import.meta.url));

/**
 * Runs `exportName` of the compiled module at `moduleUrl` in a fresh node in a child OS process;
 * resolves when the scenario finished, the process answered two pings (each a call through its
 * node, one event-loop turn apart) and stopped with exit code 0. Rejects with the child's exit
 * code/signal and stderr if it died, or with the scenario's own error if it threw.
 */
export function survives(moduleUrl: string, exportName: string, env: NodeJS.ProcessEnv = {}): Promise<SurvivalOutcome> {
  return survivesEach(moduleUrl, [exportName], env)[exportName]!;
}

/**
 * Runs the scenarios `exportNames` of the compiled module at `moduleUrl` one after another in one
 * child OS process: after each, the process must answer two pings (each a call through its node,
 * one event-loop turn apart) before the next starts, and after the last it must stop with exit
 * code 0. Each scenario's outcome (its result, and what the child wrote while it ran) resolves
 * once the child stopped cleanly. If the child dies or a scenario throws, the scenario under way
 * rejects with the reason and the child's stderr, and every other one with a pointer to it (what
 * was not proven). The returned Promises never reach `unhandledRejection` unawaited.
 */
export function survivesEach(
  moduleUrl: string,
  exportNames: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Record<string, Promise<SurvivalOutcome>> {
  const modulePath = fileURLToPath(moduleUrl);
  const child = fork(CHILD, [modulePath, ...exportNames], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execArgv: ['--enable-source-maps'],
    env: { ...process.env, NODE_OPTIONS: '', ...env },
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));

  const settle = new Map<string, { resolve: (o: SurvivalOutcome) => void; reject: (e: Error) => void }>();
  const outcomes: Record<string, Promise<SurvivalOutcome>> = {};
  for (const name of exportNames) {
    const p = new Promise<SurvivalOutcome>((resolve, reject) => settle.set(name, { resolve, reject }));
    p.catch(() => undefined); // observed by the test that awaits it; never an unhandled rejection
    outcomes[name] = p;
  }
  const passed: { name: string; outcome: SurvivalOutcome }[] = [];
  let current = 0; // the scenario under way
  let from = { stdout: 0, stderr: 0 }; // where the current scenario's output starts
  let result: unknown = null;
  let pongs = 0;
  let stopping = false;
  let ended = false;
  const fail = (why: string): void => {
    if (ended) return;
    ended = true;
    child.kill('SIGKILL');
    const culprit = exportNames[Math.min(current, exportNames.length - 1)]!;
    for (const name of exportNames) {
      const reason =
        name === culprit
          ? `survival scenario ${name}: ${why}\n--- child stderr ---\n${stderr}`
          : `survival scenario ${name}: not proven, the child it shared failed in ${culprit}: ${why}`;
      settle.get(name)!.reject(new Error(reason));
    }
  };
  child.on('error', (e) => fail(`fork failed: ${e.message}`));
  child.on('exit', (code, signal) => {
    if (stopping && code === 0) {
      ended = true;
      for (const { name, outcome } of passed) settle.get(name)!.resolve(outcome);
    } else if (stopping) fail(`stopped with exit code ${code} signal ${signal}`);
    else fail(`the child OS process died (exit code ${code}, signal ${signal})`);
  });
  child.on('message', (m: { kind: string; result?: unknown; error?: string; reply?: unknown }) => {
    if (m.kind === 'scenario-failed') return fail(`the scenario threw: ${m.error}`);
    if (m.kind === 'done') {
      result = m.result;
      pongs = 0;
      child.send({ cmd: 'ping', seq: 1 });
      return;
    }
    if (m.kind === 'pong') {
      if (m.error !== undefined) return fail(`the node did not answer a call: ${m.error}`);
      pongs++;
      // The second ping goes out after the first came back: at least one more event-loop turn
      // for a late rejection or 'error' event to surface.
      if (pongs === 1) return void setImmediate(() => child.send({ cmd: 'ping', seq: 2 }));
      passed.push({
        name: exportNames[current]!,
        outcome: { result, stdout: stdout.slice(from.stdout), stderr: stderr.slice(from.stderr) },
      });
      current++;
      from = { stdout: stdout.length, stderr: stderr.length };
      if (current < exportNames.length) child.send({ cmd: 'next' });
      else {
        stopping = true;
        child.send({ cmd: 'stop' });
      }
    }
  });
  return outcomes;
}
