// The Leader's file store (act/leader/store.ts) where it fails: a corrupt or unreadable state
// file, a missing directory, one that cannot be written (a clear error with a stable code, the
// member stops or does not start, the node runs on), a crash in the middle of a save (the old
// state survives: written to a temporary file and renamed), and (term, vote) read back by a
// member on a restarted node.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  ErrLeaderStore,
  Leader,
  MessageDownPID,
  MessageLeaderVote,
  MessageLeaderVoteReply,
  ProcessID,
  fileLeaderStore,
  type Atom,
  type LeaderOptions,
  type LeaderStore,
  type PID,
  type Ref,
} from '../src/index.js';
import {
  Inbox,
  INDEX_URL,
  probe,
  quietNode,
  rejectsWith,
  runScript,
  scriptedPeer,
  thrown,
  within,
  withNode,
} from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ergo-leader-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
/** A fresh directory under the test's temporary root (not created). */
const fresh = (): string => join(root, `case${++seq}`);

/** A member that never campaigns (long timeouts): it only answers what the test sends. */
class Voter extends Leader {
  constructor(readonly store: LeaderStore) {
    super();
  }
  init(): LeaderOptions {
    return { clusterID: 'c1', electionTimeoutMin: 60_000, electionTimeoutMax: 60_001, store: this.store };
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request === 'term' ? this.term() : undefined;
  }
}

test('a missing directory loads as no state; the first save creates it; a new store reads it back', () => {
  const path = join(fresh(), 'a', 'b', 'member.json');
  assert.equal(fileLeaderStore(path).load(), undefined);
  fileLeaderStore(path).save({ term: 7, votedFor: 'x@n1' });
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { term: 7, votedFor: 'x@n1' });
  assert.deepEqual(fileLeaderStore(path).load(), { term: 7, votedFor: 'x@n1' });
  // Nothing is left beside it (the temporary file was renamed over it).
  assert.deepEqual(readdirSync(join(path, '..')), ['member.json']);
  thrown(() => fileLeaderStore(''), 'ERR_INCORRECT');
});

test('a corrupt state file: ErrIncorrect naming the file at load, and the member does not start', async () => {
  const dir = fresh();
  mkdirSync(dir);
  const bad = ['{"term":3,"votedFor":"x', 'not json', 'null', '[]', '{"term":-1,"votedFor":""}', '{"term":2}'];
  for (const [i, text] of bad.entries()) {
    const path = join(dir, `bad${i}.json`);
    writeFileSync(path, text);
    const e = thrown(() => fileLeaderStore(path).load(), 'ERR_INCORRECT');
    assert.ok(e.message.includes(path), e.message);
  }
  await withNode(async (node) => {
    const store = fileLeaderStore(join(dir, 'bad0.json'));
    await rejectsWith(
      node.spawn(() => new Voter(store)),
      'ERR_INCORRECT',
    );
    assert.ok(node.isAlive());
    // The file is left as it was, for a human to look at.
    assert.equal(readFileSync(join(dir, 'bad0.json'), 'utf8'), bad[0]);
  });
});

test('a state file that cannot be read or written: ErrLeaderStore with the OS code, never a crash', async () => {
  const dir = fresh();
  mkdirSync(dir);
  // A directory where the file should be: reading it fails (EISDIR), and so does the rename.
  const isDir = join(dir, 'member.json');
  mkdirSync(isDir);
  const r = thrown(() => fileLeaderStore(isDir).load(), 'ERR_LEADER_STORE');
  assert.ok(ErrLeaderStore.is(r));
  assert.match(r.message, /reading .*member\.json: EISDIR/);
  assert.equal((r.cause as NodeJS.ErrnoException).code, 'EISDIR');
  const w = thrown(() => fileLeaderStore(isDir).save({ term: 1, votedFor: '' }), 'ERR_LEADER_STORE');
  assert.match(w.message, /writing .*member\.json: EISDIR/);
  // A directory that cannot be made (a file is in the way), as for a read-only mount: a read
  // or a write under it fails with ErrLeaderStore.
  const file = join(dir, 'plain');
  writeFileSync(file, '');
  const under = join(file, 'member.json');
  assert.match(thrown(() => fileLeaderStore(under).load(), 'ERR_LEADER_STORE').message, /ENOTDIR/);
  assert.match(
    thrown(() => fileLeaderStore(under).save({ term: 1, votedFor: '' }), 'ERR_LEADER_STORE').message,
    /writing .*(ENOTDIR|EEXIST)/,
  );
  // A member given such a store does not start; the node runs on.
  await withNode(async (node) => {
    await rejectsWith(
      node.spawn(() => new Voter(fileLeaderStore(isDir))),
      'ERR_LEADER_STORE',
    );
    assert.ok(node.isAlive());
  });
});

test('a member that cannot save its vote stops with ErrLeaderStore before it votes; the node runs on', async () => {
  const dir = fresh();
  mkdirSync(dir);
  const path = join(dir, 'member.json');
  // The file loads (there is none) but every save fails: its temporary file is a directory.
  mkdirSync(`${path}.tmp`);
  await withNode(async (node) => {
    const inbox = new Inbox();
    const x = await scriptedPeer(node, 'x', inbox);
    const voter = await node.spawnRegister('v', () => new Voter(fileLeaderStore(path)));
    const downs = new Inbox();
    const watcher = await node.spawn(
      probe((msg, from, self) => {
        if (msg === 'watch') self.monitor(voter);
        else downs.push(msg, from);
      }),
    );
    node.send(watcher, 'watch');
    node.send(x, { to: voter, send: new MessageLeaderVote('c1', 1, x) });
    const [down] = await within(downs.count(1), 'the member to stop');
    assert.ok(down!.message instanceof MessageDownPID);
    const reason = down!.message.reason as Error & { code?: string };
    assert.equal(reason.code, 'ERR_LEADER_STORE', reason.message);
    assert.match(reason.message, /member\.json: EISDIR/);
    // It granted nothing it could not keep.
    assert.deepEqual(inbox.messages(), []);
    assert.ok(node.isAlive());
    assert.equal(existsSync(path), false);
  });
});

test('term and vote are read back by the member of a restarted node: it does not vote twice in a term', async () => {
  const path = join(fresh(), 'member.json');
  const name = `store${process.pid}@localhost`;
  let node = await quietNode({}, undefined, name);
  try {
    const inbox = new Inbox();
    const x = await scriptedPeer(node, 'x', inbox);
    const voter = await node.spawnRegister('v', () => new Voter(fileLeaderStore(path)));
    node.send(x, { to: voter, send: new MessageLeaderVote('c1', 3, x) });
    assert.deepEqual((await inbox.count(1))[0]!.message, new MessageLeaderVoteReply('c1', 3, true));
  } finally {
    await node.stopForce();
  }
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { term: 3, votedFor: `x@${name}` });
  node = await quietNode({}, undefined, name);
  try {
    const inbox = new Inbox();
    const y = await scriptedPeer(node, 'y', inbox);
    const voter = await node.spawnRegister('v', () => new Voter(fileLeaderStore(path)));
    assert.equal(await node.call(new ProcessID('v' as Atom), 'term'), 3);
    node.send(y, { to: voter, send: new MessageLeaderVote('c1', 3, y) });
    assert.deepEqual((await inbox.count(1))[0]!.message, new MessageLeaderVoteReply('c1', 3, false));
    node.send(y, { to: voter, send: new MessageLeaderVote('c1', 4, y) });
    assert.deepEqual((await inbox.count(2))[1]!.message, new MessageLeaderVoteReply('c1', 4, true));
  } finally {
    await node.stopForce();
  }
  assert.deepEqual(fileLeaderStore(path).load(), { term: 4, votedFor: `y@${name}` });
});

/**
 * Saves term 1, then term 2 with `fs.<patch>` replaced by a crash (SIGKILL of the process): in
 * the middle of the write (half the bytes written), or after the write and before the rename.
 */
function crashScript(path: string, crash: 'write' | 'rename'): string {
  return `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const { fileLeaderStore } = await import(${JSON.stringify(INDEX_URL)});
const store = fileLeaderStore(${JSON.stringify(path)});
store.save({ term: 1, votedFor: 'a@n' });
const die = () => process.kill(process.pid, 'SIGKILL');
if (${JSON.stringify(crash)} === 'write') {
  const write = fs.writeSync;
  fs.writeSync = (fd, data) => { write(fd, String(data).slice(0, String(data).length >> 1)); die(); };
} else {
  fs.renameSync = die;
}
syncBuiltinESMExports();
console.log('saving term 2');
store.save({ term: 2, votedFor: 'b@n' });
console.log('saved term 2');
`;
}

for (const crash of ['write', 'rename'] as const) {
  test(`a crash ${crash === 'write' ? 'in the middle of the write' : 'between the write and the rename'} leaves the old state; the next save succeeds`, async () => {
    const path = join(fresh(), 'member.json');
    const run = await runScript(crashScript(path, crash));
    assert.equal(run.code, null, `the process was killed: ${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /saving term 2/);
    assert.doesNotMatch(run.stdout, /saved term 2/);
    // Old state, whole; the temporary file the crash left is ignored, then overwritten.
    assert.deepEqual(fileLeaderStore(path).load(), { term: 1, votedFor: 'a@n' });
    assert.ok(existsSync(`${path}.tmp`));
    fileLeaderStore(path).save({ term: 3, votedFor: 'c@n' });
    assert.deepEqual(fileLeaderStore(path).load(), { term: 3, votedFor: 'c@n' });
    assert.equal(existsSync(`${path}.tmp`), false);
  });
}
