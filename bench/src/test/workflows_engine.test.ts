// The plumbing of the workflows suite's IPC engines (lib/workflows_engine.ts, net/workflows_serve.ts)
// with a fake worker, no engine or database: a request reaches the worker and its answer (or its
// error) comes back; a crash kills the worker with SIGKILL and the next request is served by a
// fresh process; the step log reads back what the steps wrote. Without this, the kill -9 row could
// "resume" in the process it claims to have killed.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { IpcWorker, ipcEngine, readStepLog } from '../lib/workflows_engine.js';

const serve = fileURLToPath(new URL('../net/workflows_serve.js', import.meta.url));

/** A worker answering steps with n, failing on n < 0, and logging step 'a' of each started sleeper. */
function fakeWorker(dir: string): string {
  const file = join(dir, 'fake_worker.mjs');
  writeFileSync(
    file,
    `import { logStep, serveWorker } from ${JSON.stringify(serve)};
serveWorker({
  steps: async (_id, n) => { if (n < 0) throw new Error('negative n'); return n; },
  nap: async (_id, ms) => ms / 1000,
  start: async (id) => { logStep(id, 'a'); },
});
`,
  );
  return file;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a request gets its answer, a failure its error message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-engine-test-'));
  const worker = new IpcWorker(fakeWorker(dir), { WF_LOG: join(dir, 'steps.log') });
  try {
    assert.equal(await worker.request({ op: 'steps', id: 'x', n: 3 }), 3);
    assert.equal(await worker.request({ op: 'nap', id: 'y', ms: 2000 }), 2);
    await assert.rejects(worker.request({ op: 'steps', id: 'z', n: -1 }), /negative n/);
  } finally {
    await worker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('crash() kills the worker and the next request is served by a new process; the step log reads back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wf-engine-test-'));
  const log = join(dir, 'steps.log');
  const engine = await ipcEngine(fakeWorker(dir), { WF_LOG: log });
  try {
    await engine.startSleeper('before', 0);
    await engine.crash();
    await engine.afterRound?.();
    await engine.startSleeper('after', 0);
    const runs = readStepLog(log);
    assert.deepEqual(
      runs.map((r) => [r.id, r.step]),
      [
        ['before', 'a'],
        ['after', 'a'],
      ],
    );
    assert.notEqual(runs[0]!.pid, runs[1]!.pid);
    assert.equal(alive(runs[0]!.pid), false, 'the crashed worker is gone');
    assert.ok(runs.every((r) => Number.isFinite(r.at) && r.at > 0));
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
