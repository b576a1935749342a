// Runs Temporal's feature suite (a checkout of `temporalio/features`, outside this repository)
// on ergo-ts: each `features/**/feature.ts` is copied to a work folder with only its imports
// rewritten (`@temporalio/<pkg>` → `@ergo-ts/temporal/<pkg>`, `@temporalio/harness` → this
// package's harness), loaded by Node's type stripping, and run by the harness on a fresh ergo-ts
// node and in-memory store; each feature is reported passed, failed (with why) or not applicable
// (tied to Temporal's transport or payload format, with what corresponds here).

import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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
};

/** The Temporal packages and what they become. */
const PACKAGES = ['workflow', 'activity', 'client', 'worker', 'common', 'harness', 'proto'];

/** This package's module at `@ergo-ts/temporal/<path>`, or undefined when it has none there. */
function ours(path: string): string | undefined {
  try {
    return import.meta.resolve(`@ergo-ts/temporal/${path}`);
  } catch {
    return undefined;
  }
}

/**
 * `source` with its imports pointing at files: `@temporalio/<pkg>[/<path>]` at this package's
 * module of the same path (`common/lib/encoding`...), `@grpc/grpc-js` (read for its `status`
 * codes) at the harness, which has them; `proto3-json-serializer` (not Temporal's: an npm package
 * the suite imports) at this package's proto3 JSON mapping (proto/proto3_json.ts), which reads
 * this package's reflection; other bare specifiers (`ms`) resolved from here, since the copy lives
 * outside any node_modules. A JSON file's import gets its `type: 'json'` attribute,
 * as Node asks of a module.
 */
export function rewriteImports(source: string): string {
  const json = source.replace(
    /(\bimport\s+[\w$]+\s+from\s*)(['"])(\.{1,2}\/[^'"]+\.json)\2(\s*;)?/g,
    (_whole, lead: string, q: string, spec: string) => `${lead}${q}${spec}${q} with { type: 'json' };`,
  );
  return json.replace(
    /(\bfrom\s*|\bimport\s*\(\s*)(['"])([^'"./][^'"]*)\2/g,
    (whole, lead: string, q: string, spec: string) => {
      const m = /^@temporalio\/([a-z-]+)((?:\/[\w.-]+)*)$/.exec(spec);
      let to: string | undefined;
      if (m !== null && PACKAGES.includes(m[1]!)) to = ours(`${m[1]}${m[2]}`);
      else if (spec === '@grpc/grpc-js') to = import.meta.resolve('@ergo-ts/temporal/harness');
      else if (spec === 'proto3-json-serializer') to = import.meta.resolve('@ergo-ts/temporal/proto3-json-serializer');
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

/**
 * A module's text for the copy: imports rewritten, and — when it calls `require` (the suite's
 * `require.resolve('./failure_converter')`) — a `require` of its own made by `createRequire`,
 * since the copy is an ES module.
 */
function moduleText(source: string): string {
  const text = rewriteImports(source);
  if (!/\brequire\s*[.(]/.test(text) || /\b(const|let|var)\s+require\b/.test(text)) return text;
  return `import { createRequire as __ergoCreateRequire } from 'node:module';\nconst require = __ergoCreateRequire(import.meta.url);\n${text}`;
}

/**
 * Copies every feature of `suite` (the `features/` folder of a checkout) into `work`: each
 * `feature.ts` and the other TypeScript files of its folder (a converter module it names) with
 * imports rewritten, as `.js` files of an ES-module folder (so `require.resolve('./x')` finds
 * them), and its `.json` files as they are.
 */
export async function prepare(suite: string, work: string): Promise<FeatureSource[]> {
  const sources = await FeatureSource.findAll(suite, 'feature.ts');
  const transpile = await transpiler();
  const ext = transpile === undefined ? '.mts' : '.js';
  await mkdir(work, { recursive: true });
  await writeFile(join(work, 'package.json'), '{ "type": "module" }\n');
  const out: FeatureSource[] = [];
  for (const s of sources) {
    const dir = join(work, s.relDir);
    await mkdir(dir, { recursive: true });
    for (const f of await readdir(s.absDir)) {
      if (f.endsWith('.json')) await copyFile(join(s.absDir, f), join(dir, f));
      else if (f.endsWith('.ts') && !f.endsWith('.d.ts')) {
        const text = moduleText(await readFile(join(s.absDir, f), 'utf8'));
        await writeFile(join(dir, f.slice(0, -3) + ext), transpile === undefined ? text : transpile(text));
      }
    }
    out.push(new FeatureSource(s.relDir, dir, `feature${ext}`));
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
