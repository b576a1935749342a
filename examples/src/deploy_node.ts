// One node of a cluster spread over several hosts (docs/deploy.md), configured by environment
// variables so the same file runs on every host:
//
//   ERGO_NAME      the node name, `name@address` — an address the other hosts can reach (required)
//   ERGO_COOKIE    the cluster's cookie (required)
//   ERGO_LISTEN    the listen address (default: the host part of ERGO_NAME)
//   ERGO_PORT      the listen port (default 15000)
//   ERGO_ETCD      etcd endpoints, `host:port,host:port` (without it: the embedded registrar,
//                  which only finds nodes of one host)
//   ERGO_CLUSTER   the cluster name in etcd (default `default`)
//   ERGO_TLS_DIR   a directory with ca.pem, node.pem and node-key.pem: mutual TLS between the
//                  hosts, every certificate signed by that CA (without it: plain TCP)
//   ERGO_PING      node names, comma-separated: once started, call each one's `hello` until it
//                  answers (every 500 ms, for up to 60 s) and print the answer
//
// It runs `hello`, which answers any call with its node's name, and `watch`, which prints every
// node that connects or goes (`monitorNodes`). Its stdout is JSON lines; on stdin it takes node
// names, one per line, and calls that node's `hello`:
//   {"ready":"n1@10.0.0.11"} {"up":"n2@10.0.0.12"} {"down":"n2@10.0.0.12","reason":"..."}
//   {"call":"n2@10.0.0.12","reply":"n2@10.0.0.12"} {"call":"...","error":"ERR_..."}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  Actor,
  MessageNodeDown,
  MessageNodeUp,
  ProcessID,
  startNode,
  type PID,
  type Ref,
  type Registrar,
} from 'ergo-ts';
import { ClientAuth, createCertAuthManager, type CertAuthManager } from 'ergo-ts/net';
import { createEtcdRegistrar } from '@ergo-ts/etcd';

const out = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

function required(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    process.stderr.write(`deploy_node: ${name} is required (see the top of deploy_node.ts)\n`);
    process.exit(2);
  }
  return v;
}

/** Mutual TLS from three PEM files: serve node.pem, require client certificates the CA signed. */
function mutualTls(dir: string): CertAuthManager {
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const cm = createCertAuthManager({
    cert: readFileSync(join(dir, 'node.pem'), 'utf8'),
    key: readFileSync(join(dir, 'node-key.pem'), 'utf8'),
  });
  cm.setClientCAs(ca); // who may connect to us
  cm.setClientAuth(ClientAuth.RequireAndVerifyClientCert);
  cm.setRootCAs(ca); // whom we accept when we dial
  return cm;
}

class Hello extends Actor {
  override handleCall(_from: PID, _ref: Ref, _request: unknown): string {
    return this.node.name;
  }
}

class Watch extends Actor {
  override init(): void {
    for (const n of this.monitorNodes()) out({ up: n });
  }
  override handleMessage(_from: PID, m: unknown): void {
    if (m instanceof MessageNodeUp) out({ up: m.name });
    else if (m instanceof MessageNodeDown) out({ down: m.name, reason: m.reason.message });
  }
}

const name = required('ERGO_NAME');
const cookie = required('ERGO_COOKIE');
const listen = process.env.ERGO_LISTEN ?? name.slice(name.indexOf('@') + 1);
const port = Number(process.env.ERGO_PORT ?? 15000);
const tls = process.env.ERGO_TLS_DIR === undefined ? undefined : mutualTls(process.env.ERGO_TLS_DIR);
const etcd = process.env.ERGO_ETCD;
const registrar: Registrar | undefined =
  etcd === undefined
    ? undefined
    : createEtcdRegistrar({ cluster: process.env.ERGO_CLUSTER ?? 'default', endpoints: etcd.split(',') });

const node = await startNode(name, {
  network: {
    cookie,
    acceptors: [{ host: listen, port, certManager: tls }],
    certManager: tls, // the client certificate this node shows when it dials
    ...(registrar === undefined ? {} : { registrar }),
  },
  log: { defaultLogger: { output: { write: (s: string) => void process.stderr.write(s) } } },
});
await node.spawnRegister('hello', () => new Hello());
await node.spawnRegister('watch', () => new Watch());
out({ ready: node.name });

createInterface({ input: process.stdin }).on('line', (line) => {
  const to = line.trim();
  if (to === '') return;
  node.call(new ProcessID('hello', to), 'hi', { timeout: 5000 }).then(
    (reply) => out({ call: to, reply }),
    (e: unknown) => out({ call: to, error: (e as { code?: string }).code ?? String(e) }),
  );
});
/** Calls `to`'s hello until it answers (a node not registered yet fails fast: try again). */
async function ping(to: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      out({ call: to, reply: await node.call(new ProcessID('hello', to), 'hi', { timeout: 5000 }) });
      return;
    } catch (e) {
      if (Date.now() > deadline) return out({ call: to, error: (e as { code?: string }).code ?? String(e) });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
for (const to of (process.env.ERGO_PING ?? '').split(',').filter((n) => n !== '' && n !== name)) void ping(to);

const stop = (): void => void node.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
