// A harness owner for hosts.lifecycle.test.ts: makes two test hosts, prints their namespaces,
// then ends as argv[2] says — `exit` (process.exit without dispose), `hang` (until the test
// kills it) — or, with `probe`, prints what the capability check says under this PATH and CI.

import { hostsAvailable, requireHosts, TestHosts } from '../src/index.js';

const mode = process.argv[2];
if (mode === 'probe') {
  let skipped: string | undefined;
  let threw: string | undefined;
  try {
    requireHosts({ skip: (m) => (skipped = m) });
  } catch (e) {
    threw = String(e);
  }
  process.stdout.write(JSON.stringify({ why: hostsAvailable(), skipped, threw }) + '\n');
} else {
  const h = await TestHosts.create(2);
  process.stdout.write(
    JSON.stringify({ namespaces: [...h.hosts.map((x) => x.namespace), h.switchNamespace], subnet: h.subnet }) + '\n',
  );
  if (mode === 'exit') process.exit(0);
  setInterval(() => {}, 1 << 30);
}
