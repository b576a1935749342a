// The recipe of docs/deploy.md, run as written on four test hosts (network namespaces of
// @ergo-ts/test-support, each with its own address): etcd on one, deploy_node.js on three, mutual
// TLS with certificates a test CA signed. Every node finds the others through etcd, calls every
// other's `hello` over TLS, and the two survivors of a kill -9 hear that node go down. Skips
// without root/ip/nft or etcd (fails under CI=true).

import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateCertificate } from 'ergo-ts/net';
import { eventually, requireHosts, TestHosts, within, type Host } from '@ergo-ts/test-support';

const NODE = fileURLToPath(new URL('./deploy_node.js', import.meta.url));
const ETCD = process.env.ETCD_BIN ?? '/usr/bin/etcd';

type Line = Record<string, unknown>;

/** deploy_node.js in a host: its JSON lines, and a wait for one that matches. */
class DeployNode {
  readonly lines: Line[] = [];
  readonly #waiters: (() => void)[] = [];
  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.lines.push(JSON.parse(l) as Line);
      for (const w of [...this.#waiters]) w();
    });
  }
  line(pred: (l: Line) => boolean, what: string): Promise<Line> {
    return within(
      new Promise<Line>((resolve) => {
        const check = (): void => {
          const l = this.lines.find(pred);
          if (l === undefined) return;
          this.#waiters.splice(this.#waiters.indexOf(check), 1);
          resolve(l);
        };
        this.#waiters.push(check);
        check();
      }),
      `${this.name}: ${what}`,
      30_000,
    );
  }
  call(to: string): void {
    this.proc.stdin!.write(`${to}\n`);
  }
}

test('the deploy recipe: three hosts on etcd with mutual TLS; calls every way; kill -9 noticed', async (t) => {
  if (!requireHosts(t)) return;
  if (!existsSync(ETCD)) {
    if (process.env.CI === 'true') throw new Error(`${ETCD} is missing (Debian package etcd-server)`);
    t.skip(`${ETCD} is missing (install Debian's etcd-server)`);
    return;
  }
  const hosts = await TestHosts.create({ names: ['etcd', 'n1', 'n2', 'n3'] });
  t.after(() => hosts.dispose());
  const dir = mkdtempSync(join(tmpdir(), 'ergo-deploy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  // etcd on its own host, clients on the host's address.
  const e = hosts.host('etcd');
  e.spawn(
    ETCD,
    [
      '--name=m0',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://${e.address}:2379`,
      `--advertise-client-urls=http://${e.address}:2379`,
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--initial-advertise-peer-urls=http://127.0.0.1:2380',
      '--initial-cluster=m0=http://127.0.0.1:2380',
      '--log-level=error',
    ],
    { stdio: 'ignore' },
  );
  const probe = `fetch('http://${e.address}:2379/health').then(r=>r.json()).then(j=>process.exit(j.health==='true'?0:1),()=>process.exit(1))`;
  await eventually(
    () =>
      e.exec(process.execPath, ['-e', probe]).then(
        () => true,
        () => false,
      ),
    'etcd healthy',
    { timeoutMs: 60_000, intervalMs: 200 },
  );

  // A CA and one certificate per node, for the node's address (the name other hosts dial).
  const ca = generateCertificate({ isCA: true, commonName: 'cluster CA', hosts: [] });
  const names = ['n1', 'n2', 'n3'];
  const nodes = new Map<string, DeployNode>();
  for (const n of names) {
    const h: Host = hosts.host(n);
    const tls = join(dir, n);
    mkdirSync(tls);
    const leaf = generateCertificate({ commonName: n, hosts: [h.address], issuer: ca });
    writeFileSync(join(tls, 'ca.pem'), ca.cert);
    writeFileSync(join(tls, 'node.pem'), leaf.cert);
    writeFileSync(join(tls, 'node-key.pem'), leaf.key);
    const name = `${n}@${h.address}`;
    const proc = h.spawn(process.execPath, [...process.execArgv, NODE], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        ERGO_NAME: name,
        ERGO_COOKIE: 'deploy-cookie',
        ERGO_ETCD: `${e.address}:2379`,
        ERGO_CLUSTER: 'deploy',
        ERGO_TLS_DIR: tls,
      },
    });
    t.after(() => void proc.kill('SIGKILL'));
    const node = new DeployNode(name, proc);
    await node.line((l) => l.ready === name, 'ready');
    nodes.set(n, node);
  }

  // Every node calls every other one: resolved through etcd, connected over mutual TLS.
  for (const [, from] of nodes)
    for (const [, to] of nodes) {
      if (from === to) continue;
      from.call(to.name);
      const r = await from.line((l) => l.call === to.name, `call ${to.name}`);
      assert.equal(r.reply, to.name, JSON.stringify(r));
      await from.line((l) => l.up === to.name, `${to.name} up`);
    }

  // kill -9 of n3: the two others hear it go.
  nodes.get('n3')!.proc.kill('SIGKILL');
  for (const n of ['n1', 'n2']) {
    const down = await nodes.get(n)!.line((l) => l.down === nodes.get('n3')!.name, 'n3 down');
    assert.match(String(down.reason), /no connection|closed|reset/i);
  }
});
