// Runs Temporal's feature suite (a checkout of `temporalio/features`, outside this repository)
// on ergo-ts: each `features/**/feature.ts` is copied to a work folder with only its imports
// rewritten (`@temporalio/<pkg>` → `@ergo-ts/temporal/<pkg>`, `@temporalio/harness` → this
// package's harness), loaded by Node's type stripping, and run by the harness on a fresh ergo-ts
// node and in-memory store; each feature is reported passed, failed (with why) or not applicable
// (tied to Temporal's transport or payload format, with what corresponds here).

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { startNode } from 'ergo-ts';
import { MemoryStore } from '@ergo-ts/entities';

import { Connection } from '../client/connection.js';
import { FeatureSource, Runner } from './harness.js';

/** Features tied to Temporal's transport or wire formats, and what corresponds on ergo-ts. */
export const NOT_APPLICABLE: Readonly<Record<string, string>> = {
  'client/http_proxy':
    "an HTTP CONNECT proxy for a client's gRPC connection, from a forked process: a compat Connection names an environment of its own process (no network hop to proxy); a client elsewhere is an ergo-ts node (a runtime with role 'client') dialing the members by Ergo's protocol with mutual TLS (docs/deploy.md), not through an HTTP proxy",
  'client/http_proxy_auth': 'the same, with proxy authentication',
  'client/http_proxy_nativeconn': "the same for the worker's native connection",
  'client/http_proxy_nativeconn_auth': 'the same, with proxy authentication',
  'data_converter/binary':
    "Temporal's payload bytes in its history (binary/plain): values are kept by the store's codec (structuredCodec keeps a Uint8Array as it is)",
  'data_converter/binary_protobuf': "protobuf payloads and Temporal's proto package: the store's codec",
  'data_converter/json_protobuf': "protobuf JSON payloads and Temporal's proto package: the store's codec",
  'data_converter/codec':
    'a PayloadCodec over Temporal\'s payload protos: a StoreCodec of your own (entities.md, "What state can hold")',
  'data_converter/failure':
    "a FailureConverter's encoded attributes in Temporal's history: the journal's stored error (chain, stacks, details) is fixed",
  'data_converter/empty':
    "the payload bytes of an undefined activity input in Temporal's history: the journal keeps the step's value",
  'data_converter/json': "json/plain payload bytes read from Temporal's history through its proto package",
  'schedule/cron':
    "a cron workflow (start option cronSchedule) checked through Temporal's raw gRPC WorkflowService and proto enums: a Schedule with spec `@every 2s` (cronSchedule on start is refused, ERR_TEMPORAL_UNSUPPORTED)",
};

/** The Temporal packages and what they become. */
const PACKAGES = ['workflow', 'activity', 'client', 'worker', 'common', 'harness'];

/**
 * `source` with its imports pointing at files: `@temporalio/<pkg>` at this package's `<pkg>`,
 * `@grpc/grpc-js` (read for its `status` codes) at the harness, which has them; other bare
 * specifiers (`ms`) resolved from here, since the copy lives outside any node_modules.
 */
export function rewriteImports(source: string): string {
  return source.replace(
    /(\bfrom\s*|\bimport\s*\(\s*)(['"])([^'"./][^'"]*)\2/g,
    (whole, lead: string, q: string, spec: string) => {
      const m = /^@temporalio\/([a-z-]+)$/.exec(spec);
      let to: string | undefined;
      if (m !== null && PACKAGES.includes(m[1]!)) to = import.meta.resolve(`@ergo-ts/temporal/${m[1]}`);
      else if (spec === '@grpc/grpc-js') to = import.meta.resolve('@ergo-ts/temporal/harness');
      else if (!spec.startsWith('@temporalio/') && !spec.startsWith('node:'))
        try {
          to = import.meta.resolve(spec);
        } catch {
          to = undefined; // left as it is: the feature reports the missing module
        }
      return to === undefined ? whole : `${lead}${q}${to}${q}`;
    },
  );
}

/** One feature's outcome. */
export interface FeatureOutcome {
  readonly feature: string;
  readonly result: 'pass' | 'fail' | 'n/a';
  readonly why?: string;
  readonly ms: number;
}

type Transpile = (source: string) => string;

/**
 * TypeScript's own transpiler when it is installed (a type imported without `import type` is
 * dropped, as the suite's tsc build drops it), else none: Node strips the types of the `.mts` copy.
 */
async function transpiler(): Promise<Transpile | undefined> {
  try {
    const ts = (await import('typescript')).default;
    return (source) =>
      ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      }).outputText;
  } catch {
    return undefined;
  }
}

/** Copies every feature of `suite` (the `features/` folder of a checkout) into `work`, imports rewritten. */
export async function prepare(suite: string, work: string): Promise<FeatureSource[]> {
  const sources = await FeatureSource.findAll(suite, 'feature.ts');
  const transpile = await transpiler();
  const file = transpile === undefined ? 'feature.mts' : 'feature.mjs';
  const out: FeatureSource[] = [];
  for (const s of sources) {
    const target = join(work, s.relDir, file);
    await mkdir(dirname(target), { recursive: true });
    const text = rewriteImports(await readFile(s.path, 'utf8'));
    await writeFile(target, transpile === undefined ? text : transpile(text));
    out.push(new FeatureSource(s.relDir, dirname(target), file));
  }
  return out;
}

let nodes = 0;

/** Runs one prepared feature on a fresh node and in-memory store, within `timeoutMs`. */
export async function runFeature(source: FeatureSource, timeoutMs = 60_000): Promise<FeatureOutcome> {
  const t0 = Date.now();
  const na = NOT_APPLICABLE[source.relDir];
  if (na !== undefined) return { feature: source.relDir, result: 'n/a', why: na, ms: 0 };
  const address = `tf${process.pid}x${++nodes}@localhost`;
  const node = await startNode(address, { log: { level: 'error' } });
  const store = new MemoryStore();
  let runner: Runner | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Connection.connect({ node, store, address, entitiesOptions: { stopTimeoutMs: 2_000 } });
    runner = await Runner.create(source, { address, namespace: 'default', taskQueue: source.relDir });
    const r = runner;
    await Promise.race([
      r.run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no end within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { feature: source.relDir, result: 'pass', ms: Date.now() - t0 };
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown };
    const why = `${typeof e?.code === 'string' ? `${e.code}: ` : ''}${String(e?.message ?? err)}`.split('\n')[0]!;
    return { feature: source.relDir, result: 'fail', why, ms: Date.now() - t0 };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    await runner?.close().catch(() => undefined);
    await node.stop().catch(() => undefined);
    Connection.forget(address);
  }
}
