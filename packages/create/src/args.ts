// The command line of `npm create ergo-ts`. Every option of Ergo's `ergo -init` has its
// counterpart with the same value syntax; Go's single-dash spelling (`-with-app`) is accepted
// too, so a command copied from Ergo's README works after replacing `ergo -init`.

import { CreateError, CreateErrorCode } from './errors.js';
import { type Declaration, type EntityStoreName, type ItemKind, type LoggerName } from './model.js';
import { type ParamSpec, parseParamSpec } from './params.js';

/** What the command line said. */
export interface CliOptions {
  /** The node name (first positional argument or `--init`), undefined when not given. */
  name: ParamSpec | undefined;
  /** Output root: the project goes to `<path>/<package name>` (default `.`). */
  path: string;
  /** `--from`: a clone of ergo-ts or a folder of its tarballs to take the packages from (default: the registry). */
  from: string | undefined;
  force: boolean;
  /** Take the defaults instead of asking. */
  yes: boolean;
  help: boolean;
  tls: boolean;
  observer: boolean;
  loggers: LoggerName[];
  declarations: Declaration[];
  /** `--with-entity Kind` (repeatable): durable entity kinds (@ergo-ts/entities). */
  entities: string[];
  /** `--with-workflow Name` (repeatable): durable workflows (@ergo-ts/entities' defineWorkflow) and a 3-node cluster script. */
  workflows: string[];
  /** `--entity-store sqlite|postgres` (default sqlite; checked by the model). */
  entityStore: EntityStoreName | undefined;
  /** True when any option that shapes the project was given (then nothing is asked). */
  shaped: boolean;
}

const WITH: Record<string, ItemKind> = {
  'with-app': 'app',
  'with-sup': 'sup',
  'with-actor': 'actor',
  'with-pool': 'pool',
  'with-web': 'web',
  'with-tcp': 'tcp',
  'with-udp': 'udp',
  'with-msg': 'msg',
};

const FLAGS = new Set(['force', 'yes', 'y', 'help', 'h', 'tls', 'with-observer']);
const VALUED = new Set([
  'init',
  'path',
  'from',
  'with-logger',
  'with-entity',
  'with-workflow',
  'entity-store',
  ...Object.keys(WITH),
]);

/** True for an option (without its dashes) that takes a value: `init`, `path`, `from`, `with-*`. */
export function isValuedOption(key: string): boolean {
  return VALUED.has(key);
}

/**
 * Parses the arguments after `npm create ergo-ts --` (or of `create-ergo-ts`).
 * @throws CreateError ERR_CREATE_OPTION (unknown option, missing value, two node names),
 *   ERR_CREATE_SYNTAX (a value that does not parse).
 */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  const out: CliOptions = {
    name: undefined,
    path: '.',
    from: undefined,
    force: false,
    yes: false,
    help: false,
    tls: false,
    observer: false,
    loggers: [],
    declarations: [],
    entities: [],
    workflows: [],
    entityStore: undefined,
    shaped: false,
  };
  const setName = (value: string, option: string): void => {
    if (out.name !== undefined)
      throw new CreateError(
        CreateErrorCode.Option,
        `${option} ${value}: the node name was already given (${out.name.name})`,
      );
    out.name = parseParamSpec(value, option);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      setName(arg, 'node name');
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const key = eq >= 0 ? body.slice(0, eq) : body;
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (FLAGS.has(key)) {
      if (value !== undefined) throw new CreateError(CreateErrorCode.Option, `${arg}: --${key} takes no value`);
      if (key === 'force') out.force = true;
      else if (key === 'yes' || key === 'y') out.yes = true;
      else if (key === 'help' || key === 'h') out.help = true;
      else if (key === 'tls') out.tls = out.shaped = true;
      else out.observer = out.shaped = true;
      continue;
    }
    if (!VALUED.has(key)) throw new CreateError(CreateErrorCode.Option, `unknown option ${arg} (see --help)`);
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith('-') && value.length > 1))
        throw new CreateError(CreateErrorCode.Option, `--${key} needs a value`);
      i++;
    }
    if (key === 'init') setName(value, '--init');
    else if (key === 'path') out.path = value;
    else if (key === 'from') out.from = value;
    else if (key === 'with-entity') {
      out.entities.push(value); // checked by the model (an identifier, not taken)
      out.shaped = true;
    } else if (key === 'with-workflow') {
      out.workflows.push(value); // checked by the model (an identifier, not taken)
      out.shaped = true;
    } else if (key === 'entity-store') {
      out.entityStore = value as EntityStoreName; // checked by the model (sqlite, postgres)
      out.shaped = true;
    } else if (key === 'with-logger') {
      out.loggers.push(value as LoggerName); // checked by the model ("unknown logger name")
      out.shaped = true;
    } else {
      out.declarations.push({ kind: WITH[key]!, spec: parseParamSpec(value, `--${key}`) });
      out.shaped = true;
    }
  }
  return out;
}

/** The `--help` text. */
export const USAGE = `Usage: npm create ergo-ts@latest <NodeName> -- [options]
       npx create-ergo-ts <NodeName> [options]

Generates an ergo-ts node project in <path>/<package name> (the lower-cased node name).
Without options (and on a terminal) it asks a few questions; --yes takes the defaults.

Values take Ergo's syntax  [Parent:]Name{key:value,flag}  (quote them in your shell).
The parent must be declared earlier on the command line.

  <NodeName>{module:<path>,tls,host:<h>}
                        node name; module: the Go import path of the message types (and the
                        package name, its last element); tls: TLS on the node's acceptor;
                        host: default node name <NodeName>@<h> (localhost)
  --with-app Name{mode:temp|perm|trans}          application (default mode transient)
  --with-sup [P:]Name{type:ofo|afo|rfo|sofo,strategy:trans|temp|perm}
                                                 supervisor (defaults ofo, trans; intensity 2 in 5 s)
  --with-actor [P:]Name                          actor
  --with-pool [P:]Name{size:N}                   pool of N workers (default 3)
  --with-web [P:]Name{host:h,port:N,tls,websocket}
                                                 HTTP server and a pool of web workers (localhost:9090);
                                                 websocket: also WebSocket on /ws (echo)
  --with-tcp [P:]Name{host:h,port:N,tls}         TCP server actor echoing "OK" (localhost:7654)
  --with-udp [P:]Name{host:h,port:N}             UDP server and a pool of workers echoing "OK" (localhost:7654)
  --with-msg Name                                message type registered with EDF (for Go peers)
  --with-logger colored|rotate                   a logger in place of the default one (ergo-ts/logger)
  --with-observer                                the Observer application (@ergo-ts/observer, localhost:9911)
  --with-entity Name                             a durable entity kind (@ergo-ts/entities): its protocol,
                                                 class and test; the node starts the entities runtime
  --with-workflow Name                           a durable workflow (@ergo-ts/entities: two steps, a sleep,
                                                 a signal) and its test; npm run cluster starts 3 nodes
  --entity-store sqlite|postgres                 where entities keep their state (default sqlite:
                                                 entities.db in the project; postgres: ERGO_ENTITY_DB)
  --tls                                          same as the node name's tls parameter
  --path <dir>                                   output root (default .)
  --from <path>                                  take ergo-ts and its packages from a built clone of
                                                 ergo-ts (linked) or a folder of tarballs made by
                                                 \`npm run pack\` in a clone (default: the registry)
  --force                                        write into a non-empty directory
  --yes, -y                                      no questions: take the defaults
  --help, -h                                     this text

Parents: an application, a supervisor, an actor or a TCP server (actors start their children in init).

Example:
  npm create ergo-ts@latest MyNode -- --with-app MyApp --with-sup 'MyApp:MySup{type:ofo}' \\
    --with-actor MySup:MyActor --with-web 'MyWeb{port:9090}' --with-msg MyMsg
From a clone of ergo-ts (after \`npm ci\` in it), before the packages are on the registry:
  node ergo-ts/packages/create/dist/src/cli.js MyNode --from ergo-ts --with-actor MyActor
`;
