// Project-level templates: src/node.ts (the program), src/messages.ts, src/tls.ts,
// package.json, tsconfig.json, .gitignore and the README with the supervision tree and the
// command line that made the project.

import { type PackageSource } from './from.js';
import {
  type Item,
  type Project,
  defaultNodeNameOf,
  pingTarget,
  startsWithNode,
  usesEntities,
  usesWebsocket,
} from './model.js';
import { entityKindImports, entityPackageImport, renderEntityStart } from './render_entity.js';
import { importPath, startedBy } from './render_process.js';

/**
 * The options of every logger the generated node prints with: ISO times and the registered name
 * beside each PID, as the demo (examples/src/demo.ts) prints its log.
 */
const LINE_OPTIONS = "timeFormat: 'iso', includeName: true";

/**
 * The options `--with-logger` puts into startNode: the loggers replace the default one, as in
 * Ergo's template. Without `--with-logger` the console logger is the colored one without its
 * banner: levels coloured on a terminal, plain text when the output is a pipe or file (NO_COLOR
 * and FORCE_COLOR are honoured).
 */
function renderLogOptions(project: Project): string {
  if (project.loggers.length === 0)
    return `    log: {
      // ISO times, process names beside PIDs, levels coloured on a terminal (plain in a pipe or file).
      defaultLogger: { disable: true },
      loggers: [{ name: 'console', logger: createColoredLogger({ ${LINE_OPTIONS}, disableBanner: true }) }],
    },
`;
  const specs = project.loggers.map((l) =>
    l === 'colored'
      ? `        { name: 'colored', logger: createColoredLogger({ ${LINE_OPTIONS} }) },`
      : `        {
          name: 'rotate',
          // logs/${project.packageName}.log under the project; rotated hourly, 24 gzipped files kept
          logger: createRotateLogger({
            path: fileURLToPath(new URL('../../logs/', import.meta.url)),
            prefix: '${project.packageName}',
            period: 3_600_000,
            compress: true,
            depth: 24,
            ${LINE_OPTIONS},
          }),
        },`,
  );
  return `    log: {
      defaultLogger: { disable: true }, // the loggers below print instead (every line would show twice)
      loggers: [
${specs.join('\n')}
      ],
    },
`;
}

/** `src/node.ts` */
export function renderNode(project: Project): string {
  const apps = project.items.filter((i) => i.kind === 'app');
  const top = project.items.filter((i) => i.parent === undefined && i.kind !== 'app' && i.kind !== 'msg');
  const hasMsg = project.items.some((i) => i.kind === 'msg');
  const imports: string[] = [];
  for (const a of apps) imports.push(`import { create${a.name} } from '${importPath('src/node', a.file)}';`);
  if (hasMsg)
    imports.push(`import './messages.js'; // registers the message types with EDF before any message travels`);
  for (const t of top) imports.push(`import { ${t.name} } from '${importPath('src/node', t.file)}';`);
  if (project.tls) imports.push(`import { certificate } from './tls.js';`);
  imports.push(...entityKindImports(project));
  if (usesEntities(project)) imports.push(`import { openStore } from './store.js';`);
  imports.sort((a, b) => a.slice(a.indexOf("'")).localeCompare(b.slice(b.indexOf("'"))));
  const spawns = top.map((t) => `    await node.spawnRegister('${t.lo}', ${t.name});`).join('\n');
  const obs = project.observer;
  const rotate = project.loggers.includes('rotate');
  const loggerImports = (project.loggers.length === 0 ? ['colored'] : project.loggers)
    .map((l) => (l === 'colored' ? 'createColoredLogger' : 'createRotateLogger'))
    .sort();
  const appList = [...apps.map((a) => `create${a.name}()`), ...(obs ? ['observer'] : [])];
  return `// The node ${project.nodeName}: starts its applications and processes, and stops gracefully on
// SIGTERM or SIGINT (exit code 0).
//   npm start -- --name ${defaultNodeNameOf(project)} --cookie <secret> --port <acceptor port>${obs ? ' --observer-port 9911' : ''}
// Each option also comes from the environment (ERGO_NODE_NAME, ERGO_COOKIE, ERGO_PORT${obs ? ', ERGO_OBSERVER_PORT' : ''}).
import { ${rotate ? 'fileURLToPath, ' : ''}pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

${entityPackageImport(project)}${obs ? "import { createObserverApp } from '@ergo-ts/observer';\n" : ''}import { startNode, type Node } from 'ergo-ts';
${loggerImports.length > 0 ? `import { ${loggerImports.join(', ')} } from 'ergo-ts/logger';\n` : ''}${project.tls ? "import { createCertManager } from 'ergo-ts/net';\n" : ''}
${imports.join('\n')}${imports.length > 0 ? '\n' : ''}
/** How to start the node: the command line first, then the environment, then the defaults. */
export interface NodeConfig {
  /** Node name: --name, ERGO_NODE_NAME, default ${defaultNodeNameOf(project)}. */
  name: string;
  /** Cookie shared by the nodes of a cluster: --cookie, ERGO_COOKIE; empty means a random one (with a warning). */
  cookie: string;
  /** Port of the node's acceptor: --port, ERGO_PORT; 0 picks a free one; undefined scans from 11144 (Ergo's default). */
  port: number | undefined;${
    obs
      ? `
  /** Port of the Observer's web UI on localhost: --observer-port, ERGO_OBSERVER_PORT, default 9911 (Ergo's); 0 picks a free one. */
  observerPort: number;`
      : ''
  }
}

/** Reads the {@link NodeConfig}. Throws for an unknown option or a port that is not 0…65535. */
export function nodeConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const { values } = parseArgs({
    args: argv,
    options: ${
      obs
        ? `{
      name: { type: 'string' },
      cookie: { type: 'string' },
      port: { type: 'string' },
      'observer-port': { type: 'string' },
    },`
        : `{ name: { type: 'string' }, cookie: { type: 'string' }, port: { type: 'string' } },`
    }
  });
  return {
    name: values.name ?? env['ERGO_NODE_NAME'] ?? '${defaultNodeNameOf(project)}',
    cookie: values.cookie ?? env['ERGO_COOKIE'] ?? '',
    port: portOf(values.port ?? env['ERGO_PORT']),${obs ? "\n    observerPort: portOf(values['observer-port'] ?? env['ERGO_OBSERVER_PORT']) ?? 9911," : ''}
  };
}

function portOf(text: string | undefined): number | undefined {
  const port = text === undefined || text === '' ? undefined : Number(text);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
    throw new Error(\`port \${text} is not a port number (0…65535)\`);
  return port;
}

/** Starts the node with its applications${top.length > 0 ? ' and top-level processes' : ''}; rejects (node stopped) when one fails to start. */
export async function start(config: NodeConfig): Promise<Node> {${
    obs
      ? `
  // The Observer's web UI (http://localhost:9911): this node's processes, applications, events, log.
  const observer = createObserverApp({ host: 'localhost', port: config.observerPort });`
      : ''
  }
  const node = await startNode(config.name, {
    handleSignals: true, // SIGTERM / SIGINT: graceful stop, then node.wait() resolves
    network: {
      cookie: config.cookie,
      acceptors: [{ port: config.port${project.tls ? ', certManager: createCertManager(certificate)' : ''} }],${
        project.tls ? '\n      insecureSkipVerify: true, // peers use self-signed certificates too (src/tls.ts)' : ''
      }
    },
${renderLogOptions(project)}    applications: [${appList.join(', ')}],
  });${obs ? "\n  node.log.info('observer: %s', observer.url ?? '(not listening)');" : ''}
${renderEntityStart(project)}${
    top.length > 0
      ? `  try {
${spawns}
  } catch (err) {
    await node.stop();
    throw err;
  }
`
      : ''
  }  return node;
}

// Run as a program (not when a test imports this module).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const node = await start(nodeConfig());
    const acceptor = node.network().acceptors()[0]?.info();
    node.log.info(
      '%s is up (pid %s)%s',
      node.name,
      String(process.pid),
      acceptor === undefined ? '' : \`, accepting nodes on \${acceptor.interface}\${acceptor.tls ? ' (TLS)' : ''}\`,
    );
    await node.wait();
  } catch (err) {
    console.error(\`${project.nodeName} failed to start: \${(err as Error).message}\`);
    process.exitCode = 1;
  }
}
`;
}

/** `src/tls.ts` */
export function renderTls(project: Project): string {
  return `// The node's TLS certificate: self-signed, made at start (like Ergo's lib.GenerateSelfSignedCert).
// Use your PKI's certificate in production: createCertManager({ key, cert }) from PEM files.
import { selfSigned } from 'ergo-ts/net';

/** A fresh self-signed certificate for localhost, 127.0.0.1 and ::1 (PEM key and certificate). */
export const certificate = selfSigned('${project.nodeName} service');
`;
}

/** `src/messages.ts` */
export function renderMessages(project: Project): string {
  const msgs = project.items.filter((i) => i.kind === 'msg');
  const blocks = msgs.map(
    (m) => `/** The message ${m.name}. A Go peer declares \`type ${m.name} struct{}\` in package ${project.module}. */
export class ${m.name} {
  // Add fields here and in \`fields\` below, in the Go struct's declaration order, e.g.
  //   text = '';            with  text: Go.string
}
registerType({ name: \`\${PKG}${m.name}\`, class: ${m.name}, fields: {} });
`,
  );
  return `// Message types of the node, registered with EDF so they cross the network as themselves: an
// ergo-ts or Go Ergo peer decodes them to the same type (docs/edf.md). A Go peer registers the
// same names (edf.RegisterTypeOf) with the same fields in the same order.
import { registerType } from 'ergo-ts/net';

/** EDF names are "#<Go import path>/<Type>"; the path is the module given to create-ergo-ts. */
export const PKG = '#${project.module}/';

${blocks.join('\n')}`;
}

/** The ergo-ts packages the project depends on: ergo-ts, and the Observer and WebSocket packages when used. */
export function ergoPackages(project: Project): string[] {
  return [
    ...(project.observer ? ['@ergo-ts/observer'] : []),
    'ergo-ts',
    ...(usesWebsocket(project) ? ['@ergo-ts/websocket'] : []),
    ...(usesEntities(project) ? ['@ergo-ts/entities'] : []),
  ];
}

/**
 * `package.json`. The ergo-ts packages are `^<ergoVersion>` from the registry, or the specs
 * `--from` gives (`file:` a clone's package folder or a tarball).
 */
export function renderPackageJson(project: Project, ergoVersion: string, specs?: Record<string, string>): string {
  return (
    JSON.stringify(
      {
        name: project.packageName,
        version: '0.1.0',
        private: true,
        type: 'module',
        description: `The ergo-ts node ${project.nodeName}`,
        engines: { node: '>=22' },
        // `tsc -b`: an up-to-date project is not compiled again (npm start after npm test costs
        // a look at dist/.tsbuildinfo, not a second compile); errors are reported every time.
        // Called directly, not through `npm run build`: one npm process less per command.
        scripts: {
          build: 'tsc -b',
          // ergo-ts/register turns on Node's compile cache before the node loads: every start after
          // the first reads V8's cached code instead of compiling ergo-ts again.
          start: 'node --import ergo-ts/register dist/src/node.js',
          prestart: 'tsc -b',
          test: 'tsc -b && node --test dist/test/*.test.js',
          ...(project.workflows.length > 0
            ? { cluster: 'tsc -b && node --import ergo-ts/register dist/src/cluster.js' }
            : {}),
        },
        dependencies: Object.fromEntries(ergoPackages(project).map((n) => [n, specs?.[n] ?? `^${ergoVersion}`])),
        devDependencies: {
          '@types/node': '^22.19.0',
          ...(usesWebsocket(project) ? { '@types/ws': '^8.18.2', ws: '^8.23.0' } : {}),
          typescript: '^5.9.0',
        },
      },
      null,
      2,
    ) + '\n'
  );
}

/** `tsconfig.json` */
export function renderTsconfig(): string {
  return (
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'ESNext.Disposable'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noImplicitOverride: true,
          noUnusedLocals: true,
          noFallthroughCasesInSwitch: true,
          sourceMap: true,
          incremental: true,
          tsBuildInfoFile: 'dist/.tsbuildinfo',
          skipLibCheck: true,
          types: ['node'],
          rootDir: '.',
          outDir: 'dist',
        },
        include: ['src/**/*.ts', 'test/**/*.ts'],
      },
      null,
      2,
    ) + '\n'
  );
}

function kindLabel(i: Item): string {
  switch (i.kind) {
    case 'sup':
      return `supervisor, ${i.supType}`;
    case 'pool':
      return `pool of ${i.size} ${i.worker?.name}`;
    case 'web':
      return `${i.tls === true ? 'HTTPS' : 'HTTP'} ${i.host}:${i.port}${i.websocket === true ? ' and WebSocket /ws' : ''}, pool of ${i.worker?.name}`;
    case 'tcp':
      return `TCP ${i.host}:${i.port}${i.tls === true ? ' TLS' : ''}`;
    case 'udp':
      return `UDP ${i.host}:${i.port}, pool of ${i.worker?.name}`;
    case 'app':
      return `application, ${i.mode}`;
    case 'actor':
    case 'msg':
      return i.kind;
    default: {
      const unknownKind: never = i.kind;
      return String(unknownKind);
    }
  }
}

function tree(item: Item, prefix: string, last: boolean, out: string[], root: boolean): void {
  const label = `${item.name} (${kindLabel(item)})${startsWithNode(item) || item.kind === 'app' ? '' : ' — started on demand'}`;
  out.push(root ? label : `${prefix}${last ? '└─ ' : '├─ '}${label}`);
  const next = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
  item.children.forEach((c, n) => tree(c, next, n === item.children.length - 1, out, false));
}

/** The README's note on a project made with `--from`: where its ergo-ts comes from. */
function renderSourceNote(source: PackageSource | undefined): string {
  if (source === undefined) return '';
  const where =
    source.kind === 'checkout'
      ? 'the package folders of a clone of ergo-ts, which npm links (rebuild the clone and the project sees the change)'
      : 'tarballs made by `npm run pack` in a clone of ergo-ts';
  return `\nMade with \`--from\`: \`package.json\` takes ${Object.keys(source.specs)
    .map((n) => `\`${n}\``)
    .join(
      ', ',
    )} from ${where} (\`${source.specs['ergo-ts'] ?? ''}\`). Once the packages are on the registry, \`npm install ${Object.keys(
    source.specs,
  )
    .map((n) => `${n}@latest`)
    .join(' ')}\` switches to it.\n`;
}

/** `README.md` */
export function renderReadme(project: Project, files: string[], source?: PackageSource): string {
  const roots = project.items.filter((i) => i.parent === undefined && i.kind !== 'msg');
  const lines: string[] = [];
  for (const r of roots) tree(r, '', true, lines, true);
  const msgs = project.items.filter((i) => i.kind === 'msg');
  const ping = pingTarget(project);
  const servers = project.items.filter((i) => i.kind === 'web' || i.kind === 'tcp' || i.kind === 'udp');
  return `# ${project.nodeName}

An [ergo-ts](https://www.npmjs.com/package/ergo-ts) node: actors, supervision and network
transparency (wire-compatible with Go Ergo 3.2 nodes).

\`\`\`sh
npm install
npm start                    # builds, then runs the node until Ctrl-C (SIGINT) or SIGTERM
npm test                     # builds, then runs the tests in test/ (node:test, ergo-ts/testing)
\`\`\`

\`npm start -- --name ${defaultNodeNameOf(project)} --cookie <secret> --port 11144\` sets the node name,
the cookie every node of the cluster shares and the port other nodes connect to (also from
\`ERGO_NODE_NAME\`, \`ERGO_COOKIE\`, \`ERGO_PORT\`). Without a cookie the node picks a random one and
says so. In production run \`node --import ergo-ts/register dist/src/node.js\` directly (after \`npm run build\`): npm does not
pass SIGTERM on to the node through its shell, while the node itself stops gracefully on it
(\`--import ergo-ts/register\` turns on Node's compile cache: a start after the first skips compiling ergo-ts).${project.tls ? ' The node accepts connections over TLS with a self-signed certificate made at start (`src/tls.ts`).' : ''}
${renderSourceNote(source)}
## Supervision tree

${lines.length > 0 ? `\`\`\`\n${lines.join('\n')}\n\`\`\`` : 'No processes yet: add actors with `this.spawn` or regenerate with `--with-actor`.'}
${
  roots.some((r) => r.kind !== 'app')
    ? `\nStarted by the node (\`src/node.ts\`): ${roots
        .filter((r) => r.kind !== 'app')
        .map((r) => `\`${r.lo}\``)
        .join(', ')}.\n`
    : ''
}${ping !== undefined ? `\nEvery process answers the call \`'ping'\` with \`'pong'\`; from another node: \`await node.call(new ProcessID('${ping.lo}', '${defaultNodeNameOf(project)}'), 'ping')\`.\n` : ''}${
    servers.length > 0
      ? `\nServers: ${servers
          .map(
            (s) =>
              `${s.name} on ${s.kind === 'web' ? (s.tls === true ? 'https' : 'http') : s.kind}://${s.host}:${s.port}`,
          )
          .join(', ')}.\n`
      : ''
  }${
    msgs.length > 0
      ? `\n## Messages\n\n${msgs.map((m) => `- \`${m.name}\`: EDF type \`#${project.module}/${m.name}\``).join('\n')}\n\nRegistered in \`src/messages.ts\` when the node starts; a Go peer registers the same names.\n`
      : ''
  }${renderExtrasReadme(project)}
## Files

${files
  .filter((f) => f.startsWith('src/') || f.startsWith('test/'))
  .map((f) => `- \`${f}\`${describeFile(project, f)}`)
  .join('\n')}

## Made with

\`\`\`sh
${project.commandLine}
\`\`\`
`;
}

function renderExtrasReadme(project: Project): string {
  const parts: string[] = [];
  if (project.observer)
    parts.push(
      `The Observer (\`@ergo-ts/observer\`) is enabled: open http://localhost:9911 for this node's processes, applications, events, network and live log (\`--observer-port\` or \`ERGO_OBSERVER_PORT\` moves it; 0 picks a free port, printed at start).`,
    );
  for (const l of project.loggers)
    parts.push(
      l === 'colored'
        ? 'The colored logger (`ergo-ts/logger`) prints the log in colour on a terminal, in place of the default logger.'
        : `The rotate logger (\`ergo-ts/logger\`) writes the log to \`logs/${project.packageName}.log\` under the project, in place of the default logger${project.loggers.includes('colored') ? '' : ' (so the console stays quiet)'}: each hour the file moves to \`logs/${project.packageName}.<YYYYMMDDHHmm>.log.gz\`, and the 24 newest are kept.`,
    );
  if (project.loggers.length === 0)
    parts.push(
      'The log prints ISO times and process names beside PIDs, levels coloured on a terminal and plain in a pipe or file (the colored logger of `ergo-ts/logger` without its banner; `NO_COLOR` turns colours off).',
    );
  if (project.entities.length > 0)
    parts.push(
      `Durable entities (\`@ergo-ts/entities\`): ${project.entities.map((e) => `\`${e.name}\` (\`${e.file}.ts\`)`).join(', ')}, started by \`src/node.ts\` with their state in ${project.entityStore === 'postgres' ? 'PostgreSQL at `ERGO_ENTITY_DB` (a connection string; the entity tests skip without it)' : 'SQLite: `entities.db` in the project, or the file `ERGO_ENTITY_DB` names (a `postgres://` connection string there opens PostgreSQL instead)'} (\`src/store.ts\`). Address a key with \`entity(Kind, key)\` and call it through the \`Entities\` handle \`startEntities\` returns. Node 22.13 or later (\`node:sqlite\`).`,
    );
  if (project.workflows.length > 0) {
    const w = project.workflows[0]!;
    parts.push(
      `Durable workflows (\`@ergo-ts/entities\`' \`defineWorkflow\`): ${project.workflows.map((x) => `\`${x.name}\` (\`${x.file}.ts\`)`).join(', ')}, registered with the entities runtime by \`src/node.ts\`; start one from any node with \`entities.workflows.start(Kind, id, input)\`, then \`signal\`, \`query\`, \`result\` on its handle.\n\n` +
        `**A three-node cluster, one command:** \`npm run cluster\` (\`-- --port P\`, default 9140) builds and starts three member nodes as OS processes (\`src/cluster.ts\`), wired to each other (static routes, \`members\`: the three names), on one store (${project.entityStore === 'postgres' ? 'PostgreSQL at \`ERGO_ENTITY_DB\`: `ERGO_ENTITY_DB=postgres://user@host:5432/db npm run cluster`' : 'the SQLite file \`cluster.db\`, or what \`ERGO_ENTITY_DB\` names: a file, or a \`postgres://\` connection string for PostgreSQL'}), each with an HTTP front door on P+10, P+11, P+12. Start a workflow on one member, signal it on another, await its result on the third:\n\n` +
        '```sh\n' +
        `curl -X POST localhost:9150/${w.lo}/o1 -d '{"item":"book","coolOffMs":1000}'\n` +
        `curl -X POST localhost:9151/${w.lo}/o1/approve -d '{"by":"alice"}'\n` +
        `curl localhost:9152/${w.lo}/o1\n` +
        '```\n\n' +
        'Kill one member (its pid is printed) and another takes its workflows over; Ctrl-C stops the three.',
    );
  }
  return parts.length > 0 ? `\n## Logs, Observer and entities\n\n${parts.join('\n\n')}\n` : '';
}

function describeFile(project: Project, file: string): string {
  if (file === 'src/node.ts') return ': the node (entry point)';
  if (file === 'src/messages.ts') return ': message types';
  if (file === 'src/tls.ts') return ': the TLS certificate';
  if (file === 'src/cluster.ts') return ': three member nodes for `npm run cluster`';
  if (file === 'src/store.ts') return ": opens the entities' store (`ERGO_ENTITY_DB`)";
  if (file.startsWith('test/')) return '';
  const item = project.items.find((i) => `${i.file}.ts` === file);
  if (item !== undefined) return item.kind === 'app' ? ': application' : `: started by ${startedBy(item)}`;
  const owner = project.items.find((i) => i.worker !== undefined && `${i.worker.file}.ts` === file);
  return owner !== undefined ? `: workers of ${owner.name}` : '';
}
