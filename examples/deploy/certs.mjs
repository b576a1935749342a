// Certificates for trying the deploy recipe (docs/deploy.md): a CA and, for each `name=address`,
// a leaf for that address signed by it, written as DIR/<name>/{ca.pem,node.pem,node-key.pem} —
// the files deploy_node.js reads from ERGO_TLS_DIR. For trying things out only: real clusters
// take their certificates from their PKI.
//   node examples/deploy/certs.mjs DIR n1=10.0.0.11 n2=10.0.0.12 ...

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCertificate } from 'ergo-ts/net';

const [dir, ...nodes] = process.argv.slice(2);
if (dir === undefined || nodes.length === 0) {
  console.error('usage: node examples/deploy/certs.mjs DIR name=address ...');
  process.exit(2);
}
const ca = generateCertificate({ isCA: true, commonName: 'deploy demo CA', hosts: [] });
for (const spec of nodes) {
  const [name, address] = spec.split('=');
  const leaf = generateCertificate({ commonName: name, hosts: [address], issuer: ca });
  const out = join(dir, name);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'ca.pem'), ca.cert);
  writeFileSync(join(out, 'node.pem'), leaf.cert);
  writeFileSync(join(out, 'node-key.pem'), leaf.key, { mode: 0o600 });
}
