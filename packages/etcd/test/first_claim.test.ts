// A node's first claim of its name in etcd when etcd forgets the lease under it (a CI run on a
// loaded host: "start failed: … Lease 5 NOT_FOUND: requested lease not found", the grant-to-put gap
// past a 2 s TTL). Against a real etcd: the first lease the claim is granted is revoked by a second
// client right after its grant, before the key is put on it. A bare claim fails on it (what the
// start used to do); the first registration's claim takes a new lease and holds the name; a
// claim whose every lease is revoked fails after FIRST_CLAIM_ATTEMPTS, with etcd's own error.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Log, Route } from 'ergo-ts';
import { EtcdLeaseInvalidError, Etcd3, type Lease } from 'etcd3';

import { clusterPaths, decodeRoutes, encodeRoutes } from '../src/index.js';
import { FIRST_CLAIM_ATTEMPTS, NodeKey } from '../src/node_key.js';
import { resolveOptions } from '../src/options.js';
import { etcdMissing, members, startCluster, stopCluster, type Member } from './etcd_helpers.js';

const skip = etcdMissing();
const route: Route = {
  host: '127.0.0.1',
  port: 15000,
  tls: false,
  handshakeVersion: { name: 'EHS', release: 'R1', commit: '', license: 'MIT' },
  protoVersion: { name: 'ENP', release: 'R1', commit: '', license: 'MIT' },
};

/** A real client whose first `revoked` leases are revoked (through `other`) right after their grant. */
function forgetting(endpoint: string, other: Etcd3, revoked: number): { client: Etcd3; granted: string[] } {
  const client = new Etcd3({ hosts: `http://${endpoint}` });
  const granted: string[] = [];
  const lease = client.lease.bind(client);
  client.lease = (ttl: number, options?: object): Lease => {
    const l = lease(ttl, options);
    const grant = l.grant.bind(l);
    l.grant = async (): Promise<string> => {
      const id = await grant();
      granted.push(id);
      if (granted.length <= revoked) await other.leaseClient.leaseRevoke({ ID: id });
      return id;
    };
    return l;
  };
  return { client, granted };
}

describe('etcd registrar: a first claim whose lease etcd forgets', { skip: skip ?? false, timeout: 60_000 }, () => {
  let etcd: Member[] = [];
  let endpoint = '';
  let admin: Etcd3;
  before(async () => {
    etcd = await members(1);
    await startCluster(etcd);
    endpoint = etcd[0]!.endpoint;
    admin = new Etcd3({ hosts: `http://${endpoint}` });
  });
  after(async () => {
    admin.close();
    await stopCluster(etcd);
  });

  const warnings: string[] = [];
  const log = {
    warning: (f: string, ...a: unknown[]) => warnings.push(`${f} ${a.map(String).join(' ')}`),
  } as unknown as Log;
  let state: 'registered' | 'terminated' = 'registered';
  const host = { state: () => state, log: () => log };
  const keyOf = (client: Etcd3, cluster: string, name: string): NodeKey =>
    new NodeKey(
      client,
      resolveOptions({ cluster, endpoints: [endpoint], leaseTTL: 2 }),
      clusterPaths(cluster),
      name,
      encodeRoutes([route]),
      new Map(),
      host,
    );

  test('a bare claim fails on the forgotten lease; the first claim takes a new one and holds the name', async () => {
    const bare = forgetting(endpoint, admin, 1);
    const k1 = keyOf(bare.client, 'fc1', 'a@localhost');
    await assert.rejects(k1.claim(''), (e: unknown) => e instanceof EtcdLeaseInvalidError);
    bare.client.close();

    const f = forgetting(endpoint, admin, 1);
    const k2 = keyOf(f.client, 'fc2', 'b@localhost');
    await k2.claimFirst();
    assert.equal(f.granted.length, 2, 'a second lease was granted');
    assert.equal(k2.leaseID, f.granted[1]);
    const kv = await admin.get(`${clusterPaths('fc2').nodes}b@localhost`).exec();
    assert.equal(kv.kvs.length, 1);
    assert.equal(kv.kvs[0]!.lease, f.granted[1], 'the key is on the new lease');
    assert.equal(decodeRoutes(kv.kvs[0]!.value)[0]!.port, 15000);
    assert.ok(
      warnings.some((w) => w.includes('expired before its name was claimed')),
      warnings.join('\n'),
    );
    state = 'terminated';
    await k2.revoke(k2.takeLease()!);
    state = 'registered';
    f.client.close();
  });

  test(`every lease forgotten: the first claim fails after ${FIRST_CLAIM_ATTEMPTS} leases with etcd's error`, async () => {
    const f = forgetting(endpoint, admin, Number.MAX_SAFE_INTEGER);
    const k = keyOf(f.client, 'fc3', 'c@localhost');
    await assert.rejects(k.claimFirst(), (e: unknown) => e instanceof EtcdLeaseInvalidError);
    assert.equal(f.granted.length, FIRST_CLAIM_ATTEMPTS);
    f.client.close();
  });
});
