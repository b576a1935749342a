// The complete example of docs/testing.md (kept here so it is compiled and its test runs):
// an order that asks for a discount, pays, retries a failed payment a second later, and stops.

import { Actor, Stop, TerminateReasonNormal, type PID, type Ref } from 'ergo-ts';

export class AddItem {
  constructor(
    readonly sku: string,
    readonly price: number,
  ) {}
}
export class Pay {}
export class Paid {
  constructor(
    readonly orderID: string,
    readonly total: number,
  ) {}
}

export class Order extends Actor {
  private items: AddItem[] = [];
  private orderID = '';
  private customer!: PID;

  override init(orderID: string, customer: PID): void {
    this.orderID = orderID;
    this.customer = customer;
    this.log.info('order %s opened', orderID);
  }

  override async handleMessage(from: PID, message: unknown): Promise<Error | undefined> {
    if (message instanceof AddItem) {
      this.items.push(message);
      this.send(this.customer, { added: message.sku, count: this.items.length });
      return undefined;
    }
    if (message instanceof Pay) {
      const total = this.items.reduce((sum, i) => sum + i.price, 0);
      const discount = (await this.call('pricing', { discountFor: total })) as number;
      try {
        await this.call('payments', { order: this.orderID, amount: total - discount });
      } catch (e) {
        this.log.warning('payment failed: %s', (e as Error).message);
        this.sendAfter(this.pid, new Pay(), 1000);
        return undefined;
      }
      this.send(this.customer, new Paid(this.orderID, total - discount));
      return TerminateReasonNormal;
    }
    return undefined;
  }

  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request === 'count') return this.items.length;
    if (request === 'cancel') return new Stop(TerminateReasonNormal, 'cancelled');
    return undefined;
  }
}
