// The dial's re-ask of a registrar that did not answer in time is the registrar's to allow
// (Registrar.resolveRetryable), and "did not answer" is a typed error (RegistrarUnansweredError,
// code ERR_REGISTRAR_UNAVAILABLE, `unanswered`), not a text to match. The embedded registrar says
// yes (it runs on the peer's own, maybe busy, host); any other registrar is asked once, its
// silence failing the dial at once with ERR_REGISTRAR_UNAVAILABLE — a version named like the
// embedded one ('ESRD') included. A small dialTimeout bounds each ask; the tests wait for the call's
// error, never for time.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { ProcessID, startNode, type Atom, type Node } from '../src/index.js';
import type { Event } from '../src/gen/event.js';
import type {
  ApplicationRoute,
  NodeRegistrar,
  ProxyRoute,
  Registrar,
  RegistrarInfo,
  Resolver,
  Route,
} from '../src/gen/network.js';
import type { Version } from '../src/gen/node.js';
import { ErrUnsupported } from '../src/gen/errors.js';
import {
  EmbeddedRegistrar,
  EmbeddedResolver,
  RegistrarUnansweredError,
  isRegistrarUnanswered,
} from '../src/net/registrar/index.js';
import { freePort } from './registrar_helpers.js';

/** A registrar whose resolve never answers; counts the asks. */
class SilentRegistrar implements Registrar {
  asks = 0;
  readonly resolveRetryable?: boolean;
  readonly #version: Version;
  constructor(name: string, retryable?: boolean) {
    this.#version = { name, release: 'R1', license: '' };
    if (retryable !== undefined) this.resolveRetryable = retryable;
  }
  register(_node: NodeRegistrar): Promise<void> {
    return Promise.resolve();
  }
  resolver(): Resolver {
    return {
      resolve: (): Promise<Route[]> => {
        this.asks += 1;
        return new Promise<Route[]>(() => undefined);
      },
      resolveProxy: (): Promise<ProxyRoute[]> => Promise.reject(ErrUnsupported),
      resolveApplication: (): Promise<ApplicationRoute[]> => Promise.reject(ErrUnsupported),
    };
  }
  registerProxy(): Promise<void> {
    return Promise.reject(ErrUnsupported);
  }
  unregisterProxy(): Promise<void> {
    return Promise.reject(ErrUnsupported);
  }
  registerApplicationRoute(): Promise<void> {
    return Promise.resolve();
  }
  unregisterApplicationRoute(): Promise<void> {
    return Promise.resolve();
  }
  nodes(): Promise<Atom[]> {
    return Promise.resolve([]);
  }
  configItem(): Promise<unknown> {
    return Promise.reject(ErrUnsupported);
  }
  config(): Promise<Map<string, unknown>> {
    return Promise.resolve(new Map());
  }
  event(): Event {
    throw ErrUnsupported;
  }
  info(): RegistrarInfo {
    return {
      server: '',
      embeddedServer: false,
      version: this.version(),
      supportConfig: false,
      supportEvent: false,
      supportRegisterProxy: false,
      supportRegisterApplication: false,
    };
  }
  version(): Version {
    return { ...this.#version };
  }
  terminate(): void {}
}

/**
 * A node on loopback with `registrar`: each ask bounded by dialTimeout (100 ms), the dial window
 * 100 + 3 × `handshakeTimeout` ms.
 */
function nodeWith(name: string, registrar: Registrar, handshakeTimeout = 100): Promise<Node> {
  return startNode(name, {
    log: { level: 'error' as never },
    network: {
      cookie: 'reask',
      acceptors: [{ host: '127.0.0.1', port: 0 }],
      registrar,
      dialTimeout: 100,
      handshakeTimeout,
    },
  });
}

/** Calls a process on `peer` (never up) with a long timeout: the dial's error comes first. */
async function dialError(node: Node, peer: string): Promise<Error & { code?: string }> {
  try {
    await node.call(new ProcessID('echo' as Atom, peer as Atom), 'ping', { timeout: 30_000 });
  } catch (e) {
    return e as Error & { code?: string };
  }
  assert.fail('the call to a node nobody can resolve succeeded');
}

test('the embedded registrar allows the re-ask; its unanswered resolve is a RegistrarUnansweredError, a refusal is not', async () => {
  assert.equal(new EmbeddedRegistrar({ port: await freePort() }).resolveRetryable, true);
  // A UDP socket that never answers: the resolver's own timeout.
  const silent = dgram.createSocket('udp4');
  silent.bind(0, '127.0.0.1');
  await once(silent, 'listening');
  try {
    const unanswered = new EmbeddedResolver({ port: silent.address().port, resolveTimeout: 50 });
    const err = await unanswered.resolve('x@127.0.0.1' as Atom).then(
      () => assert.fail('a silent registrar answered'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RegistrarUnansweredError);
    assert.equal(err.code, 'ERR_REGISTRAR_UNAVAILABLE');
    assert.equal(err.unanswered, true);
    assert.match(err.message, /^registrar unavailable: no reply from the registrar at 127\.0\.0\.1:\d+ within 50 ms/);
    assert.equal(isRegistrarUnanswered(err), true);
    // Found down a cause chain too (a dial's wrapping error).
    assert.equal(isRegistrarUnanswered(new Error('dial failed', { cause: err })), true);
  } finally {
    silent.close();
  }
  // Nobody on the port: the kernel refuses, a refusal is not "unanswered".
  const refused = new EmbeddedResolver({ port: await freePort(), resolveTimeout: 5000 });
  const err = await refused.resolve('x@127.0.0.1' as Atom).then(
    () => assert.fail('nobody answered'),
    (e: unknown) => e as Error & { code?: string },
  );
  assert.equal(err.code, 'ERR_REGISTRAR_UNAVAILABLE');
  assert.equal(isRegistrarUnanswered(err), false);
});

test('a registrar that does not allow the re-ask (none said, or false) is asked once: the dial fails at once', async () => {
  for (const registrar of [
    new SilentRegistrar('custom'),
    new SilentRegistrar('ESRD'),
    new SilentRegistrar('x', false),
  ]) {
    const node = await nodeWith('once@127.0.0.1', registrar);
    try {
      const err = await dialError(node, 'ghost@127.0.0.1');
      assert.equal(err.code, 'ERR_REGISTRAR_UNAVAILABLE', err.message);
      assert.match(err.message, /could not resolve ghost@127\.0\.0\.1: no answer within 100 ms/);
      assert.equal(isRegistrarUnanswered(err), true);
      assert.equal(registrar.asks, 1, `${registrar.version().name} asked ${registrar.asks} times`);
    } finally {
      await node.stop();
    }
  }
});

test('a registrar that allows the re-ask is asked again while the dial window lasts, then the dial fails with its error', async () => {
  const registrar = new SilentRegistrar('patient', true);
  // A window of 3.1 s for 100 ms asks: a second ask even on a loaded machine.
  const node = await nodeWith('again@127.0.0.1', registrar, 1000);
  try {
    const err = await dialError(node, 'ghost@127.0.0.1');
    assert.equal(err.code, 'ERR_REGISTRAR_UNAVAILABLE', err.message);
    assert.match(err.message, /registrar patient R1 could not resolve ghost@127\.0\.0\.1: no answer within 100 ms/);
    assert.ok(registrar.asks >= 2, `asked ${registrar.asks} times`);
  } finally {
    await node.stop();
  }
});
