// The feature-suite runner: a feature file written as Temporal's suite writes them (its imports
// `@temporalio/*`), copied with its imports rewritten and run by the harness on a fresh node; one
// that passes, one whose check fails, one tied to Temporal's transport reported not applicable.

import { strict as assert } from 'node:assert';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { prepare, rewriteImports, runFeature } from '../src/features/run.js';

const dir = await mkdtemp(join(tmpdir(), 'temporal-features-test-'));
after(() => rm(dir, { recursive: true, force: true }));

const FEATURE = (expected: string): string => `
import * as assert from 'assert';
import { Feature } from '@temporalio/harness';
import * as wf from '@temporalio/workflow';
const go = wf.defineSignal<[string]>('go');
export async function workflow(): Promise<string> {
  let got = '';
  wf.setHandler(go, (s: string) => { got = s; });
  await wf.condition(() => got !== '');
  return got;
}
export const feature = new Feature({
  workflow,
  checkResult: async (runner, handle) => {
    await handle.signal(go, 'hello');
    assert.equal(await runner.waitForRunResult(handle), '${expected}');
  },
});
`;

test('imports are rewritten to this package, other code untouched', () => {
  const out = rewriteImports(
    `import * as wf from '@temporalio/workflow';\nimport { x } from './local';\nconst s = '@temporalio/workflow';`,
  );
  assert.match(out, /from 'file:[^']*temporal\/dist\/src\/workflow\/index\.js'/);
  assert.match(out, /from '\.\/local'/);
  assert.match(out, /const s = '@temporalio\/workflow'/, 'a string that is not an import stays');
});

test("proto3-json-serializer and patch-protobuf-root's imports go to this package's modules", () => {
  const out = rewriteImports(
    `import { fromProto3JSON } from 'proto3-json-serializer';\nimport { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';`,
  );
  assert.match(out, /from 'file:[^']*temporal\/dist\/src\/proto\/proto3_json\.js'/);
  assert.match(out, /from 'file:[^']*temporal\/dist\/src\/proto\/lib\/patch-protobuf-root\.js'/);
});

test("a feature's sibling modules, its JSON files and require.resolve: a data converter named by path", async () => {
  const suite = join(dir, 'dc-features');
  const folder = join(suite, 'data_converter', 'mine');
  await mkdir(folder, { recursive: true });
  await writeFile(
    join(folder, 'failure_converter.ts'),
    `import { DefaultFailureConverter } from '@temporalio/common';\nexport const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });\n`,
  );
  await writeFile(
    join(folder, 'expected.json'),
    JSON.stringify({ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'Mg==' }),
  );
  await writeFile(
    join(folder, 'feature.ts'),
    `
import * as assert from 'assert';
import { Feature } from '@temporalio/harness';
import { JSONToPayload } from '@temporalio/common/lib/proto-utils';
import { decode } from '@temporalio/common/lib/encoding';
import expected from './expected.json';
export async function workflow(n: number): Promise<number> {
  if (n > 1) throw new Error('too big');
  return n + 1;
}
export const feature = new Feature({
  workflow,
  workflowStartOptions: { args: [1] },
  dataConverter: { failureConverterPath: require.resolve('./failure_converter') },
  async checkResult(runner, handle) {
    assert.equal(await handle.result(), 2);
    assert.deepEqual(await runner.getWorkflowResultPayload(handle), JSONToPayload(expected));
    const failed = await runner.client.workflow.start(workflow, { workflowId: 'big', taskQueue: 'x', args: [5] });
    await assert.rejects(failed.result());
    const events = await runner.getHistoryEvents(failed);
    const f = events.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes?.failure;
    assert.equal(f?.message, 'Encoded failure');
    assert.equal(JSON.parse(decode(f?.encodedAttributes?.data ?? new Uint8Array())).message, 'too big');
  },
});
`,
  );
  const [source] = await prepare(suite, join(dir, 'dc-work'));
  const result = await runFeature(source!, 20_000);
  assert.equal(result.result, 'pass', result.why);
});

test('a feature passes, a failing check fails with its reason, a transport feature is not applicable', async () => {
  const suite = join(dir, 'features');
  for (const [name, text] of [
    ['signal/ok', FEATURE('hello')],
    ['signal/wrong', FEATURE('bye')],
    ['client/http_proxy', FEATURE('hello')],
  ] as const) {
    await mkdir(join(suite, name), { recursive: true });
    await writeFile(join(suite, name, 'feature.ts'), text);
  }
  const sources = await prepare(suite, join(dir, 'work'));
  assert.deepEqual(
    sources.map((s) => s.relDir),
    ['client/http_proxy', 'signal/ok', 'signal/wrong'],
  );
  const results = [];
  for (const s of sources) results.push(await runFeature(s, 20_000));
  assert.equal(results[0]!.result, 'n/a');
  assert.equal(results[1]!.result, 'pass', results[1]!.why);
  assert.equal(results[2]!.result, 'fail');
  assert.match(results[2]!.why ?? '', /hello/);
});
