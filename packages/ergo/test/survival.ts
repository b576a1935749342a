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
// logger writes its lines) and stderr.

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
  const modulePath = fileURLToPath(moduleUrl);
  const child = fork(CHILD, [modulePath, exportName], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execArgv: ['--enable-source-maps'],
    env: { ...process.env, NODE_OPTIONS: '', ...env },
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));

  return new Promise<SurvivalOutcome>((resolve, reject) => {
    let result: unknown = null;
    let pongs = 0;
    let stopping = false;
    const fail = (why: string): void => {
      child.kill('SIGKILL');
      reject(new Error(`survival scenario ${exportName}: ${why}\n--- child stderr ---\n${stderr}`));
    };
    child.on('error', (e) => fail(`fork failed: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (stopping && code === 0) resolve({ result, stderr, stdout });
      else if (stopping) fail(`stopped with exit code ${code} signal ${signal}`);
      else fail(`the child OS process died (exit code ${code}, signal ${signal})`);
    });
    child.on('message', (m: { kind: string; result?: unknown; error?: string; reply?: unknown }) => {
      if (m.kind === 'scenario-failed') return fail(`the scenario threw: ${m.error}`);
      if (m.kind === 'done') {
        result = m.result;
        child.send({ cmd: 'ping', seq: 1 });
        return;
      }
      if (m.kind === 'pong') {
        if (m.error !== undefined) return fail(`the node did not answer a call: ${m.error}`);
        pongs++;
        // The second ping goes out after the first came back: at least one more event-loop turn
        // for a late rejection or 'error' event to surface.
        if (pongs === 1) setImmediate(() => child.send({ cmd: 'ping', seq: 2 }));
        else {
          stopping = true;
          child.send({ cmd: 'stop' });
        }
      }
    });
  });
}
