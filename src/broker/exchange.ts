import type { FieldTable } from "../amqp/table.ts";
import type { Router } from "../routing/router.ts";
import { createRouter, type ExchangeTypeName } from "../routing/mod.ts";
import type { Message } from "./message.ts";
import { resourceName } from "./names.ts";
import type { Queue } from "./queue.ts";

export class Exchange {
  readonly router: Router<Queue>;

  constructor(
    readonly vhost: string,
    readonly name: string,
    readonly type: ExchangeTypeName,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly internal: boolean,
    readonly args: FieldTable,
  ) {
    this.router = createRouter<Queue>(type);
  }

  describe(): string {
    return resourceName("exchange", this.name, this.vhost);
  }

  route(message: Message, out: Set<Queue>): void {
    this.router.route(message.routingKey, message.headers, out);
  }
}
