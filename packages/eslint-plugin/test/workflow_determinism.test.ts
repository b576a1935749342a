// The `workflow-determinism` rule, through ESLint's own RuleTester (run as node:test tests): what it
// reports in a workflow body and with which message, what it leaves alone (steps, compensations,
// query and outbox handlers, code outside bodies, shadowed names, type positions), on espree and on
// typescript-eslint's parser; then the plugin's recommended config through a real Linter.
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';

import { Linter, RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';

import ergo, { workflowDeterminism } from '../src/index.js';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const tester = new RuleTester({ languageOptions: { ecmaVersion: 'latest', sourceType: 'module' } });
const ts = { parser: tseslint.parser };
const head = "import { defineWorkflow } from '@ergo-ts/entities';\n";

/** One expected report: its message id and the call it names. */
const err = (messageId: string, call: string) => ({ messageId, data: { call } });

tester.run('workflow-determinism', workflowDeterminism, {
  valid: [
    // Outside any body.
    head + "const t = Date.now(); setTimeout(() => {}, 1); defineWorkflow('a', async (ctx) => ctx.now());",
    // Steps, compensations (both forms), query handlers and outbox handlers may do anything.
    head +
      `defineWorkflow('a', async (ctx) => {
        const t = await ctx.step('t', () => Date.now());
        await ctx.step('r', async () => { await fetch('https://x'); return Math.random(); }, {
          compensate: () => fetch('https://undo'),
        });
        ctx.compensate('undo', () => crypto.randomUUID());
        ctx.onQuery('age', () => Date.now() - t);
        await ctx.call({ kind: 'k', key: '1' }, 'r', { compensate: () => setTimeout(() => {}, 1) });
        await ctx.outbox('mail', { at: t });
        await ctx.step('count', () => ctx.entities.call({ kind: 'k', key: '1' }, 'count'));
        return other.entities.size;
      });`,
    head +
      `defineWorkflow('a', { outboxes: { mail: async (m) => { await fetch(m.url); } } }, async (ctx) => {
        await ctx.outbox('mail', { url: 'https://x' });
      });`,
    // A handler passed by name, declared inside the body or outside it.
    head +
      `const pay = async () => fetch('https://pay');
      defineWorkflow('a', async (ctx) => {
        const stamp = () => Date.now();
        await ctx.step('pay', pay);
        return ctx.step('stamp', stamp);
      });`,
    // A destructured context.
    head + "defineWorkflow('a', async ({ step: s }) => s('r', () => Math.random()));",
    // Shadowed names and deterministic forms.
    head +
      `defineWorkflow('a', async (ctx, input) => {
        const Date = { now: () => 1 };
        const Math = { random: () => 0.5 };
        const d = new globalThis.Date(input.at);
        return [Date.now(), Math.random(), d, new Intl.NumberFormat().format(1)];
      });`,
    // Not a workflow declaration.
    head + "define('a', async () => Date.now()); other.defineWorkflow2('a', async () => Math.random());",
    // I/O modules imported but used outside the body only; crypto used deterministically.
    head +
      `import { readFileSync } from 'node:fs';
      import { createHash } from 'node:crypto';
      const config = readFileSync('config.json', 'utf8');
      defineWorkflow('a', async (ctx) => createHash('sha256').update(config).digest('hex'));`,
    // TypeScript: a type-only use of an I/O module in a body is no I/O.
    {
      code:
        head +
        `import type { IncomingMessage } from 'node:http';
        import { type Server, createServer } from 'node:http';
        const server: Server = createServer();
        defineWorkflow('a', async (ctx, input: { req?: IncomingMessage; s?: Server }) => {
          const r: IncomingMessage | undefined = input.req;
          return ctx.step('s', async (): Promise<number> => Date.now() + (r ? 1 : 0));
        });
        export { server };`,
      languageOptions: ts,
    },
  ],
  invalid: [
    {
      code: head + "defineWorkflow('a', async (ctx) => { const t = Date.now(); await ctx.sleep(1); return t; });",
      errors: [
        {
          message:
            'Date.now() reads the clock in a workflow body, and a replay reads another time: use ctx.now() (journaled).',
        },
      ],
    },
    {
      // Every kind, after an await too, in nested functions the body runs itself.
      code:
        head +
        `defineWorkflow('a', async (ctx, items) => {
          await ctx.step('x', () => 1);
          const a = new Date();
          const b = Date();
          const c = items.map(() => Math.random());
          const d = crypto.randomUUID();
          const e = globalThis.crypto.getRandomValues(new Uint8Array(4));
          const f = performance.now() + Number(process.hrtime.bigint()) + process.hrtime()[0];
          await new Promise((resolve) => setTimeout(resolve, 10));
          const g = setInterval(() => {}, 5);
          setImmediate(() => {});
          const h = await fetch('https://api');
          return [a, b, c, d, e, f, g, h];
        });`,
      errors: [
        err('clock', 'new Date()'),
        err('clock', 'Date()'),
        err('random', 'Math.random()'),
        err('uuid', 'crypto.randomUUID()'),
        err('random', 'globalThis.crypto.getRandomValues()'),
        err('clock', 'performance.now()'),
        err('clock', 'process.hrtime.bigint()'),
        err('clock', 'process.hrtime()'),
        err('timer', 'setTimeout()'),
        err('timer', 'setInterval()'),
        err('timer', 'setImmediate()'),
        err('io', 'fetch()'),
      ],
    },
    {
      // Imports: I/O modules, crypto and timers under other names; a dynamic import.
      code:
        head +
        `import { readFile } from 'node:fs/promises';
        import * as http from 'http';
        import { randomUUID as uuid } from 'node:crypto';
        import { setTimeout as wait } from 'node:timers/promises';
        defineWorkflow('a', async (ctx) => {
          const text = await readFile('x.json', 'utf8');
          http.get('http://x');
          await wait(100);
          const fs = await import('node:fs');
          return [text, uuid(), fs];
        });`,
      errors: [
        err('io', 'readFile()'),
        err('io', 'http.get()'),
        err('timer', 'wait()'),
        err('io', "import('node:fs')"),
        err('uuid', 'uuid()'),
      ],
    },
    {
      // The options-first overload, a renamed import, a body declared by name.
      code: `import { defineWorkflow as workflow } from '@ergo-ts/entities';
        async function body(ctx) { return Math.random(); }
        export const A = workflow('a', { retry: { maxAttempts: 2 } }, body);
        export const B = workflow('b', {}, async () => Date.now());`,
      errors: [err('random', 'Math.random()'), err('clock', 'Date.now()')],
    },
    {
      // Only the body's own context's `step` takes a handler: `other.step` runs its function in the body.
      code:
        head +
        `defineWorkflow('a', async (ctx) => {
          await ctx.step('ok', () => Date.now());
          other.step('not ctx', () => Math.random());
        });`,
      errors: [err('random', 'Math.random()')],
    },
    {
      // The entities reached through the context, not in a step.
      code:
        head +
        `defineWorkflow('a', async (ctx) => {
          const n = await ctx.entities.call({ kind: 'counter', key: '1' }, 'get');
          return n + ctx.entities.node.uptime();
        });`,
      errors: [err('entities', 'ctx.entities.call()'), err('entities', 'ctx.entities.node.uptime()')],
    },
    {
      // The `functions` option: a wrapper of defineWorkflow.
      code: "export const W = myWorkflow('w', async (ctx) => setTimeout(() => {}, 1));",
      options: [{ functions: ['myWorkflow'] }],
      errors: [err('timer', 'setTimeout()')],
    },
    {
      // TypeScript, with typed parameters and a generic call.
      code:
        head +
        `export const T = defineWorkflow<{ n: number }, number>('t', async (ctx, input: { n: number }): Promise<number> => {
          const r: number = Math.random();
          return input.n + r;
        });`,
      languageOptions: ts,
      errors: [err('random', 'Math.random()')],
    },
  ],
});

test('the recommended config reports through a real Linter under the @ergo-ts prefix', () => {
  const linter = new Linter({ configType: 'flat' });
  const messages = linter.verify(
    head + "export const W = defineWorkflow('w', async (ctx) => { await ctx.sleep(1); return Date.now(); });",
    [{ languageOptions: { ecmaVersion: 'latest', sourceType: 'module' } }, ergo.configs.recommended],
  );
  assert.deepEqual(
    messages.map((m) => [m.ruleId, m.severity, m.line]),
    [['@ergo-ts/workflow-determinism', 2, 2]],
  );
  assert.match(messages[0]!.message, /^Date\.now\(\) reads the clock .* use ctx\.now\(\)/);
  assert.equal(ergo.meta.name, '@ergo-ts/eslint-plugin');
  assert.match(ergo.meta.version, /^\d+\.\d+\.\d+/);
});
