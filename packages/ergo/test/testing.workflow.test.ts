// Ergo's testing/unit workflow_test.go scenarios, ported: an order actor walking through items,
// validation by a spawned validator, payment retried with sendAfter on the test clock, and
// cancellation; a manager spawning workers, reporting to a metrics process, and stopping them with
// exit signals. Multi-step flows are driven message by message and asserted on the history.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { Actor, PID, TerminateReasonNormal } from '../src/index.js';
import { satisfies, spawnTest, structureMatching } from '../src/testing/index.js';

class AddItem {
  constructor(
    readonly item: string,
    readonly price: number,
  ) {}
}
class SubmitOrder {}
class GetOrderStatus {}
class CancelOrder {}
class ValidateOrder {
  constructor(
    readonly orderID: string,
    readonly items: string[],
    readonly total: number,
  ) {}
}
class ValidationResult {
  constructor(
    readonly orderID: string,
    readonly valid: boolean,
    readonly reason: string,
  ) {}
}
class ProcessPayment {
  constructor(readonly orderID: string) {}
}
class ItemAdded {
  constructor(
    readonly orderID: string,
    readonly item: string,
    readonly total: number,
  ) {}
}
class OrderError {
  constructor(
    readonly orderID: string,
    readonly error: string,
  ) {}
}
class OrderStatus {
  constructor(
    readonly orderID: string,
    readonly state: string,
    readonly items: string[],
    readonly total: number,
    readonly retries: number,
  ) {}
}
class OrderConfirmed {
  constructor(
    readonly orderID: string,
    readonly total: number,
  ) {}
}
class OrderFailed {
  constructor(
    readonly orderID: string,
    readonly reason: string,
  ) {}
}
class OrderCancelled {
  constructor(
    readonly orderID: string,
    readonly previousState: string,
  ) {}
}

class Validator extends Actor {
  override handleMessage(from: PID, m: unknown): Error | undefined {
    if (!(m instanceof ValidateOrder)) return undefined;
    const valid = m.items.length > 0 && m.total > 0;
    this.send(from, new ValidationResult(m.orderID, valid, valid ? '' : 'invalid'));
    return TerminateReasonNormal;
  }
}

class OrderActor extends Actor {
  orderState = 'pending';
  items: string[] = [];
  total = 0;
  retries = 0;
  orderID = '';
  customer!: PID;
  maxRetries = 3;

  override init(orderID: string, customer: PID): void {
    this.orderID = orderID;
    this.customer = customer;
  }

  override async handleMessage(from: PID, m: unknown): Promise<Error | undefined> {
    if (m instanceof AddItem) {
      this.items.push(m.item);
      this.total = Math.round((this.total + m.price) * 100) / 100;
      this.send(this.customer, new ItemAdded(this.orderID, m.item, this.total));
    } else if (m instanceof SubmitOrder) {
      if (this.items.length === 0) {
        this.send(this.customer, new OrderError(this.orderID, 'no items in order'));
        return undefined;
      }
      this.orderState = 'validating';
      const validator = await this.spawn(Validator, {});
      this.send(validator, new ValidateOrder(this.orderID, this.items, this.total));
    } else if (m instanceof ValidationResult) {
      if (!m.valid) return TerminateReasonNormal;
      this.orderState = 'processing_payment';
      this.send(this.pid, new ProcessPayment(this.orderID));
    } else if (m instanceof ProcessPayment) {
      const success = this.total < 1000 && this.retries < 2;
      this.retries++;
      if (!success && this.retries <= this.maxRetries) {
        this.log.warning('payment failed for order %s, retry %d', this.orderID, this.retries);
        this.sendAfter(this.pid, new ProcessPayment(this.orderID), 100);
        return undefined;
      }
      if (!success) {
        this.orderState = 'failed';
        this.send(this.customer, new OrderFailed(this.orderID, `payment failed after ${this.maxRetries} retries`));
        return TerminateReasonNormal;
      }
      this.orderState = 'confirmed';
      this.send(this.customer, new OrderConfirmed(this.orderID, this.total));
    } else if (m instanceof GetOrderStatus) {
      this.send(from, new OrderStatus(this.orderID, this.orderState, this.items.slice(), this.total, this.retries));
    } else if (m instanceof CancelOrder) {
      const previous = this.orderState;
      this.orderState = 'cancelled';
      this.send(this.customer, new OrderCancelled(this.orderID, previous));
      return TerminateReasonNormal;
    }
    return undefined;
  }
}

const customer = new PID('test', 123, 1);
const nobody = new PID('', 0, 0);

describe('testing kit, Ergo workflow scenarios', () => {
  test('TestOrderWorkflow_CompleteFlow: items, status, submit, validation, payment', async () => {
    const order = await spawnTest(OrderActor, { args: ['ORDER-001', customer] });
    await order.sendMessage(nobody, new AddItem('laptop', 899.99));
    await order.sendMessage(nobody, new AddItem('mouse', 29.99));
    order
      .shouldSend()
      .to(customer)
      .message(new ItemAdded('ORDER-001', 'laptop', 899.99))
      .once();
    order
      .shouldSend()
      .to(customer)
      .message(new ItemAdded('ORDER-001', 'mouse', 929.98))
      .once();

    await order.sendMessage(nobody, new GetOrderStatus());
    order
      .shouldSend()
      .to(nobody)
      .message(
        structureMatching(OrderStatus, {
          orderID: 'ORDER-001',
          state: 'pending',
          items: satisfies((i: string[]) => i.length === 2),
        }),
      )
      .once();

    await order.sendMessage(nobody, new SubmitOrder());
    const validator = order.shouldSpawn().factory(Validator).once().pid;
    order
      .shouldSend()
      .to(validator)
      .message(new ValidateOrder('ORDER-001', ['laptop', 'mouse'], 929.98))
      .once();

    // play the validator's part: test it with the kit too, then feed its answer back
    const v = await spawnTest(Validator);
    await v.sendMessage(order.pid, new ValidateOrder('ORDER-001', ['laptop', 'mouse'], 929.98));
    const verdict = v.shouldSend().to(order.pid).once().message as ValidationResult;
    v.shouldTerminate().withReason(TerminateReasonNormal).once();

    await order.sendMessage(validator, verdict);
    await order.deliverSelfMessages(); // the ProcessPayment it sent itself
    order.shouldSend().to(customer).message(new OrderConfirmed('ORDER-001', 929.98)).once();
    assert.equal(order.behavior.orderState, 'confirmed');
  });

  test('TestOrderWorkflow_ErrorScenarios: submit without items, cancel', async () => {
    const order = await spawnTest(OrderActor, { args: ['ORDER-002', customer] });
    await order.sendMessage(nobody, new SubmitOrder());
    order.shouldSend().to(customer).message(new OrderError('ORDER-002', 'no items in order')).once();
    await order.sendMessage(nobody, new AddItem('book', 19.99));
    await order.sendMessage(nobody, new CancelOrder());
    order.shouldSend().to(customer).message(new OrderCancelled('ORDER-002', 'pending')).once();
    order.shouldTerminate().withReason(TerminateReasonNormal).once();
  });

  test('TestOrderWorkflow_PaymentRetries: retries on the test clock until it gives up', async () => {
    const order = await spawnTest(OrderActor, { args: ['ORDER-004', customer] });
    await order.sendMessage(nobody, new AddItem('server', 5000));
    await order.sendMessage(nobody, new SubmitOrder());
    order.shouldSpawn().once();
    await order.sendMessage(nobody, new GetOrderStatus());
    order
      .shouldSend()
      .to(nobody)
      .message(structureMatching(OrderStatus, { state: 'validating' }))
      .once();

    await order.sendMessage(nobody, new ValidationResult('ORDER-004', true, ''));
    await order.deliverSelfMessages(); // first payment attempt fails: a retry is scheduled
    for (let i = 0; i < 3; i++) {
      order
        .shouldSendAfter()
        .to(order.pid)
        .delay(100)
        .times(i + 1);
      order.advanceTime(100);
      await order.deliverSelfMessages();
    }
    order.shouldLog().containing('payment failed for order ORDER-004').times(3);
    order.shouldSend().to(customer).message(new OrderFailed('ORDER-004', 'payment failed after 3 retries')).once();
    order.shouldTerminate().once();
    assert.equal(order.behavior.retries, 4);
  });
});

class StartWorker {
  constructor(readonly workerID: string) {}
}
class StopWorker {
  constructor(readonly workerID: string) {}
}
class GetManagerStatus {}

class Worker extends Actor {}

class Manager extends Actor {
  workers = new Map<string, PID>();
  maxWorkers = 3;

  override async handleMessage(from: PID, m: unknown): Promise<void> {
    if (m instanceof StartWorker) {
      if (this.workers.size >= this.maxWorkers) {
        this.send(from, { error: 'maximum workers reached' });
        return;
      }
      const pid = await this.spawn(Worker, {});
      this.workers.set(m.workerID, pid);
      this.send(from, { started: m.workerID, pid });
      this.send('metrics', { action: 'start', workerID: m.workerID, active: this.workers.size });
    } else if (m instanceof StopWorker) {
      const pid = this.workers.get(m.workerID);
      if (pid === undefined) {
        this.send(from, { error: 'worker not found' });
        return;
      }
      this.sendExit(pid, TerminateReasonNormal);
      this.workers.delete(m.workerID);
      this.send(from, { stopped: m.workerID });
    } else if (m instanceof GetManagerStatus) {
      this.send(from, { active: this.workers.size, max: this.maxWorkers });
    }
  }
}

describe('testing kit, Ergo workflow scenarios: manager', () => {
  test('TestManager_WorkerManagement: start, report, status, stop, limits', async () => {
    const manager = await spawnTest(Manager);
    const admin = new PID('test@localhost', 42, 1234567890);
    await manager.sendMessage(admin, new StartWorker('worker-1'));
    const spawned = manager.shouldSpawn().factory(Worker).once();
    manager.shouldSend().to(admin).message({ started: 'worker-1', pid: spawned.pid }).once();
    manager.shouldSend().to('metrics').message({ action: 'start', workerID: 'worker-1', active: 1 }).once();

    await manager.sendMessage(admin, new GetManagerStatus());
    manager.shouldSend().to(admin).message({ active: 1, max: 3 }).once();

    await manager.sendMessage(admin, new StopWorker('worker-1'));
    manager.shouldSendExit().to(spawned.pid).withReason(TerminateReasonNormal).once();
    await manager.sendMessage(admin, new StopWorker('worker-1'));
    manager.shouldSend().to(admin).message({ error: 'worker not found' }).once();

    for (const id of ['a', 'b', 'c', 'd']) await manager.sendMessage(admin, new StartWorker(id));
    manager.shouldSend().to(admin).message({ error: 'maximum workers reached' }).once();
    manager.shouldSpawn().times(4);
  });
});
