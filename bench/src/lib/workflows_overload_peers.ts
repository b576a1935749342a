// Restate's and DBOS' columns of the workflows overload suite (suites/workflows_overload.ts), the
// same 3-step workflow as ergo-ts' (net/workflows_overload_kinds.ts), each step writing one
// `effects` row through the user's pool to a PostgreSQL 15 (fsync on) started for the child.
//
// - Restate: restate-server from npm (lib/workflows_restate.ts finds it), started here on free
//   ports with every setting at its default, the SDK worker net/workflows_overload_restate.ts. The
//   client is the bench child over HTTP/1.1 (a keep-alive agent, up to 1,024 sockets: the client
//   never runs out of them before the server answers): `POST /oload/<id>/run/send` — the start,
//   answered once the invocation is stored; a non-2xx answer is a refusal under `HTTP <status>` —
//   then `GET /restate/workflow/oload/<id>/attach`, which answers the result.
// - DBOS: the application net/workflows_overload_dbos.ts in a child process (client: IPC to it, as
//   the workflows suite's DBOS column), its system database on the same server as `effects`.

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Pool } from 'pg';

import { IpcWorker, freePort, pause } from './workflows_engine.js';
import { Refused, type OverloadTarget } from './workflows_open_loop.js';

const NET = join(dirname(fileURLToPath(import.meta.url)), '..', 'net');

/** Waits until `url` answers 2xx, at most `withinMs`; throws when `server` exits meanwhile. */
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

/** One HTTP/1.1 request through `agent`: the status and the body's text. */
function request(
  agent: http.Agent,
  url: string,
  method: 'GET' | 'POST',
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      { method, agent, headers: data === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** Starts restate-server (`bin`) and the overload SDK worker; the steps write to `effects` at `effectsUrl`. */
export async function startRestateOverload(
  bin: string,
  version: string,
  effectsUrl: string,
  effects: Pool,
): Promise<OverloadTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'ergo-bench-restate-overload-'));
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
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  let worker: IpcWorker | undefined;
  const stop = async (): Promise<void> => {
    agent.destroy();
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
    worker = new IpcWorker(join(NET, 'workflows_overload_restate.js'), {
      RESTATE_SDK_PORT: String(sdk),
      RESTATE_LOGGING: 'ERROR',
      WF_EFFECTS_URL: effectsUrl,
    });
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
    what: `${version} (every setting at its default) + the TypeScript SDK in a child process; client: HTTP/1.1 to the ingress, run/send then attach; effects on PostgreSQL 15 fsync on`,
    effects,
    async load(_tag, id) {
      let sent: { status: number; text: string };
      try {
        sent = await request(agent, `${at}/oload/${id}/run/send`, 'POST', {});
      } catch (e) {
        throw new Refused(`${(e as { code?: string }).code ?? 'request failed'}`, (e as Error).message);
      }
      if (sent.status < 200 || sent.status > 299) throw new Refused(`HTTP ${sent.status}`, sent.text);
      const res = await request(agent, `${at}/restate/workflow/oload/${id}/attach`, 'GET');
      if (res.status < 200 || res.status > 299) throw new Error(`attach: HTTP ${res.status} ${res.text}`);
    },
    close: stop,
  };
}

/** Starts the DBOS overload application on the system database `url`, its steps writing to `effectsUrl`. */
export async function startDbosOverload(
  url: string,
  version: string,
  effectsUrl: string,
  effects: Pool,
): Promise<OverloadTarget> {
  const worker = new IpcWorker(join(NET, 'workflows_overload_dbos.js'), { WF_PG_URL: url, WF_EFFECTS_URL: effectsUrl });
  await worker.whenReady();
  return {
    what: `DBOS Transact ${version} (every setting at its default) in a child process, client: IPC to it (startWorkflow, getResult); PostgreSQL 15 fsync on`,
    effects,
    async load(_tag, id) {
      try {
        await worker.request({ op: 'steps', id, n: 3 });
      } catch (e) {
        const text = (e as Error).message;
        if (text.startsWith('start refused: '))
          throw new Refused(/ERR_[A-Z0-9_]+/.exec(text)?.[0] ?? 'start refused', text);
        throw e;
      }
    },
    close: () => worker.close(),
  };
}
