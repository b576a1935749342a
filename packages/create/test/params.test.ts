// Unit tests of the parameter syntax ([Parent:]Name{k:v,flag}), the command line and the model's
// rules, each error with its stable code.

import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';

import { parseCliArgs } from '../src/args.js';
import { CreateError, CreateErrorCode } from '../src/errors.js';
import { buildProject, pingTarget, startsWithNode, type Project } from '../src/model.js';
import { commandLine } from '../src/create.js';
import { parseParamSpec } from '../src/params.js';
import { type Answers, ask, defaultAnswers } from '../src/prompts.js';

function fails(fn: () => unknown, code: CreateErrorCode, text?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CreateError, `a CreateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (text !== undefined) assert.match(err.message, text);
    return true;
  });
}

function project(...argv: string[]): Project {
  const o = parseCliArgs(argv);
  return buildProject({
    name: o.name ?? parseParamSpec('MyNode', 'node name'),
    declarations: o.declarations,
    loggers: o.loggers,
    observer: o.observer,
    tls: o.tls,
    commandLine: argv.join(' '),
  });
}

describe('parameter syntax', () => {
  test('name, parent, values, flags, in order', () => {
    const s = parseParamSpec('MySup:MyActor{a:1,flag,b: x }', '--with-actor');
    assert.equal(s.parent, 'MySup');
    assert.equal(s.name, 'MyActor');
    assert.deepEqual(
      [...s.params],
      [
        ['a', '1'],
        ['flag', true],
        ['b', 'x'],
      ],
    );
    assert.deepEqual(parseParamSpec('Plain', 'x'), { parent: undefined, name: 'Plain', params: new Map() });
    assert.deepEqual([...parseParamSpec('W{}', 'x').params], []);
  });

  test('a quoted value keeps its commas; a value keeps everything after the first colon', () => {
    const s = parseParamSpec('W{host:"a,b",url:http://x:1}', 'x');
    assert.equal(s.params.get('host'), 'a,b');
    assert.equal(s.params.get('url'), 'http://x:1');
  });

  test('syntax errors', () => {
    fails(() => parseParamSpec('', '--with-actor'), CreateErrorCode.Syntax, /name is empty/);
    fails(() => parseParamSpec('P:', '--with-actor'), CreateErrorCode.Syntax, /name is empty/);
    fails(() => parseParamSpec(':A', '--with-actor'), CreateErrorCode.Syntax, /empty parent/);
    fails(() => parseParamSpec('A:B:C', '--with-actor'), CreateErrorCode.Syntax, /more than one/);
    fails(() => parseParamSpec('A{x:1', '--with-actor'), CreateErrorCode.Syntax, /must end with "}"/);
    fails(() => parseParamSpec('A}', '--with-actor'), CreateErrorCode.Syntax, /without "{"/);
    fails(() => parseParamSpec('A{x:{1}}', '--with-actor'), CreateErrorCode.Syntax, /unbalanced/);
    fails(() => parseParamSpec('A{x:1,x:2}', '--with-actor'), CreateErrorCode.Syntax, /given twice/);
    fails(() => parseParamSpec('A{:1}', '--with-actor'), CreateErrorCode.Syntax, /without a key/);
    fails(() => parseParamSpec('A{x:"1}', '--with-actor'), CreateErrorCode.Syntax, /unterminated quote/);
  });
});

describe('command line', () => {
  test('Ergo spellings: -with-app, --with-app=, --init, flags', () => {
    const o = parseCliArgs([
      '-init',
      'N{tls}',
      '-with-app',
      'A',
      '--with-actor=A:B',
      '--with-observer',
      '--with-logger',
      'rotate',
      '--tls',
      '--force',
      '-y',
      '--path',
      'out',
    ]);
    assert.equal(o.name?.name, 'N');
    assert.deepEqual(
      o.declarations.map((d) => [d.kind, d.spec.parent, d.spec.name]),
      [
        ['app', undefined, 'A'],
        ['actor', 'A', 'B'],
      ],
    );
    assert.ok(o.observer && o.tls && o.force && o.yes && o.shaped);
    assert.deepEqual(o.loggers, ['rotate']);
    assert.equal(o.path, 'out');
    assert.equal(parseCliArgs(['N']).shaped, false);
  });

  test('option errors', () => {
    fails(() => parseCliArgs(['--with-nothing', 'X']), CreateErrorCode.Option, /unknown option/);
    fails(() => parseCliArgs(['--with-actor']), CreateErrorCode.Option, /needs a value/);
    fails(() => parseCliArgs(['--with-actor', '--tls']), CreateErrorCode.Option, /needs a value/);
    fails(() => parseCliArgs(['A', 'B']), CreateErrorCode.Option, /already given/);
    fails(() => parseCliArgs(['--tls=1']), CreateErrorCode.Option, /takes no value/);
  });
});

describe('project rules', () => {
  test("Ergo's errors: unknown parent (declared later counts as unknown), duplicate name", () => {
    fails(() => project('--with-actor', 'Nope:A'), CreateErrorCode.UnknownParent, /unknown parent Nope/);
    fails(() => project('--with-actor', 'S:A', '--with-sup', 'S'), CreateErrorCode.UnknownParent);
    fails(() => project('--with-actor', 'A', '--with-pool', 'A'), CreateErrorCode.DuplicateName, /duplicate name/);
    // Names become file and process names: lower-case clashes are duplicates too...
    fails(() => project('--with-actor', 'Abc', '--with-actor', 'ABC'), CreateErrorCode.DuplicateName);
    // ...and so are the worker classes a pool, web or UDP server brings.
    fails(() => project('--with-pool', 'P', '--with-actor', 'PWorker'), CreateErrorCode.DuplicateName, /worker of P/);
    fails(() => project('--with-web', 'W', '--with-actor', 'WWebWorker'), CreateErrorCode.DuplicateName);
  });

  test('names must be TypeScript identifiers that clash with nothing generated', () => {
    fails(() => project('--with-actor', 'my-actor'), CreateErrorCode.Identifier, /not a valid TypeScript identifier/);
    fails(() => project('--with-actor', '1st'), CreateErrorCode.Identifier);
    fails(() => project('--with-actor', 'class'), CreateErrorCode.Identifier, /reserved word/);
    fails(() => project('--with-actor', 'Actor'), CreateErrorCode.Identifier, /already uses/);
    fails(() => project('--with-msg', 'Map'), CreateErrorCode.Identifier, /already uses/);
    fails(() => project('--with-actor', 'Node'), CreateErrorCode.Identifier);
    fails(() => project('--with-actor', 'Messages'), CreateErrorCode.Identifier, /messages\.ts/);
  });

  test("children only where something starts them (not Ergo's never-started children of pools)", () => {
    fails(() => project('--with-pool', 'P', '--with-actor', 'P:A'), CreateErrorCode.BadParent, /pool/);
    fails(() => project('--with-web', 'W', '--with-actor', 'W:A'), CreateErrorCode.BadParent);
    fails(() => project('--with-udp', 'U', '--with-actor', 'U:A'), CreateErrorCode.BadParent);
    fails(() => project('--with-msg', 'M', '--with-actor', 'M:A'), CreateErrorCode.BadParent, /message/);
    fails(
      () => project('--with-actor', 'A', '--with-app', 'A:X'),
      CreateErrorCode.BadParent,
      /application has no parent/,
    );
    fails(() => project('--with-app', 'X', '--with-msg', 'X:M'), CreateErrorCode.BadParent);
    const p = project(
      '--with-actor',
      'A',
      '--with-actor',
      'A:B',
      '--with-tcp',
      'T',
      '--with-sup',
      'T:S',
      '--with-actor',
      'S:C',
    );
    assert.deepEqual(
      p.items.map((i) => `${i.name}<${i.parent?.name ?? ''}`),
      ['A<', 'B<A', 'T<', 'S<T', 'C<S'],
    );
  });

  test('an application or a supervisor without children is refused (it could not start)', () => {
    fails(() => project('--with-app', 'A'), CreateErrorCode.Empty, /at least one member/);
    fails(() => project('--with-sup', 'S'), CreateErrorCode.Empty, /at least one child/);
  });

  test('parameters: choices, integers, flags, unknown keys, websocket', () => {
    const p = project(
      '--with-app',
      'A{mode:perm}',
      '--with-sup',
      'A:S{type:sofo,strategy:temp}',
      '--with-actor',
      'S:W',
      '--with-web',
      'Web{host:0.0.0.0,port:8080,tls}',
      '--with-pool',
      'P{size:5}',
      '--with-udp',
      'U',
    );
    const by = new Map(p.items.map((i) => [i.name, i]));
    assert.equal(by.get('A')?.mode, 'Permanent');
    assert.equal(by.get('S')?.supType, 'SimpleOneForOne');
    assert.equal(by.get('S')?.strategy, 'Temporary');
    assert.deepEqual([by.get('Web')?.host, by.get('Web')?.port, by.get('Web')?.tls], ['0.0.0.0', 8080, true]);
    assert.equal(by.get('P')?.size, 5);
    assert.deepEqual([by.get('U')?.host, by.get('U')?.port], ['localhost', 7654]);
    assert.equal(by.get('W')?.file, 'src/apps/a/w');
    assert.equal(startsWithNode(by.get('W')!), false, 'children of a simple one-for-one start on demand');
    assert.equal(pingTarget(p)?.name, 'Web');
    fails(
      () => project('--with-sup', 'S{type:xyz}', '--with-actor', 'S:A'),
      CreateErrorCode.Param,
      /type:xyz is not one of ofo/,
    );
    fails(() => project('--with-pool', 'P{size:0}'), CreateErrorCode.Param, /integer from 1/);
    fails(() => project('--with-web', 'W{port:http}'), CreateErrorCode.Param);
    fails(() => project('--with-tcp', 'T{tls:maybe}'), CreateErrorCode.Param, /is a flag/);
    fails(() => project('--with-web', 'W{port}'), CreateErrorCode.Param, /needs a value/);
    fails(() => project('--with-actor', 'A{size:3}'), CreateErrorCode.Param, /takes none/);
    fails(() => project('--with-udp', 'U{tls}'), CreateErrorCode.Param, /unknown parameter tls/);
    // Ergo's tool advertises websocket and ignores it; here it adds a WebSocket endpoint.
    assert.equal(project('--with-web', 'W{websocket}').items[0]?.websocket, true);
    assert.equal(project('--with-web', 'W').items[0]?.websocket, false);
    fails(() => project('--with-tcp', 'T{websocket}'), CreateErrorCode.Param, /unknown parameter websocket/);
  });

  test('node name, module, host, logger', () => {
    const p = project('Shop{module:github.com/acme/Shop-Node,host:example.com,tls}', '--with-actor', 'A');
    assert.deepEqual(
      [p.nodeName, p.packageName, p.module, p.host, p.tls],
      ['Shop', 'shop-node', 'github.com/acme/Shop-Node', 'example.com', true],
    );
    assert.equal(project('MyNode').packageName, 'mynode');
    fails(() => project('my node'), CreateErrorCode.NodeName);
    fails(() => project('a@b'), CreateErrorCode.NodeName, /host goes in/);
    fails(() => project('N{port:1}'), CreateErrorCode.Param, /unknown parameter port/);
    fails(() => project('N{module:a/B C}'), CreateErrorCode.Param);
    fails(() => project('--with-logger', 'fancy'), CreateErrorCode.Logger, /unknown logger name/);
  });
});

describe('questions and the command line they stand for', () => {
  async function answer(name: string | undefined, lines: string[]): Promise<Answers> {
    const input = new PassThrough();
    const output = new PassThrough();
    output.resume();
    const pending = ask(name, input, output);
    input.end(lines.map((l) => `${l}\n`).join(''));
    return pending;
  }

  test('Enter takes every default: the same project as --yes', async () => {
    const a = await answer(undefined, ['', '', '', '', '', '', '', '']);
    assert.deepEqual(a.args, defaultAnswers().args);
    assert.equal(a.tls, false);
    assert.equal(a.observer, false);
    assert.equal(a.observer, parseCliArgs(['N', '--yes']).observer, 'the default of the non-interactive path');
  });

  test('the Observer question: "y" adds --with-observer, and the project starts the Observer', async () => {
    const output = new PassThrough();
    let asked = '';
    output.on('data', (c: Buffer) => (asked += c.toString()));
    const input = new PassThrough();
    const pending = ask('Shop', input, output);
    input.end(['', '', '', '', '', 'n', 'y'].map((l) => `${l}\n`).join(''));
    const a = await pending;
    assert.match(asked, /Observer web UI \(@ergo-ts\/observer on localhost:9911\)\? y\/n \(n\): $/);
    assert.equal(a.observer, true);
    assert.equal(a.tls, false);
    assert.deepEqual(a.args, [...defaultAnswers('Shop').args, '--with-observer']);
    assert.deepEqual(a.declarations, defaultAnswers('Shop').declarations);
    // The command line it stands for makes the same project.
    const again = parseCliArgs(a.args);
    assert.equal(again.observer, true);
    assert.equal(project(...a.args).observer, true);
    const no = await answer('Shop', ['', '', '', '', '', 'y', 'n']);
    assert.deepEqual([no.observer, no.tls], [false, true]);
    assert.ok(!no.args.includes('--with-observer'));
  });

  test('answers become options: "-" is none, names are split on spaces', async () => {
    const a = await answer('Shop', ['-', 'Root{type:afo}', 'A B', 'Api{port:8080}', 'Order', 'y']);
    assert.deepEqual(a.args, [
      'Shop',
      '--with-sup',
      'Root{type:afo}',
      '--with-actor',
      'Root:A',
      '--with-actor',
      'Root:B',
      '--with-web',
      'Api{port:8080}',
      '--with-msg',
      'Order',
      '--tls',
    ]);
    assert.equal(a.tls, true);
    assert.deepEqual(
      a.declarations.map((d) => `${d.kind}:${d.spec.parent ?? ''}:${d.spec.name}`),
      ['sup::Root', 'actor:Root:A', 'actor:Root:B', 'web::Api', 'msg::Order'],
    );
  });

  test('the README command line: name first, then --, without --path/--force/--yes', () => {
    assert.equal(
      commandLine(['--path', 'out', '--with-sup', 'S{type:sofo}', 'N{tls}', '--force', '--with-actor', 'S:A']),
      "npm create ergo-ts@latest 'N{tls}' -- --with-sup 'S{type:sofo}' --with-actor S:A",
    );
    assert.equal(commandLine(['--init=N', '-y']), 'npm create ergo-ts@latest N');
    assert.equal(commandLine(['-init', 'N', '-with-app', 'A']), 'npm create ergo-ts@latest N -- -with-app A');
    assert.equal(
      commandLine(['N{tls}'], defaultAnswers('N')),
      `npm create ergo-ts@latest 'N{tls}' -- ${defaultAnswers().args.slice(1).join(' ')}`,
    );
  });
});
