// Issue 34 item 5: the metric and health helpers never end their caller. Un-awaited register
// Promises on an absent Metrics / Health actor, or on one that dies with the calls pending (a
// crash before its restart), must not reach unhandledRejection (the strict runner fails the run
// if one does; the `after` hook below names it), the awaited form rejects with a coded error,
// and the update helpers on an absent actor return that error instead of killing the emitter,
// which still answers a call afterwards.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';

import { Actor, ErgoError, startNode, type Node, type PID, type Ref } from 'ergo-ts';
import { WebMux } from 'ergo-ts/meta';
import { waitForTermination } from 'ergo-ts/testing';

import {
  Metrics,
  MetricRegisterRequest,
  counterAdd,
  gaugeAdd,
  gaugeSet,
  heartbeat,
  histogramObserve,
  registerCounter,
  registerGauge,
  registerHistogram,
  registerService,
  registerTopN,
  signalDown,
  signalUp,
  topNObserve,
  unregisterMetric,
  unregisterService,
  type MetricsOptions,
} from '../src/index.js';

const watch = new UnhandledWatch('a helper');

/** The code of a helper's returned error ('sent' for none). */
function codeOf(err: unknown): string {
  if (err === undefined) return 'sent';
  return err instanceof ErgoError ? err.code : String(err);
}

/** Emits every helper at `metrics` / `health`; answers 'results' with what each returned. */
class Emitter extends Actor {
  private readonly results: Record<string, string> = {};

  override handleMessage(_from: PID, m: unknown): void {
    if (m === 'update') {
      const r = this.results;
      r.gaugeSet = codeOf(gaugeSet(this, 'g', 1));
      r.gaugeAdd = codeOf(gaugeAdd(this, 'g', 1));
      r.counterAdd = codeOf(counterAdd(this, 'c', 1));
      r.histogramObserve = codeOf(histogramObserve(this, 'h', 1));
      r.topNObserve = codeOf(topNObserve(this, 't', 1));
      r.unregisterMetric = codeOf(unregisterMetric(this, 'g'));
      r.heartbeat = codeOf(heartbeat(this, 's'));
      r.signalUp = codeOf(signalUp(this, 's'));
      r.signalDown = codeOf(signalDown(this, 's'));
      return;
    }
    if (m === 'register') {
      // Left un-awaited on purpose: each rejects (no such actor) and nobody handles it.
      void registerGauge(this, 'g', 'a gauge');
      void registerCounter(this, 'c', 'a counter');
      void registerHistogram(this, 'h', 'a histogram');
      void registerTopN(this, 't', 'a top-N', 5);
      void registerService(this, 's');
      void unregisterService(this, 's');
      return;
    }
    if (m === 'register pending') {
      // Both reach the held Metrics actor, which dies before answering: one ignored, one watched.
      void registerGauge(this, 'held_ignored', 'a gauge');
      registerCounter(this, 'held_watched', 'a counter').then(
        () => (this.results.heldWatched = 'resolved'),
        (e: unknown) => (this.results.heldWatched = codeOf(e)),
      );
    }
  }

  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request === 'results' ? { ...this.results } : undefined;
  }
}

/** A real Metrics actor that holds register requests unanswered and says so: a crash mid-call. */
class HeldMetrics extends Metrics {
  private onHeld: (name: string) => void = () => undefined;
  override async init(options: MetricsOptions & { onHeld?: (name: string) => void } = {}): Promise<void> {
    if (options.onHeld !== undefined) this.onHeld = options.onHeld;
    await super.init(options);
  }
  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (!(request instanceof MetricRegisterRequest)) return super.handleCall(from, ref, request);
    this.onHeld(request.name);
    return undefined;
  }
}

let node: Node;

before(async () => {
  watch.start();
  node = await startNode('unawaited-metrics@localhost', { log: { level: 'warning' } });
});

after(async () => {
  await node.stop();
  watch.stop();
});

test('update helpers on an absent Metrics / Health actor return ERR_PROCESS_UNKNOWN; the emitter lives on', async () => {
  const pid = await node.spawn(Emitter, {});
  node.send(pid, 'update');
  const results = await node.call(pid, 'results');
  const names = ['gaugeSet', 'gaugeAdd', 'counterAdd', 'histogramObserve', 'topNObserve', 'unregisterMetric'];
  const expected = Object.fromEntries(
    [...names, 'heartbeat', 'signalUp', 'signalDown'].map((n) => [n, 'ERR_PROCESS_UNKNOWN']),
  );
  assert.deepEqual(results, expected);
});

test('register helpers left un-awaited on an absent actor: the process survives, the emitter answers', async () => {
  const pid = await node.spawn(Emitter, {});
  node.send(pid, 'register');
  assert.deepEqual(await node.call(pid, 'results'), {});
});

test('register helpers awaited on an absent actor reject with ERR_PROCESS_UNKNOWN', async () => {
  const code = { code: 'ERR_PROCESS_UNKNOWN' };
  await assert.rejects(registerGauge(node, 'g', 'a gauge'), code);
  await assert.rejects(registerCounter(node, 'c', 'a counter'), code);
  await assert.rejects(registerHistogram(node, 'h', 'a histogram'), code);
  await assert.rejects(registerTopN(node, 't', 'a top-N', 5), code);
  await assert.rejects(registerService(node, 's'), code);
  await assert.rejects(unregisterService(node, 's'), code);
});

test('the Metrics actor dies with register calls pending: ignored ones are safe, awaited ones get ERR_PROCESS_TERMINATED', async () => {
  const held = new Set<string>();
  let bothHeld!: () => void;
  const reached = new Promise<void>((resolve) => (bothHeld = resolve));
  const onHeld = (name: string): void => {
    held.add(name);
    if (held.size === 2) bothHeld();
  };
  const metrics = await node.spawnRegister('metrics', HeldMetrics, {}, { mux: new WebMux(), nodejs: false, onHeld });
  const emitter = await node.spawn(Emitter, {});
  node.send(emitter, 'register pending');
  await reached;
  // Terminated, its name free again: the window in which a supervisor restarts it.
  const down = waitForTermination(node, metrics, { timeout: 30_000 });
  node.kill(metrics);
  await down;
  node.send(emitter, 'update');
  const results = (await node.call(emitter, 'results')) as Record<string, string>;
  assert.equal(results.heldWatched, 'ERR_PROCESS_TERMINATED');
  assert.equal(results.gaugeSet, 'ERR_PROCESS_UNKNOWN');
});
