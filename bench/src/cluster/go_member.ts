// A Go Ergo 3.2 node in the cluster-scale harness (issue 49: a mixed cluster): the ergo-peer
// (shared/peers/ergo-peer, driven by JSON lines on stdin/stdout) alone in a test host, its own
// host's embedded registrar server like every ergo-ts node of the embedded run, so each side
// resolves the other by UDP to the other's host. It answers calls on `echo` (the request back),
// which is what the mesh calls; it calls every other node's `echo` in turn for its own mesh (the
// peer's `ctl` process makes one call at a time, whatever the in-flight count asked), and it
// monitors every node it is told to (`MonitorNode`) to report their downs as an ergo-ts node's
// `monitorNodes` does.
//
// A Go node tries a connection once: one resolve (3 s for the UDP reply), one TCP dial, a
// handshake whose every step must come within 1 s; any of them late and the call fails with
// `no route`, nothing retried (Go Ergo 3.2, node/network.go, net/handshake). On a starved machine
// (two CPU hogs beside 25 nodes on 2 cores) an ergo-ts node's event loop can be that late, so the
// mesh makes such a call again, as a Go user must (docs/networking.md), up to GO_ATTEMPTS times;
// the calls made again are counted (`retried`) and printed, never hidden.

import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { within, type Host } from '@ergo-ts/test-support';
import { Member, type MeshAnswer } from './members.js';

const wall = (): number => performance.timeOrigin + performance.now();

/** Attempts of one mesh call whose connection attempt gave up (`no route`). */
const GO_ATTEMPTS = 3;

/** The ergo-peer's command line for a node `name` in `host`, cookie `cookie`. */
export function goPeerArgs(name: string, host: Host, cookie: string): string[] {
  return [
    '-name',
    name,
    '-cookie',
    cookie,
    '-host',
    host.address,
    '-registrar',
    'embedded',
    '-loglevel',
    'error',
    '-log-stdout',
    'disabled',
  ];
}

/** The node a `down` line of type node names: an atom, tagged or plain. */
function nodeOf(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (typeof target === 'object' && target !== null) {
    const t = target as { v?: unknown; node?: unknown };
    if (typeof t.v === 'string') return t.v;
    if (typeof t.node === 'string') return t.node;
  }
  return undefined;
}

/** A Go Ergo node: ergo-peer over JSON lines. */
export class GoMember extends Member {
  #nextId = 1;
  readonly #answers = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Nodes it monitors already. */
  readonly #watching = new Set<string>();

  constructor(name: string, host: Host, proc: ChildProcess) {
    super(name, host, proc);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // not a protocol line
      }
      const at = typeof m['ts'] === 'number' ? m['ts'] : wall();
      if (m['kind'] === 'ready') this.gotReady(at);
      else if (m['kind'] === 'down' && m['type'] === 'node') {
        const node = nodeOf(m['target']);
        if (node !== undefined) this.gotDown(node, at);
      } else if ((m['kind'] === 'result' || m['kind'] === 'error') && typeof m['id'] === 'number') {
        const a = this.#answers.get(m['id']);
        this.#answers.delete(m['id']);
        if (m['kind'] === 'result') a?.resolve(m['value']);
        else a?.reject(Object.assign(new Error(String(m['error'])), { code: String(m['error']) }));
      }
    });
  }

  #command(cmd: Record<string, unknown>, ms: number): Promise<unknown> {
    const id = this.#nextId++;
    const answer = new Promise<unknown>((resolve, reject) => this.#answers.set(id, { resolve, reject }));
    this.proc.stdin!.write(JSON.stringify({ ...cmd, id, async: true }) + '\n');
    return within(this.onExit(answer), `${this.name} ${String(cmd['cmd'])}`, ms).finally(() =>
      this.#answers.delete(id),
    );
  }

  async mesh(nodes: string[], _inflight: number, timeout: number): Promise<MeshAnswer> {
    const lat: number[] = [];
    const failed: Record<string, number> = {};
    const t0 = wall();
    let retried = 0;
    // All at once: the peer runs them one after the other on `ctl`, each with its own timeout.
    await Promise.all(
      nodes.map(async (node) => {
        const s = wall();
        for (let attempt = 1; ; attempt++) {
          try {
            await this.#command(
              { cmd: 'call', to: { name: 'echo', node }, req: 'ping', timeout: Math.ceil(timeout / 1000) },
              timeout * nodes.length * GO_ATTEMPTS + 30_000,
            );
            lat.push((wall() - s) * 1000);
            return;
          } catch (e) {
            const code = (e as { code?: string }).code ?? 'error';
            // Go's one connection attempt gave up (see the top): made again, as a Go user must.
            if (code === 'no route' && attempt < GO_ATTEMPTS) {
              retried++;
              continue;
            }
            failed[code] = (failed[code] ?? 0) + 1;
            return;
          }
        }
      }),
    );
    return { calls: nodes.length, ms: wall() - t0, lat, failed, retried };
  }

  async connected(): Promise<number> {
    const info = (await this.#command({ cmd: 'info' }, 30_000)) as { nodes?: unknown[] };
    return info.nodes?.length ?? 0;
  }

  /** Monitors each of `nodes` it does not already (its downs are then reported); resolves once all are. */
  async watch(nodes: readonly string[]): Promise<void> {
    const fresh = nodes.filter((n) => n !== this.name && !this.#watching.has(n));
    for (const n of fresh) this.#watching.add(n);
    await Promise.all(fresh.map((node) => this.#command({ cmd: 'monitor', target: { node } }, 30_000)));
  }
}
