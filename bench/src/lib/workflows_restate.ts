// Restate's column of the workflows suite: the server binary that npm's
// `@restatedev/restate-server` ships (its platform package holds it), started for the run on free
// ports of 127.0.0.1 with a temporary data directory and every setting at its default (a single
// node: ingress, admin, worker, log server and metadata server in one process; RocksDB WAL fsync
// on), and the workflows served by the TypeScript SDK in a child process
// (net/workflows_restate_worker.ts), registered through the admin API. The client calls the HTTP
// ingress: `POST /<workflow>/<id>/run` (waits for the result) and `…/run/send` (returns once the
// invocation is stored).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { IpcWorker, freePort, pause, type Engine } from './workflows_engine.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), '..', 'net', 'workflows_restate_worker.js');

/** The restate-server binary of this platform (from its npm package), or why there is none. */
export function restateBinary(): { bin: string; version: string } | { missing: string } {
  const pkg = `@restatedev/restate-server-${platform()}-${arch()}`;
  let bin: string;
  try {
    bin = createRequire(import.meta.url).resolve(`${pkg}/bin/restate-server`);
  } catch {
    return { missing: `${pkg} is not installed (npm install in bench/ brings @restatedev/restate-server)` };
  }
  try {
    return { bin, version: execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim() };
  } catch (e) {
    return { missing: `${bin} does not run here: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** Waits until `url` answers 2xx (the server starting up), at most `withinMs`. */
async function waitHttp(url: string, withinMs: number, server: ChildProcess): Promise<void> {
  const end = Date.now() + withinMs;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`restate-server exited (${server.exitCode}) while starting`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > end) throw new Error(`restate-server: ${url} did not answer within ${withinMs} ms`);
    await pause(50);
  }
}

/** POSTs JSON to the ingress; returns the parsed answer, throws on a non-2xx status. */
async function post(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/** Starts restate-server and the SDK worker, registers the deployment; the engine stops both. */
export async function startRestate(bin: string): Promise<Engine> {
  const dir = mkdtempSync(join(tmpdir(), 'ergo-bench-restate-'));
  const [ingress, admin, fabric, sdk] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = join(dir, 'restate.toml');
  writeFileSync(
    config,
    [
      'disable-telemetry = true',
      'log-filter = "warn"',
      `bind-address = "127.0.0.1:${fabric}"`,
      '[admin]',
      `bind-address = "127.0.0.1:${admin}"`,
      '[ingress]',
      `bind-address = "127.0.0.1:${ingress}"`,
      '',
    ].join('\n'),
  );
  const out = openSync(join(dir, 'server.log'), 'a');
  const server = spawn(
    bin,
    ['--config-file', config, '--base-dir', join(dir, 'data'), '--no-logo', '--listen-mode', 'tcp'],
    { stdio: ['ignore', out, out] },
  );
  const serverExited = new Promise<void>((r) => server.once('exit', () => r()));
  const env = { RESTATE_SDK_PORT: String(sdk), RESTATE_LOGGING: 'ERROR', WF_LOG: process.env.WF_LOG };
  let worker: IpcWorker | undefined;
  const stop = async (): Promise<void> => {
    await worker?.close();
    server.kill('SIGTERM');
    const killer = setTimeout(() => server.kill('SIGKILL'), 15_000);
    await serverExited;
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitHttp(`http://127.0.0.1:${admin}/health`, 60_000, server);
    await waitHttp(`http://127.0.0.1:${ingress}/restate/health`, 60_000, server);
    worker = new IpcWorker(WORKER, env);
    await worker.whenReady();
    const reg = await fetch(`http://127.0.0.1:${admin}/deployments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: `http://127.0.0.1:${sdk}` }),
    });
    if (!reg.ok) throw new Error(`registering the deployment: ${reg.status} ${await reg.text()}`);
  } catch (e) {
    await stop();
    throw e;
  }
  const at = `http://127.0.0.1:${ingress}`;
  return {
    steps: async (id, n) => void (await post(`${at}/steps/${id}/run`, { n })),
    nap: async (id, ms) => (await post(`${at}/nap/${id}/run`, { ms })) as number,
    startSleeper: async (id, ms) => void (await post(`${at}/sleeper/${id}/run/send`, { ms })),
    async crash() {
      // Restate keeps the journal: a new SDK process on the same address is all it needs.
      await worker!.kill();
      worker = new IpcWorker(WORKER, env);
    },
    afterRound: () => worker!.whenReady(),
    close: stop,
  };
}
