// Whether this machine can run test hosts, and the skip-or-fail rule of the tests that need them
// (the same as for the Go peer: skip with the reason, fail under CI=true). The check is real: it
// makes a throwaway namespace and, inside it, everything a harness uses — a bridge, a veth pair,
// a VXLAN device (the delay relay's tunnel), an nft table with a `numgen` rule and a `tbf` qdisc.
// A kernel without one of them gives a reason naming the command that failed.

import { spawnSync } from 'node:child_process';
import { NS_PREFIX, removeNamespaceSync } from './lifecycle.js';

let cached: string | undefined | null = null;

/**
 * Why test hosts cannot run here (a short reason for a skip message), or `undefined` when they can.
 * Needs Linux, root, `ip`, `nft` and `tc`, and the kernel features above. The answer is cached for
 * the process.
 */
export function hostsAvailable(): string | undefined {
  if (cached === null) cached = probe();
  return cached;
}

/**
 * For a test that needs test hosts: `true` when they can run; otherwise marks the test skipped with
 * the reason and returns `false` — or throws under `CI=true`, where a missing tool is a failure of
 * the CI setup, not a reason to skip.
 */
export function requireHosts(t: { skip(msg: string): void }): boolean {
  const why = hostsAvailable();
  if (why === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`test hosts: ${why}: required under CI`);
  t.skip(`test hosts: ${why}`);
  return false;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, nft and tc)';
  for (const [tool, arg, pkg] of [
    ['ip', '-V', 'iproute2'],
    ['nft', '--version', 'nftables'],
    ['tc', '-V', 'iproute2'],
  ] as const) {
    const r = spawnSync(tool, [arg], { encoding: 'utf8' });
    if (r.error !== undefined) return `needs \`${tool}\` on PATH (Debian package ${pkg})`;
  }
  const ns = `${NS_PREFIX}${process.pid}-probe`;
  const steps: [string, string[], string?][] = [
    ['ip', ['netns', 'add', ns]],
    [
      'ip',
      ['-n', ns, '-batch', '-'],
      [
        'link add b0 type bridge',
        'link add v0 type veth peer name v1',
        'link set v1 master b0',
        'link add x0 type vxlan id 1 remote 10.0.0.1 dstport 4789 dev v0 nolearning',
        'link set lo up',
      ].join('\n') + '\n',
    ],
    [
      'ip',
      ['netns', 'exec', ns, 'nft', '-f', '-'],
      'add table inet probe\n' +
        'add chain inet probe c { type filter hook prerouting priority -300; policy accept; }\n' +
        'add rule inet probe c ip saddr 10.0.0.1 numgen random mod 100 < 30 counter drop\n',
    ],
    ['tc', ['-n', ns, 'qdisc', 'add', 'dev', 'v0', 'root', 'tbf', 'rate', '1mbit', 'burst', '16kb', 'latency', '50ms']],
  ];
  try {
    for (const [cmd, args, input] of steps) {
      const r = spawnSync(cmd, args, { encoding: 'utf8', input: input ?? '', timeout: 15_000 });
      if (r.status !== 0) {
        const said = `${r.stderr ?? ''}${r.error === undefined ? '' : String(r.error)}`.trim().split('\n')[0];
        return `\`${[cmd, ...args].join(' ')}\` failed: ${said || `exit ${r.status ?? r.signal}`}`;
      }
    }
    return undefined;
  } finally {
    removeNamespaceSync(ns);
  }
}
