// The `workflow-determinism` rule: reports, inside the body function given to
// `defineWorkflow(name, body, …)` (or `defineWorkflow(name, options, body)`), the calls whose
// result changes between a run and its replay — the clock, randomness, timers, I/O, the entities
// reached through `ctx.entities` — each with the `ctx` operation to use instead. A workflow body runs again from the top on every resume and is
// matched to its journal by position, so such a call takes another branch on replay, caught only
// then (ERR_WORKFLOW_DIVERGED) or never (a value that differs silently). Functions the body hands
// to `ctx.step`, `ctx.compensate`, `ctx.onQuery` or a step's `compensate` option are not the body:
// they may do anything. The rule reads syntax and scopes only (no type information), so it works
// with any parser; it follows the body function and the functions written inside it, not helpers
// the body calls by name from elsewhere.

import type { Rule, Scope } from 'eslint';
import type * as ESTree from 'estree';

/** A node with its parent (ESLint sets `parent` on every node but the Program). */
type Node = ESTree.Node & { parent?: Node | null };
type Fn = (ESTree.FunctionDeclaration | ESTree.FunctionExpression | ESTree.ArrowFunctionExpression) & {
  parent?: Node | null;
};

/** What a reported call does, which names its message and its replacement. */
type Kind = 'clock' | 'random' | 'uuid' | 'timer' | 'io' | 'entities';

/** The calls reported, by their path once globals and imports are resolved (see {@link pathOf}). */
const CALLS: Readonly<Record<string, Kind>> = {
  'Date.now': 'clock',
  'performance.now': 'clock',
  'process.hrtime': 'clock',
  'process.hrtime.bigint': 'clock',
  'Math.random': 'random',
  'crypto.getRandomValues': 'random',
  'crypto.randomBytes': 'random',
  'crypto.randomInt': 'random',
  'crypto.randomUUID': 'uuid',
  setTimeout: 'timer',
  setInterval: 'timer',
  setImmediate: 'timer',
  fetch: 'io',
};

/** Node modules whose every use is I/O (without their `node:` prefix). */
const IO_MODULES: ReadonlySet<string> = new Set([
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'dns/promises',
  'tls',
  'child_process',
]);

/** Names of the global object itself: `globalThis.Date.now()` is `Date.now()`. */
const GLOBAL_OBJECTS: ReadonlySet<string> = new Set(['globalThis', 'global', 'window', 'self']);

/** The `ctx` methods whose function arguments are not the body (steps, compensations, query handlers). */
const HANDLER_METHODS: ReadonlySet<string> = new Set(['step', 'compensate', 'onQuery']);

/** How the body names its context: `ctx`, or the methods it destructured (`{ step }`). */
interface CtxNames {
  readonly name: string | undefined;
  /** Local name → the context method it is (`{ step: s }` maps `s` to `step`). */
  readonly methods: ReadonlyMap<string, string>;
}

/** A call found in the file; reported at the end if it is in a body and not in a handler. */
interface Found {
  readonly node: Node;
  readonly kind: Kind;
  readonly call: string;
  /** Reported only when this is the body's context's name (`ctx.entities`). */
  readonly ctx?: string;
}

/** What an identifier names: a global, an import (with its resolved path, if it is one the rule knows), or a local. */
type Binding =
  | { readonly kind: 'global' }
  | {
      readonly kind: 'import';
      /** The name imported (undefined for a default or namespace import). */
      readonly imported: string | undefined;
      readonly path: string | undefined;
    }
  | { readonly kind: 'local'; readonly variable: Scope.Variable };

/** The rule's options. */
export interface WorkflowDeterminismOptions {
  /** Names of the functions that declare a workflow (default `['defineWorkflow']`; imports renamed from it count too). */
  readonly functions?: readonly string[];
}

const isFunction = (n: Node | null | undefined): n is Fn =>
  n !== null &&
  n !== undefined &&
  (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression');

/** A member's property name when it is written statically (`a.b`, `a['b']`). */
function propertyName(m: ESTree.MemberExpression): string | undefined {
  if (!m.computed && m.property.type === 'Identifier') return m.property.name;
  if (m.computed && m.property.type === 'Literal' && typeof m.property.value === 'string') return m.property.value;
  return undefined;
}

/** The path an import binding stands for: `crypto.randomUUID` for `import { randomUUID } from 'node:crypto'`. */
function importPath(source: string, imported: string | undefined): string | undefined {
  const whole = imported === undefined || imported === 'default';
  switch (source) {
    case 'crypto':
      return whole ? 'crypto' : `crypto.${imported}`;
    case 'process':
      return whole ? 'process' : `process.${imported}`;
    case 'perf_hooks':
      return whole ? '' : imported; // `perf_hooks.performance` is `performance`
    case 'timers':
    case 'timers/promises':
      return whole ? '' : imported; // `timers.setTimeout` is `setTimeout`
    default:
      return undefined;
  }
}

const rule: Rule.RuleModule = {
  meta: {
    type: 'problem',
    docs: {
      description:
        'Disallow the clock, randomness, timers and I/O in a workflow body (they differ on replay): use the ctx operations or a step',
      recommended: true,
      url: 'https://github.com/ergo-ts/ergo-ts/blob/main/packages/eslint-plugin/README.md#workflow-determinism',
    },
    schema: [
      {
        type: 'object',
        properties: { functions: { type: 'array', items: { type: 'string' } } },
        additionalProperties: false,
      },
    ],
    messages: {
      clock: '{{call}} reads the clock in a workflow body, and a replay reads another time: use ctx.now() (journaled).',
      random: '{{call}} in a workflow body draws another value on replay: use ctx.random() (journaled), or a step.',
      uuid: '{{call}} in a workflow body makes another id on replay: use ctx.uuid() (journaled).',
      timer:
        '{{call}} in a workflow body is a timer no journal keeps (lost with the process, not replayed): use ctx.sleep(ms).',
      io: '{{call}} does I/O in a workflow body, again on every replay: do it in a step, ctx.step(name, () => …).',
      entities:
        '{{call}} in a workflow body reaches the entities again on every replay: use ctx.call(), ctx.send() or ctx.startChild() (journaled), or a step.',
    },
  },

  create(context) {
    const options = (context.options[0] ?? {}) as WorkflowDeterminismOptions;
    const names = new Set(options.functions ?? ['defineWorkflow']);
    const { sourceCode } = context;
    /** Body functions → how each names its context. */
    const bodies = new Map<Fn, CtxNames>();
    const found: Found[] = [];
    /** Functions passed by name to a handler method: the calls that take them. */
    const handlersByName = new Map<Fn, ESTree.CallExpression[]>();
    const ioImports: ESTree.ImportDeclaration[] = [];

    function binding(id: ESTree.Identifier): Binding {
      for (let scope: Scope.Scope | null = sourceCode.getScope(id); scope !== null; scope = scope.upper) {
        const v = scope.set.get(id.name);
        if (v === undefined) continue;
        const def = v.defs[0];
        if (def === undefined) return { kind: 'global' }; // declared by the configured globals
        if (def.type !== 'ImportBinding') return { kind: 'local', variable: v };
        const decl = def.parent as ESTree.ImportDeclaration & { importKind?: string };
        const spec = def.node as ESTree.ImportSpecifier & { importKind?: string };
        const source = String(decl.source.value).replace(/^node:/, '');
        const imported =
          spec.type === 'ImportSpecifier'
            ? spec.imported.type === 'Identifier'
              ? spec.imported.name
              : String(spec.imported.value)
            : undefined;
        return { kind: 'import', imported, path: importPath(source, imported) };
      }
      return { kind: 'global' };
    }

    /** `Date.now` for `Date.now`, `globalThis.Date.now` or an imported alias; undefined for anything local. */
    function pathOf(n: ESTree.Node): string | undefined {
      if (n.type === 'ChainExpression') return pathOf(n.expression);
      if (n.type === 'Identifier') {
        const b = binding(n);
        if (b.kind === 'global') return GLOBAL_OBJECTS.has(n.name) ? '' : n.name;
        return b.kind === 'import' ? b.path : undefined;
      }
      if (n.type !== 'MemberExpression' || n.object.type === 'Super') return undefined;
      const prop = propertyName(n);
      const base = prop === undefined ? undefined : pathOf(n.object);
      if (base === undefined) return undefined;
      return base === '' ? prop : `${base}.${prop}`;
    }

    /** The function an argument is: written there, or a function of this file it names. */
    function functionOf(arg: ESTree.Node | undefined): Fn | undefined {
      if (arg === undefined) return undefined;
      if (isFunction(arg as Node)) return arg as Fn;
      if (arg.type !== 'Identifier') return undefined;
      const b = binding(arg);
      if (b.kind !== 'local') return undefined;
      const def = b.variable.defs[0];
      if (def?.type === 'FunctionName') return def.node as Fn;
      if (def?.type === 'Variable') {
        const init = (def.node as ESTree.VariableDeclarator).init;
        if (init !== null && init !== undefined && isFunction(init as Node)) return init as Fn;
      }
      return undefined;
    }

    function isWorkflowDeclaration(callee: ESTree.Node): boolean {
      if (callee.type === 'MemberExpression') {
        const p = propertyName(callee);
        return p !== undefined && names.has(p);
      }
      if (callee.type !== 'Identifier') return false;
      if (names.has(callee.name)) return true;
      // `import { defineWorkflow as dw } from '@ergo-ts/entities'`
      const b = binding(callee);
      return b.kind === 'import' && b.imported !== undefined && names.has(b.imported);
    }

    function ctxNames(body: Fn): CtxNames {
      let p: ESTree.Pattern | undefined = body.params[0];
      if (p?.type === 'AssignmentPattern') p = p.left;
      const methods = new Map<string, string>();
      if (p?.type === 'ObjectPattern')
        for (const prop of p.properties) {
          if (prop.type !== 'Property' || prop.computed || prop.key.type !== 'Identifier') continue;
          let value = prop.value;
          if (value.type === 'AssignmentPattern') value = value.left;
          if (value.type === 'Identifier') methods.set(value.name, prop.key.name);
        }
      return { name: p?.type === 'Identifier' ? p.name : undefined, methods };
    }

    /** The context method a call calls (`ctx.step(…)`, or `step(…)` destructured), or undefined. */
    function ctxMethod(call: ESTree.CallExpression, ctx: CtxNames): string | undefined {
      const callee = call.callee.type === 'ChainExpression' ? call.callee.expression : call.callee;
      if (callee.type === 'Identifier') return ctx.methods.get(callee.name);
      if (callee.type !== 'MemberExpression' || ctx.name === undefined) return undefined;
      if (callee.object.type !== 'Identifier' || callee.object.name !== ctx.name) return undefined;
      return propertyName(callee);
    }

    /** True when `f` is a step, compensation or query handler of the body whose context is `ctx`. */
    function isHandler(f: Fn, ctx: CtxNames): boolean {
      const parent = f.parent;
      if (parent?.type === 'CallExpression' && parent.arguments.includes(f as ESTree.Expression)) {
        const m = ctxMethod(parent, ctx);
        if (m !== undefined && HANDLER_METHODS.has(m)) return true;
      }
      // `ctx.step(name, fn, { compensate: (result) => … })`, `ctx.call(to, req, { compensate })`
      if (parent?.type === 'Property' && parent.value === f && keyName(parent) === 'compensate') {
        const object = parent.parent;
        const call = object?.parent;
        if (
          object?.type === 'ObjectExpression' &&
          call?.type === 'CallExpression' &&
          ctxMethod(call, ctx) !== undefined
        )
          return true;
      }
      for (const call of handlersByName.get(f) ?? []) {
        const m = ctxMethod(call, ctx);
        if (m !== undefined && HANDLER_METHODS.has(m)) return true;
      }
      return false;
    }

    /** How the body names its context when `n` runs as the body's own code (in a body, in no handler of it). */
    function bodyOf(n: Node): CtxNames | undefined {
      const chain: Fn[] = [];
      for (let p = n.parent; p !== null && p !== undefined; p = p.parent) {
        if (!isFunction(p)) continue;
        const ctx = bodies.get(p);
        if (ctx !== undefined) return chain.some((f) => isHandler(f, ctx)) ? undefined : ctx;
        chain.push(p);
      }
      return undefined;
    }

    const text = (n: ESTree.Node): string => sourceCode.getText(n);

    /** The text of the member chain `id` starts (`fs.promises.readFile`), with `()` when it is called. */
    function used(id: Node): string {
      let n = id;
      while (n.parent?.type === 'MemberExpression' && n.parent.object === n) n = n.parent;
      const called = n.parent?.type === 'CallExpression' && n.parent.callee === n;
      return `${text(n)}${called ? '()' : ''}`;
    }

    return {
      CallExpression(node: ESTree.CallExpression) {
        const callee = node.callee;
        if (callee.type !== 'Super' && isWorkflowDeclaration(callee)) {
          const body = functionOf(node.arguments[1]) ?? functionOf(node.arguments[2]);
          if (body !== undefined) bodies.set(body, ctxNames(body));
        }
        // Functions handed by name (`ctx.step('pay', pay)`): whether that makes them handlers is
        // decided at the end, once every body is known.
        for (const arg of node.arguments)
          if (arg.type === 'Identifier') {
            const f = functionOf(arg);
            if (f !== undefined) handlersByName.set(f, [...(handlersByName.get(f) ?? []), node]);
          }
        if (callee.type === 'Super') return;
        const path = pathOf(callee);
        if (path === undefined) return;
        if (path === 'Date') found.push({ node: node as Node, kind: 'clock', call: `${text(callee)}()` });
        else if (Object.hasOwn(CALLS, path))
          found.push({ node: node as Node, kind: CALLS[path]!, call: `${text(callee)}()` });
      },
      MemberExpression(node: ESTree.MemberExpression) {
        // `ctx.entities…` in the body (kept if `ctx` turns out to be the body's context)
        if (node.object.type === 'Identifier' && propertyName(node) === 'entities')
          found.push({ node: node as Node, kind: 'entities', call: used(node as Node), ctx: node.object.name });
      },
      NewExpression(node: ESTree.NewExpression) {
        if (node.arguments.length === 0 && pathOf(node.callee) === 'Date')
          found.push({ node: node as Node, kind: 'clock', call: `new ${text(node.callee)}()` });
      },
      ImportDeclaration(node: ESTree.ImportDeclaration) {
        const source = String(node.source.value).replace(/^node:/, '');
        if (IO_MODULES.has(source) && (node as { importKind?: string }).importKind !== 'type') ioImports.push(node);
      },
      ImportExpression(node: ESTree.ImportExpression) {
        const s = node.source;
        if (s.type === 'Literal' && typeof s.value === 'string' && IO_MODULES.has(s.value.replace(/^node:/, '')))
          found.push({ node: node as Node, kind: 'io', call: `import(${text(s)})` });
      },
      'Program:exit'() {
        if (bodies.size === 0) return;
        for (const decl of ioImports)
          for (const v of sourceCode.getDeclaredVariables(decl))
            for (const ref of v.references) {
              const r = ref as Scope.Reference & { isValueReference?: boolean };
              if (r.isValueReference === false || !ref.isRead()) continue; // a type position (TypeScript)
              const id = ref.identifier as Node;
              found.push({ node: id, kind: 'io', call: used(id) });
            }
        for (const f of found) {
          const ctx = bodyOf(f.node);
          if (ctx !== undefined && (f.ctx === undefined || f.ctx === ctx.name))
            context.report({ node: f.node, messageId: f.kind, data: { call: f.call } });
        }
      },
    };
  },
};

/** A property's key name when it is written statically. */
function keyName(p: ESTree.Property): string | undefined {
  if (!p.computed && p.key.type === 'Identifier') return p.key.name;
  if (p.key.type === 'Literal' && typeof p.key.value === 'string') return p.key.value;
  return undefined;
}

/** The rule (registered as `@ergo-ts/workflow-determinism` by the plugin). */
export const workflowDeterminism: Rule.RuleModule = rule;
