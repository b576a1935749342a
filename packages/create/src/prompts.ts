// The questions asked when `npm create ergo-ts` runs on a terminal without options: a handful,
// each with a default (Enter takes it), answered in the same value syntax as the options. Uses
// node:readline so the package keeps zero runtime dependencies.

import { createInterface } from 'node:readline';

import { type Declaration } from './model.js';
import { parseParamSpec } from './params.js';

/** The answers, as the options they stand for. */
export interface Answers {
  name: string;
  declarations: Declaration[];
  observer: boolean;
  tls: boolean;
  /** The equivalent command line (for the README and to repeat it). */
  args: string[];
}

/** Defaults of the questions (what `--yes` takes): a node with an application, a supervisor and an actor. */
export function defaultAnswers(name = 'MyNode'): Answers {
  const args = ['--with-app', 'MyApp', '--with-sup', 'MyApp:MySup', '--with-actor', 'MySup:MyActor'];
  return { name, ...fromArgs(args), observer: false, tls: false, args: [name, ...args] };
}

function fromArgs(args: string[]): { declarations: Declaration[] } {
  const declarations: Declaration[] = [];
  for (let i = 0; i < args.length; i += 2) {
    const kind = args[i]!.slice('--with-'.length) as Declaration['kind'];
    declarations.push({ kind, spec: parseParamSpec(args[i + 1]!, args[i]!) });
  }
  return { declarations };
}

/**
 * Asks on `input`/`output` (stdin/stdout by default). `name` skips the first question when the
 * node name was given. An empty answer takes the default shown; "-" answers "none".
 */
export async function ask(
  name: string | undefined,
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stdout,
): Promise<Answers> {
  const rl = createInterface({ input, terminal: false });
  // Lines are queued as they arrive (typed, or piped ahead of the questions); the end of the
  // input answers every remaining question with its default.
  const lines: string[] = [];
  let waiting: ((line: string | undefined) => void) | undefined;
  let closed = false;
  rl.on('line', (line) => {
    if (waiting !== undefined) {
      const w = waiting;
      waiting = undefined;
      w(line);
    } else lines.push(line);
  });
  rl.on('close', () => {
    closed = true;
    waiting?.(undefined);
  });
  const next = (): Promise<string | undefined> =>
    lines.length > 0 || closed ? Promise.resolve(lines.shift()) : new Promise((resolve) => (waiting = resolve));
  try {
    const q = async (question: string, fallback: string): Promise<string> => {
      output.write(`${question} (${fallback === '' ? 'none' : fallback}): `);
      const a = ((await next()) ?? '').trim();
      return a === '' ? fallback : a === '-' ? '' : a;
    };
    const yes = async (question: string): Promise<boolean> => /^y/i.test(await q(`${question} y/n`, 'n'));
    const nodeName = name ?? (await q('Node name', 'MyNode'));
    const args: string[] = [];
    const app = await q('Application (Name, "-" for none)', 'MyApp');
    if (app !== '') args.push('--with-app', app);
    const appName = app.replace(/\{.*$/, '');
    const sup = await q(
      `Supervisor${appName !== '' ? ` in ${appName}` : ''} (Name{type:ofo|afo|rfo|sofo}, "-" for none)`,
      'MySup',
    );
    const supName = sup.replace(/\{.*$/, '');
    if (sup !== '') args.push('--with-sup', appName !== '' ? `${appName}:${sup}` : sup);
    const parent = supName !== '' ? supName : appName;
    const actors = await q(`Actors${parent !== '' ? ` under ${parent}` : ''} (names separated by spaces)`, 'MyActor');
    for (const a of actors.split(/\s+/).filter((s) => s !== ''))
      args.push('--with-actor', parent !== '' ? `${parent}:${a}` : a);
    const web = await q('HTTP server (Name{port:N}, "-" for none)', '');
    if (web !== '') args.push('--with-web', web);
    const msgs = await q('Message types for other nodes (names separated by spaces)', '');
    for (const m of msgs.split(/\s+/).filter((s) => s !== '')) args.push('--with-msg', m);
    const tls = await yes('TLS between nodes?');
    if (tls) args.push('--tls');
    // Asked after TLS so that answers piped for the earlier questions keep their meaning; the
    // default is --with-observer's absence, as with --yes.
    const observer = await yes('Observer web UI (@ergo-ts/observer on localhost:9911)?');
    if (observer) args.push('--with-observer');
    const withFlags = args.filter((a) => a !== '--tls' && a !== '--with-observer');
    return { name: nodeName, ...fromArgs(withFlags), observer, tls, args: [nodeName, ...args] };
  } finally {
    rl.close();
  }
}
