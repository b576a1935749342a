// Cron end to end on a real node (issue 4 item 4): jobs from NodeOptions.cron and from
// node.cron().addJob fire at the wall-clock minute with a message action (a real actor gets
// MessageCron), a spawn action (the spawned process sees the CRON_* env) and a failing action
// (the fallback process gets MessageCronFallback). The node offers no way to inject a clock, so
// time is faked globally with node:test's mock timers (setTimeout + Date, installed before the
// node starts, so the node's own cron service arms its timer on the fake clock). Time is the
// subject here; everything else is real (node, processes, mailboxes, scheduler).

import { strict as assert } from 'node:assert';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';

import {
  Actor,
  CronEnvJobActionTime,
  CronEnvJobName,
  CronEnvNodeName,
  MessageCron,
  MessageCronFallback,
  MessagePriority,
  createCronActionMessage,
  createCronActionSpawn,
  type CronJob,
  type HandlerResult,
  type Node,
  type NodeOptions,
  type PID,
} from '../src/index.js';
import { Recorder, guardUnhandled, rejectsCode, supNode, throwsCode } from './supervision_helpers.js';

guardUnhandled();

const START = Date.parse('2025-03-10T10:00:30Z');
const MINUTE = 60_000;

/** Records every message it gets (tag = its registered name). */
class Sink extends Actor {
  rec!: Recorder;
  tag!: string;
  override init(rec: Recorder, tag: string): unknown {
    this.rec = rec;
    this.tag = tag;
    return undefined;
  }
  override handleMessage(from: PID, message: unknown): HandlerResult {
    this.rec.push({ ev: 'message', tag: this.tag, pid: this.pid, message: { from, message } });
    return undefined;
  }
}

/** Spawned by a cron spawn action: records its init args and env. */
class CronSpawned extends Actor {
  override init(rec: Recorder, tag: string): unknown {
    rec.push({ ev: 'init', tag, pid: this.pid, args: [this.envList(), this.parent] });
    return undefined;
  }
}

let node: Node | null = null;

async function start(options: NodeOptions = {}): Promise<Node> {
  node = await supNode(options);
  return node;
}

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
});

afterEach(async () => {
  if (node !== null) await node.stopForce();
  node = null;
  mock.timers.reset();
});

/** Moves the fake clock to the next minute boundary (firing the cron timer). */
function nextMinute(): Date {
  const now = Date.now();
  const next = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  mock.timers.tick(next - now);
  return new Date(next);
}

function messagesOf(rec: Recorder, tag: string): unknown[] {
  return rec.log.flatMap((r) =>
    r.ev === 'message' && r.tag === tag ? [(r.message as { message: unknown }).message] : [],
  );
}

function job(name: string, action: CronJob['action'], extra: Partial<CronJob> = {}): CronJob {
  return { name, spec: '* * * * *', location: 'UTC', action, ...extra };
}

describe('cron on a real node', () => {
  it('a job from the node options sends MessageCron to a registered actor at each minute', async () => {
    const rec = new Recorder();
    const n = await start({ cron: { jobs: [job('tick', createCronActionMessage('receiver', MessagePriority.High))] } });
    await n.spawnRegister('receiver', Sink, {}, rec, 'receiver');
    assert.equal(n.cron().info().next.getTime(), START - 30_000 + MINUTE, 'next evaluation: the coming minute');
    assert.deepEqual(n.cron().info().spool, ['tick']);

    const t1 = nextMinute();
    await rec.until((r) => r.ev === 'message' && r.tag === 'receiver', 1, 'the first MessageCron');
    const m = messagesOf(rec, 'receiver')[0] as MessageCron;
    assert.ok(m instanceof MessageCron);
    assert.equal(m.node, n.name);
    assert.equal(m.job, 'tick');
    assert.equal(m.time.getTime(), t1.getTime(), 'time is the minute of the run');
    const from = (rec.log.find((r) => r.ev === 'message') as { message: { from: PID } }).message.from;
    assert.ok(from.equals(n.pid), 'sent by the node');

    const info = n.cron().jobInfo('tick');
    assert.equal(info.lastRun!.getTime(), t1.getTime());
    assert.equal(info.lastErr, '');
    assert.equal(info.actionInfo, "send message to 'receiver' with high priority");

    const t2 = nextMinute();
    await rec.until((r) => r.ev === 'message' && r.tag === 'receiver', 2, 'the second MessageCron');
    assert.equal((messagesOf(rec, 'receiver')[1] as MessageCron).time.getTime(), t2.getTime());
  });

  it('node.cron().addJob: a spawn action starts a process that sees CRON_* in its env', async () => {
    const rec = new Recorder();
    const n = await start();
    n.cron().addJob(
      job(
        'spawner',
        createCronActionSpawn(CronSpawned, { args: [rec, 'spawned'], processOptions: { env: { extra: 1 } } }),
      ),
    );
    const t = nextMinute();
    const r = (
      await rec.until((x) => x.ev === 'init' && x.tag === 'spawned', 1, 'the spawned process')
    )[0] as unknown as { args: [Record<string, unknown>, PID]; pid: PID };
    const [env, parent] = r.args;
    assert.equal(env[CronEnvNodeName], n.name);
    assert.equal(env[CronEnvJobName], 'spawner');
    assert.ok(env[CronEnvJobActionTime] instanceof Date);
    assert.equal((env[CronEnvJobActionTime] as Date).getTime(), t.getTime());
    assert.equal(env.EXTRA, 1, 'processOptions.env kept');
    assert.ok(parent.equals(n.pid), 'spawned by the node');
    assert.ok(
      n.processList().some((p) => p.equals(r.pid)),
      'it runs on the node',
    );

    nextMinute();
    await rec.until((x) => x.ev === 'init' && x.tag === 'spawned', 2, 'a second spawn the next minute');
  });

  it('a failing action sends MessageCronFallback to the fallback process and records lastErr', async () => {
    const rec = new Recorder();
    const n = await start();
    await n.spawnRegister('fb', Sink, {}, rec, 'fb');
    n.cron().addJob(
      job('orphan', createCronActionMessage('nobody'), { fallback: { enable: true, name: 'fb', tag: 'T1' } }),
    );
    await n.spawnRegister('taken', Sink, {}, rec, 'taken');
    n.cron().addJob(
      job('clash', createCronActionSpawn(CronSpawned, { register: 'taken', args: [rec, 'never'] }), {
        fallback: { enable: true, name: 'fb', tag: 'T2' },
      }),
    );
    const t = nextMinute();
    await rec.until((r) => r.ev === 'message' && r.tag === 'fb', 2, 'two fallbacks');
    const fallbacks = messagesOf(rec, 'fb') as MessageCronFallback[];
    const byJob = new Map(fallbacks.map((f) => [f.job, f]));
    const orphan = byJob.get('orphan')!;
    assert.ok(orphan instanceof MessageCronFallback);
    assert.equal(orphan.tag, 'T1');
    assert.equal(orphan.time.getTime(), t.getTime());
    assert.equal((orphan.err as { code?: string }).code, 'ERR_PROCESS_UNKNOWN');
    const clash = byJob.get('clash')!;
    assert.equal(clash.tag, 'T2');
    assert.equal((clash.err as { code?: string }).code, 'ERR_TAKEN');
    assert.notEqual(n.cron().jobInfo('orphan').lastErr, '');
    assert.notEqual(n.cron().jobInfo('clash').lastErr, '');
    assert.equal(rec.inits('never'), 0);
  });

  it('disabled and removed jobs do not run; job management errors', async () => {
    const rec = new Recorder();
    const n = await start();
    await n.spawnRegister('r', Sink, {}, rec, 'r');
    const cron = n.cron();
    cron.addJob(job('a', createCronActionMessage('r')));
    cron.addJob(job('b', createCronActionMessage('r')));
    cron.addJob(job('c', createCronActionMessage('r'), { spec: '0 0 1 1 *' }));
    throwsCode(() => cron.addJob(job('a', createCronActionMessage('r'))), 'ERR_TAKEN');
    throwsCode(() => cron.addJob(job('bad', createCronActionMessage('r'), { spec: '61 * * * *' })), 'ERR_INCORRECT');
    throwsCode(() => cron.removeJob('zz'), 'ERR_UNKNOWN');
    cron.disableJob('a');
    cron.removeJob('b');
    assert.deepEqual(cron.info().spool, [], 'nothing due next minute');
    nextMinute();
    // a later job that runs proves the minute was evaluated
    cron.enableJob('a');
    const t = nextMinute();
    await rec.until((r) => r.ev === 'message' && r.tag === 'r', 1, 'a MessageCron');
    const got = messagesOf(rec, 'r') as MessageCron[];
    assert.deepEqual(
      got.map((m) => [m.job, m.time.getTime()]),
      [['a', t.getTime()]],
      'only the re-enabled job, only at the later minute',
    );
    assert.equal(cron.jobInfo('c').lastRun, null);
  });

  it('an invalid job in the node options fails startNode; cron is gone once the node stopped', async () => {
    await assert.rejects(
      supNode({ cron: { jobs: [{ name: 'x', spec: 'nope', action: createCronActionMessage('r') }] } }),
      { code: 'ERR_INCORRECT' },
    );
    const rec = new Recorder();
    const n = await start({ cron: { jobs: [job('t', createCronActionMessage('r'))] } });
    await n.spawnRegister('r', Sink, {}, rec, 'r');
    await n.stop();
    throwsCode(() => n.cron(), 'ERR_NODE_TERMINATED');
    nextMinute(); // the stopped service does not fire
    assert.equal(
      rec.count((r) => r.ev === 'message'),
      0,
    );
    await rejectsCode(n.call('r', 'x'), 'ERR_NODE_TERMINATED');
  });
});
