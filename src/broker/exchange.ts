import type { FieldTable } from "../amqp/table.ts";
import type { Router } from "../routing/router.ts";
import { createRouter, type ExchangeTypeName } from "../routing/mod.ts";
import { resourceName } from "./names.ts";
import type { Queue } from "./queue.ts";
import { ExchangeCounters } from "./stats.ts";

/** What a binding points at: a queue, or another exchange (exchange-to-exchange binding). */
export type Destination = Queue | Exchange;

export class Exchange {
  readonly router: Router<Destination>;
  /** Bindings from this exchange to other exchanges: when 0, routing takes the one-step path. */
  exchangeBindings = 0;
  /** The `alternate-exchange` argument: where messages go that this exchange routes nowhere. */
  readonly alternate: string | undefined;
  /** Message counters for the management API. */
  readonly counters = new ExchangeCounters();

  constructor(
    readonly vhost: string,
    readonly name: string,
    readonly type: ExchangeTypeName,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly internal: boolean,
    readonly args: FieldTable,
  ) {
    this.router = createRouter<Destination>(type);
    const ae = args["alternate-exchange"];
    this.alternate = typeof ae === "string" ? ae : undefined;
  }

  describe(): string {
    return resourceName("exchange", this.name, this.vhost);
  }
}
