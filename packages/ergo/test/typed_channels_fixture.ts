// A node in its own OS process for test/typed.channels.remote.test.ts: a bank whose withdraw call
// declares typed errors ('bank'), a process whose schema throws ('thrower'), a union of a class
// and a string literal ('union'), an echo of what arrives ('echo') and an Actor.define counter
// ('defined'). Reports `{ name, port }` over IPC; `{ cmd: 'lines' }` answers the protocol
// warnings logged so far.

import {
  Actor,
  CallFailure,
  defineProtocol,
  schema,
  startNode,
  type MessageLog,
  type PID,
  type Ref,
} from '../src/index.js';
import { Bank, Put } from './typed_channels_protocol.js';

class BankActor extends Actor.of(Bank) {
  balance = 10;
  override handleCall(_from: PID, _ref: Ref, req: { withdraw: number } | 'balance') {
    if (req === 'balance') return this.balance;
    if (req.withdraw > this.balance) return this.fail(req, { kind: 'insufficient', balance: this.balance });
    return (this.balance -= req.withdraw);
  }
}

const Thrower = defineProtocol('thrower', {
  calls: {
    boom: {
      request: {
        '~standard': {
          version: 1,
          vendor: 'test',
          validate: (): never => {
            throw new Error('schema blew up');
          },
        },
      },
      reply: schema.string(),
    },
  },
});
class ThrowerActor extends Actor.of(Thrower) {
  override handleCall() {
    return 'reached';
  }
}

const Union = defineProtocol('union', {
  calls: {
    put: { request: schema.instance(Put), reply: schema.string() },
    ping: { request: schema.literal('ping'), reply: schema.string() },
  },
});
class UnionActor extends Actor.of(Union) {
  override handleCall() {
    return 'ok';
  }
}

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, req: unknown) {
    return req;
  }
}

const Counter = defineProtocol('dcounter', {
  calls: {
    add: { request: schema.object({ add: schema.integer() }), reply: schema.number() },
    take: {
      request: schema.object({ take: schema.integer() }),
      reply: schema.number(),
      errors: { short: schema.object({ short: schema.number() }) },
    },
  },
});
const Defined = Actor.define(Counter, {
  init: () => ({ n: 0 }),
  calls: {
    add: (req, self) => (self.data.n += req.add),
    take: (req, self) =>
      req.take > self.data.n ? self.fail(req, { short: req.take - self.data.n }) : (self.data.n -= req.take),
  },
});
void CallFailure;

const lines: string[] = [];
const name = process.env.TYPED_FIXTURE_NAME ?? `typedch${process.pid}@localhost`;
const node = await startNode(name, {
  network: { cookie: 'typed-secret', acceptors: [{ port: 0 }], registrar: null },
  log: {
    defaultLogger: { disable: true },
    loggers: [
      {
        name: 'capture',
        logger: {
          log(m: MessageLog): void {
            if (m.format.startsWith('protocol')) lines.push(m.args.map(String).join(' | '));
          },
        },
        filter: ['warning'],
      },
    ],
  },
});
await node.spawnRegister('bank', BankActor, {});
await node.spawnRegister('thrower', ThrowerActor, {});
await node.spawnRegister('union', UnionActor, {});
await node.spawnRegister('echo', Echo, {});
await node.spawnRegister('defined', Defined, {});
const i = node.network().acceptors()[0]!.info().interface;
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'lines') process.send!({ kind: 'lines', lines });
});
process.send!({ kind: 'ready', name, port: Number(i.slice(i.lastIndexOf(':') + 1)) });
