#!/usr/bin/env node
// ergo-temporal-features <features folder> [feature...]: runs Temporal's feature suite on ergo-ts
// (run.ts) and prints one line per feature, then the counts. The folder is the `features/` of a
// checkout of temporalio/features (not part of this repository); the rewritten copies go to a
// work folder under the system's temp folder, removed when the run ends (an interrupt too). Exits
// 1 when a feature failed.

import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { prepare, runFeature, type FeatureOutcome } from './run.js';

const [suite, ...only] = process.argv.slice(2);
if (suite === undefined) {
  process.stderr.write('usage: ergo-temporal-features <features folder> [feature...]\n');
  process.exit(2);
}
// The suite asks the namespace's capabilities; the one it reads: a shut-down worker leaves no
// workflow task failed or timed out (there are none: a stopped runtime hands its instances off).
process.env.FEATURE_NAMESPACE_CAPABILITIES ??= JSON.stringify({ workerPollCompleteOnShutdown: true });

const work = await mkdtemp(join(tmpdir(), 'ergo-temporal-features-'));
// Removed however the run ends: normally, by process.exit, or interrupted (SIGINT, SIGTERM).
process.once('exit', () => rmSync(work, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
const sources = (await prepare(resolve(suite), work)).filter((s) => only.length === 0 || only.includes(s.relDir));
const outcomes: FeatureOutcome[] = [];
for (const s of sources) {
  const o = await runFeature(s);
  outcomes.push(o);
  process.stdout.write(`${o.result.padEnd(4)} ${o.feature}${o.why === undefined ? '' : ` — ${o.why}`} (${o.ms} ms)\n`);
}
const count = (r: FeatureOutcome['result']): number => outcomes.filter((o) => o.result === r).length;
process.stdout.write(
  `\n${outcomes.length} features: ${count('pass')} pass, ${count('fail')} fail, ${count('n/a')} not applicable\n`,
);
process.exitCode = count('fail') > 0 ? 1 : 0;
