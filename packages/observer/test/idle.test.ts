// The idle rule of the inspectors the Observer watches: when a page's last subscription to an
// event ends, the hub lets the event go (hub.ts), and the inspector on the observed node, with no
// subscriber and no answer for its idle period, stops sampling and exits, so an inspector nobody
// watches costs nothing. The subscription is held until the inspector has sampled for longer
// than its idle period: its first idle timer (armed at its start) has fired while it was
// sampling, and only the rule (re-armed when its last subscriber left) can end it.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually, within } from '@ergo-ts/test-support';
import { Actor, MessageDownPID, type PID } from 'ergo-ts';

import { HUB_NAME } from '../src/index.js';
import { StreamClient, post, startObserved, WAIT } from './helpers.js';

/**
 * Samples to see before unsubscribing: the inspector samples once a second (INSPECT_PERIOD in
 * ergo-ts' app/system/inspector.ts), so the last of 7 comes at least 6 s after it started, past
 * its idle period (INSPECT_IDLE, 5 s).
 */
const SAMPLES = 7;

class Idle extends Actor {}

/** Monitors `target` and hands its down message to `down`. */
class Watcher extends Actor {
  #down!: (m: MessageDownPID) => void;
  override init(target: PID, down: (m: MessageDownPID) => void): void {
    this.#down = down;
    this.monitorPID(target);
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof MessageDownPID) this.#down(message);
  }
}

test('an inspector the Observer no longer watches stops sampling and exits after its idle period', async () => {
  const { node, url } = await startObserved();
  const stream = await StreamClient.open(url);
  try {
    await stream.waitFor('connected');
    const h = { 'x-observer-session': stream.session };
    const observed = await node.spawn(Idle, {});
    const mine = (d: unknown): boolean => JSON.stringify(d).includes(String(observed));
    const sub = await post(url, '/api/subscribe', { type: 'process_info', args: { pid: String(observed) }, id: 1 }, h);
    assert.equal(sub.status, 200, sub.body.error);
    const inspector = node.processPID(`inspect_process_${String(observed)}`);
    let down: MessageDownPID | undefined;
    let settle!: (m: MessageDownPID) => void;
    const ended = new Promise<MessageDownPID>((resolve) => (settle = resolve));
    await node.spawn(Watcher, {}, inspector, (m: MessageDownPID) => settle((down = m)));

    // Sampling while subscribed, past the inspector's idle period.
    const samples = (): number => stream.frames.filter((f) => f.event === 'process_info' && mine(f.data)).length;
    await eventually(() => samples() >= SAMPLES, `${SAMPLES} samples`, { timeoutMs: 30_000, intervalMs: 50 });
    assert.equal(down, undefined, 'the inspector samples while it is watched');
    assert.equal((await node.inspect(HUB_NAME)).events, '1');

    const gone = await post(
      url,
      '/api/unsubscribe',
      { type: 'process_info', args: { pid: String(observed) }, id: 1 },
      h,
    );
    assert.equal(gone.status, 200, gone.body.error);
    await eventually(async () => (await node.inspect(HUB_NAME)).events === '0', 'the hub to let the event go', WAIT);
    // The guard outlasts the idle period (5 s) on a loaded machine; without the rule it never ends.
    const exit = await within(ended, 'the unwatched inspector to exit', 30_000);
    assert.equal(exit.reason.message, 'normal', 'it ends on its own, not killed');
    assert.throws(() => node.processPID(`inspect_process_${String(observed)}`), 'its name is free again');
  } finally {
    stream.close();
    await node.stop();
  }
});
