// The project model: the command line's declarations turned into a checked tree of applications
// and processes, with every name the generated code will use. All of Ergo's rules hold (a parent
// is declared before its children, names are unique) plus the ones that keep the output
// compiling and running: names are TypeScript identifiers that clash with nothing the templates
// use, only an application, a supervisor or an actor-like process has children (Ergo lets a pool
// or a server have children that nothing ever starts), and an application has members.

import { CreateError, CreateErrorCode } from './errors.js';
import type { ParamSpec } from './params.js';

/** Kinds of things the options declare. */
export type ItemKind = 'app' | 'sup' | 'actor' | 'pool' | 'web' | 'tcp' | 'udp' | 'msg';

/** The option that declares each kind (for messages). */
export const KIND_OPTION: Record<ItemKind, string> = {
  app: '--with-app',
  sup: '--with-sup',
  actor: '--with-actor',
  pool: '--with-pool',
  web: '--with-web',
  tcp: '--with-tcp',
  udp: '--with-udp',
  msg: '--with-msg',
};

/** One declaration, as parsed from the command line (or built by the questions). */
export interface Declaration {
  kind: ItemKind;
  spec: ParamSpec;
}

export type SupType = 'OneForOne' | 'AllForOne' | 'RestForOne' | 'SimpleOneForOne';
export type Strategy = 'Transient' | 'Temporary' | 'Permanent';
export type AppMode = 'Temporary' | 'Transient' | 'Permanent';

/** A declared application, process or message, with the names the generator uses. */
export interface Item {
  kind: ItemKind;
  /** The class (or app) name as written: `MyActor`. */
  name: string;
  /** Lower-cased name: file name, registered process name, application name. */
  lo: string;
  parent: Item | undefined;
  children: Item[];
  /** The application this item belongs to (itself for an app), if any. */
  app: Item | undefined;
  /** Source file, relative to the project root, without extension: `src/apps/myapp/myactor`. */
  file: string;
  /** Worker class of a pool, web or UDP server (`MyPoolWorker`, `MyWebWebWorker`, `MyUdpUDPWorker`). */
  worker?: { name: string; file: string };
  mode?: AppMode;
  supType?: SupType;
  strategy?: Strategy;
  host?: string;
  port?: number;
  tls?: boolean;
  /** A web server that also accepts WebSocket connections on /ws (@ergo-ts/websocket). */
  websocket?: boolean;
  size?: number;
}

/** Logger names `--with-logger` accepts (Ergo's). */
export const LOGGERS = ['colored', 'rotate'] as const;
/** A logger `--with-logger` accepts (`colored` or `rotate`). */
export type LoggerName = (typeof LOGGERS)[number];

/** Stores `--entity-store` accepts. */
export const ENTITY_STORES = ['sqlite', 'postgres'] as const;
/** Where the entities keep their state: SQLite (node:sqlite, a file) or PostgreSQL. */
export type EntityStoreName = (typeof ENTITY_STORES)[number];

/** A durable entity kind of the project (`--with-entity Cart`): `src/entities/cart.ts`. */
export interface EntityItem {
  name: string;
  /** Lower-cased name: the kind's name and file name. */
  lo: string;
  /** Source file, relative to the project root, without extension. */
  file: string;
}

/** What the command line (or the questions) asked for. */
export interface ProjectOptions {
  /** Node name as given: `MyNode` or `my-node`, optionally with `{module:...,tls,host:...}`. */
  name: ParamSpec;
  declarations: Declaration[];
  loggers: LoggerName[];
  observer: boolean;
  /** `--tls` (same as the node name's `tls` parameter). */
  tls: boolean;
  /** `--with-entity` names (none when absent). */
  entities?: string[];
  /** `--with-workflow` names (none when absent). */
  workflows?: string[];
  /** `--entity-store` (default sqlite). */
  entityStore?: EntityStoreName | undefined;
  /** The command line, for the README. */
  commandLine: string;
}

/** The checked project. */
export interface Project {
  /** Node name without host: `MyNode`. */
  nodeName: string;
  /** Host part of the default node name (`localhost` unless `host:` was given). */
  host: string;
  /** npm package name and directory name. */
  packageName: string;
  /** Go import path of the message types (`#<module>/<Type>`), from `module:` or the package name. */
  module: string;
  tls: boolean;
  loggers: LoggerName[];
  observer: boolean;
  /** Every item in declaration order. */
  items: Item[];
  /** Durable entity kinds (`--with-entity`), in order. */
  entities: EntityItem[];
  /** Durable workflows (`--with-workflow`), in order: `src/workflows/<lo>.ts`. */
  workflows: EntityItem[];
  entityStore: EntityStoreName;
  commandLine: string;
}

const TS_RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'as implements interface let package private protected public static yield any boolean constructor declare get ' +
    'module require number set string symbol type from of async await never unknown object bigint'
  ).split(' '),
);

// Identifiers the templates import or rely on in the same module as a user's class, and common
// globals a class name would shadow.
const TEMPLATE_NAMES = new Set(
  (
    'Actor Supervisor SupervisorType SupervisorStrategy SupervisorSpec Pool PoolOptions WebWorker PID Ref Node ' +
    'NodeOptions ApplicationBehavior ApplicationMode createApplication startNode MessageTCP MessageTCPConnect ' +
    'MessageTCPDisconnect MessageUDP WebHandler createWebServer createTCPServer createUDPServer createCertManager ' +
    'registerType roundTrip spawnTest startTestNode IncomingMessage ServerResponse Stop TerminateReasonNormal ' +
    'LogLevel NetworkMode ProcessID certificate nodeConfig NodeConfig start assert test describe ' +
    'Array Boolean Date Error Function JSON Map Math Number Object Promise Proxy Reflect RegExp Set String Symbol ' +
    'WeakMap WeakSet Buffer URL process console globalThis undefined NaN Infinity'
  ).split(' '),
);

// File names the generator uses for itself (src/<lo>.ts, test/<lo>.test.ts).
const RESERVED_FILES = new Set(['node', 'messages', 'tls', 'index']);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Checks that `name` can be a class name in the generated code.
 * @throws CreateError ERR_CREATE_IDENTIFIER naming the option and the rule broken.
 */
export function checkIdentifier(name: string, option: string): void {
  if (!IDENTIFIER.test(name))
    throw new CreateError(
      CreateErrorCode.Identifier,
      `${option} ${JSON.stringify(name)}: not a valid TypeScript identifier (letters, digits and _, not starting with a digit)`,
    );
  if (TS_RESERVED.has(name))
    throw new CreateError(
      CreateErrorCode.Identifier,
      `${option} ${name}: a TypeScript reserved word cannot name a class`,
    );
  if (TEMPLATE_NAMES.has(name))
    throw new CreateError(
      CreateErrorCode.Identifier,
      `${option} ${name}: the generated code already uses this name (an ergo-ts or global name); choose another`,
    );
  if (RESERVED_FILES.has(name.toLowerCase()))
    throw new CreateError(
      CreateErrorCode.Identifier,
      `${option} ${name}: the generated project uses the file ${name.toLowerCase()}.ts itself; choose another`,
    );
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function paramKeys(kind: ItemKind): readonly string[] {
  switch (kind) {
    case 'app':
      return ['mode'];
    case 'sup':
      return ['type', 'strategy'];
    case 'pool':
      return ['size'];
    case 'web':
      return ['host', 'port', 'tls', 'websocket'];
    case 'tcp':
      return ['host', 'port', 'tls'];
    case 'udp':
      return ['host', 'port'];
    case 'actor':
    case 'msg':
      return [];
  }
}

function where(d: Declaration): string {
  return `${KIND_OPTION[d.kind]} ${d.spec.parent !== undefined ? `${d.spec.parent}:` : ''}${d.spec.name}`;
}

function stringParam(d: Declaration, key: string): string | undefined {
  const v = d.spec.params.get(key);
  if (v === true)
    throw new CreateError(CreateErrorCode.Param, `${where(d)}: parameter ${key} needs a value (${key}:...)`);
  return v;
}

function choice<T extends string>(d: Declaration, key: string, choices: Record<string, T>, fallback: T): T {
  const v = stringParam(d, key);
  if (v === undefined) return fallback;
  const c = choices[v];
  if (c === undefined)
    throw new CreateError(
      CreateErrorCode.Param,
      `${where(d)}: ${key}:${v} is not one of ${Object.keys(choices).join(', ')}`,
    );
  return c;
}

function intParam(d: Declaration, key: string, fallback: number, min: number, max: number): number {
  const v = stringParam(d, key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max)
    throw new CreateError(CreateErrorCode.Param, `${where(d)}: ${key}:${v} must be an integer from ${min} to ${max}`);
  return n;
}

function flagParam(d: Declaration, key: string): boolean {
  const v = d.spec.params.get(key);
  if (v === undefined) return false;
  if (v === true || v === 'true') return true;
  if (v === 'false') return false;
  throw new CreateError(CreateErrorCode.Param, `${where(d)}: ${key} is a flag (write ${key} or ${key}:false)`);
}

/** Kinds that may have children, and how the children are started. */
function canParent(kind: ItemKind): boolean {
  // An app and a supervisor list them in their spec; an actor and a TCP server (an actor) spawn
  // them in init. Pools (pool, web, UDP) forward their mail to workers and have no other children.
  return kind === 'app' || kind === 'sup' || kind === 'actor' || kind === 'tcp';
}

/**
 * Checks the options and builds the project model.
 * @throws CreateError with one of {@link CreateErrorCode}: the first problem found, in command-line order.
 */
export function buildProject(options: ProjectOptions): Project {
  const nodeSpec = options.name;
  const nodeName = nodeSpec.name;
  if (nodeSpec.parent !== undefined)
    throw new CreateError(
      CreateErrorCode.NodeName,
      `node name ${JSON.stringify(`${nodeSpec.parent}:${nodeName}`)}: a node has no parent`,
    );
  if (!NODE_NAME.test(nodeName) || nodeName.length > 200)
    throw new CreateError(
      CreateErrorCode.NodeName,
      `node name ${JSON.stringify(nodeName)}: use letters, digits, "_", "." and "-", starting with a letter or digit (the host goes in {host:...})`,
    );
  for (const key of nodeSpec.params.keys())
    if (!['module', 'tls', 'host'].includes(key))
      throw new CreateError(
        CreateErrorCode.Param,
        `node name ${nodeName}: unknown parameter ${key} (module, tls, host)`,
      );
  const nodeDecl: Declaration = { kind: 'actor', spec: nodeSpec };
  const moduleParam = stringParam(nodeDecl, 'module');
  const host = stringParam(nodeDecl, 'host') ?? 'localhost';
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(host))
    throw new CreateError(CreateErrorCode.Param, `node name ${nodeName}: host:${host} is not a host name`);
  const module = (moduleParam ?? nodeName.toLowerCase()).replace(/\/+$/, '');
  const base = module.split('/').pop() ?? '';
  const packageName = base.toLowerCase();
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(packageName) || module === '' || /\s/.test(module))
    throw new CreateError(
      CreateErrorCode.Param,
      `node name ${nodeName}: module:${module} does not end in a usable npm package name (lower-case letters, digits, ".", "_", "-")`,
    );
  const tls = options.tls || flagParam(nodeDecl, 'tls');

  const byName = new Map<string, Item>();
  const taken = new Map<string, string>(); // lower-case name → who took it
  const take = (lo: string, what: string, d: Declaration): void => {
    const other = taken.get(lo);
    if (other !== undefined)
      throw new CreateError(
        CreateErrorCode.DuplicateName,
        `${where(d)}: duplicate name: ${what} clashes with ${other} (names are compared in lower case: they become file and process names)`,
      );
    taken.set(lo, `${what} (${where(d)})`);
  };
  const items: Item[] = [];
  for (const d of options.declarations) {
    const { name, parent: parentName } = d.spec;
    checkIdentifier(name, KIND_OPTION[d.kind]);
    const allowed = paramKeys(d.kind);
    for (const key of d.spec.params.keys())
      if (!allowed.includes(key))
        throw new CreateError(
          CreateErrorCode.Param,
          `${where(d)}: unknown parameter ${key}${allowed.length > 0 ? ` (${allowed.join(', ')})` : ' (it takes none)'}`,
        );
    let parent: Item | undefined;
    if (parentName !== undefined) {
      if (d.kind === 'app')
        throw new CreateError(CreateErrorCode.BadParent, `${where(d)}: an application has no parent`);
      if (d.kind === 'msg') throw new CreateError(CreateErrorCode.BadParent, `${where(d)}: a message has no parent`);
      parent = byName.get(parentName);
      if (parent === undefined)
        throw new CreateError(
          CreateErrorCode.UnknownParent,
          `${where(d)}: unknown parent ${parentName} (declare it earlier on the command line)`,
        );
      if (!canParent(parent.kind))
        throw new CreateError(
          CreateErrorCode.BadParent,
          `${where(d)}: ${parentName} is ${parent.kind === 'msg' ? 'a message' : `a ${parent.kind === 'pool' ? 'pool' : `${parent.kind} server (a pool)`}`}; only an application, a supervisor, an actor or a TCP server can have children`,
        );
    }
    const lo = name.toLowerCase();
    take(lo, name, d);
    const app = d.kind === 'app' ? undefined : parent?.kind === 'app' ? parent : parent?.app;
    const dir = app !== undefined ? `src/apps/${app.lo}` : 'src';
    const item: Item = {
      kind: d.kind,
      name,
      lo,
      parent,
      children: [],
      app,
      file: d.kind === 'app' ? `src/apps/${lo}/${lo}` : d.kind === 'msg' ? 'src/messages' : `${dir}/${lo}`,
    };
    if (d.kind === 'app') item.app = item;
    const workerSuffix =
      d.kind === 'pool' ? 'Worker' : d.kind === 'web' ? 'WebWorker' : d.kind === 'udp' ? 'UDPWorker' : '';
    if (workerSuffix !== '') {
      const workerName = `${name}${workerSuffix}`;
      take(workerName.toLowerCase(), `${workerName} (the worker of ${name})`, d);
      take(`${lo}_worker`, `${lo}_worker.ts (the file of ${workerName})`, d);
      item.worker = { name: workerName, file: `${dir}/${lo}_worker` };
    }
    switch (d.kind) {
      case 'app':
        item.mode = choice<AppMode>(
          d,
          'mode',
          { temp: 'Temporary', perm: 'Permanent', trans: 'Transient' },
          'Transient',
        );
        break;
      case 'sup':
        item.supType = choice<SupType>(
          d,
          'type',
          { ofo: 'OneForOne', afo: 'AllForOne', rfo: 'RestForOne', sofo: 'SimpleOneForOne' },
          'OneForOne',
        );
        item.strategy = choice<Strategy>(
          d,
          'strategy',
          { trans: 'Transient', temp: 'Temporary', perm: 'Permanent' },
          'Transient',
        );
        break;
      case 'pool':
        item.size = intParam(d, 'size', 3, 1, 10_000);
        break;
      case 'web':
      case 'tcp':
      case 'udp':
        item.host = stringParam(d, 'host') ?? 'localhost';
        item.port = intParam(d, 'port', d.kind === 'web' ? 9090 : 7654, 0, 65535);
        item.tls = d.kind === 'udp' ? false : flagParam(d, 'tls');
        if (d.kind === 'web') item.websocket = flagParam(d, 'websocket');
        break;
      case 'actor':
      case 'msg':
        break; // no parameters beyond the name
      default: {
        const unknownKind: never = d.kind;
        throw new Error(`unhandled item kind ${String(unknownKind)}`);
      }
    }
    parent?.children.push(item);
    byName.set(name, item);
    items.push(item);
  }
  for (const item of items)
    if (item.kind === 'app' && item.children.length === 0)
      throw new CreateError(
        CreateErrorCode.Empty,
        `--with-app ${item.name}: an application needs at least one member (it would fail to load): add one, e.g. --with-actor ${item.name}:${item.name}Worker`,
      );
  for (const item of items)
    if (item.kind === 'sup' && item.children.length === 0)
      throw new CreateError(
        CreateErrorCode.Empty,
        `--with-sup ${item.name}: a supervisor needs at least one child (ergo-ts refuses an empty children list): add one, e.g. --with-actor ${item.name}:${item.name}Worker`,
      );
  for (const logger of options.loggers)
    if (!(LOGGERS as readonly string[]).includes(logger))
      throw new CreateError(
        CreateErrorCode.Logger,
        `--with-logger ${String(logger)}: unknown logger name (colored, rotate)`,
      );
  const entityStore = options.entityStore ?? 'sqlite';
  if (!(ENTITY_STORES as readonly string[]).includes(entityStore))
    throw new CreateError(
      CreateErrorCode.Param,
      `--entity-store ${String(entityStore)}: unknown store (${ENTITY_STORES.join(', ')})`,
    );
  if (
    options.entityStore !== undefined &&
    (options.entities ?? []).length === 0 &&
    (options.workflows ?? []).length === 0
  )
    throw new CreateError(
      CreateErrorCode.Param,
      `--entity-store ${entityStore}: add an entity kind with --with-entity`,
    );
  const entities: EntityItem[] = [];
  for (const name of options.entities ?? []) {
    checkIdentifier(name, '--with-entity');
    const lo = name.toLowerCase();
    const other = taken.get(lo) ?? (entities.some((e) => e.lo === lo) ? `--with-entity ${name}` : undefined);
    if (other !== undefined)
      throw new CreateError(
        CreateErrorCode.DuplicateName,
        `--with-entity ${name}: duplicate name: it clashes with ${other} (names are compared in lower case: they become file and kind names)`,
      );
    entities.push({ name, lo, file: `src/entities/${lo}` });
  }
  const workflows: EntityItem[] = [];
  for (const name of options.workflows ?? []) {
    checkIdentifier(name, '--with-workflow');
    const lo = name.toLowerCase();
    const other =
      taken.get(lo) ??
      (entities.some((e) => e.lo === lo) || workflows.some((w) => w.lo === lo)
        ? `--with-entity or --with-workflow ${name}`
        : undefined);
    if (other !== undefined)
      throw new CreateError(
        CreateErrorCode.DuplicateName,
        `--with-workflow ${name}: duplicate name: it clashes with ${other} (names are compared in lower case: they become file and kind names)`,
      );
    workflows.push({ name, lo, file: `src/workflows/${lo}` });
  }
  return {
    nodeName,
    host,
    packageName,
    module,
    tls,
    loggers: [...new Set(options.loggers)],
    observer: options.observer,
    items,
    entities,
    workflows,
    entityStore,
    commandLine: options.commandLine,
  };
}

/** True when the project starts the entities runtime (entity kinds or workflows). */
export function usesEntities(project: Project): boolean {
  return project.entities.length > 0 || project.workflows.length > 0;
}

/** True when the item runs as soon as the node is up (every ancestor starts its children). */
export function startsWithNode(item: Item): boolean {
  for (let p = item.parent; p !== undefined; p = p.parent) {
    if (p.kind === 'sup' && p.supType === 'SimpleOneForOne') return false;
  }
  return item.kind !== 'msg' && item.kind !== 'app';
}

/** Whether any web server accepts WebSocket connections (the project then depends on @ergo-ts/websocket). */
export function usesWebsocket(project: Project): boolean {
  return project.items.some((i) => i.websocket === true);
}

/** Whether any process or the node uses TLS (then `src/tls.ts` holds the certificate). */
export function usesTls(project: Project): boolean {
  return project.tls || project.items.some((i) => i.tls === true);
}

/**
 * A process that runs once the node is up, to call `'ping'` (every generated process answers
 * `'pong'`, pools through their workers): the first non-supervisor in declaration order, else
 * the first supervisor; undefined when the project has no process.
 */
export function pingTarget(project: Project): Item | undefined {
  const running = project.items.filter(startsWithNode);
  return running.find((i) => i.kind !== 'sup') ?? running[0];
}

/** The node's default full name, `<Name>@<host>`. */
export function defaultNodeNameOf(project: Project): string {
  return `${project.nodeName}@${project.host}`;
}
