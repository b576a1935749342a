// @ergo-ts/eslint-plugin: ESLint rules for ergo-ts code. One rule so far, `workflow-determinism`
// (workflow_determinism.ts): the clock, randomness, timers and I/O in a workflow body, reported
// with the `ctx` operation to use instead. Flat config only (ESLint 9 and 10).

import { createRequire } from 'node:module';

import type { ESLint, Linter, Rule } from 'eslint';

import { workflowDeterminism } from './workflow_determinism.js';

export { workflowDeterminism, type WorkflowDeterminismOptions } from './workflow_determinism.js';

/** The plugin: its rules, and a `recommended` flat config that turns them on as errors. */
export interface ErgoPlugin extends ESLint.Plugin {
  readonly meta: { readonly name: string; readonly version: string };
  readonly rules: { readonly 'workflow-determinism': Rule.RuleModule };
  readonly configs: { readonly recommended: Linter.Config };
}

const rules = { 'workflow-determinism': workflowDeterminism };

/** This package's version (dist/src/index.js → the package's own manifest). */
const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/**
 * The plugin object for a flat config: `plugins: { '@ergo-ts': ergo }` then
 * `rules: { '@ergo-ts/workflow-determinism': 'error' }`, or spread `ergo.configs.recommended`.
 */
const plugin: ErgoPlugin = {
  meta: { name: '@ergo-ts/eslint-plugin', version },
  rules,
  configs: {
    recommended: {
      name: '@ergo-ts/recommended',
      plugins: { '@ergo-ts': { rules } },
      rules: { '@ergo-ts/workflow-determinism': 'error' },
    },
  },
};

export default plugin;
