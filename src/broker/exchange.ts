import type { FieldTable } from "../amqp/table.ts";
import type { Router } from "../routing/router.ts";
import type { ExchangeType } from "./exchange_types.ts";
import { resourceName } from "./names.ts";
import { type Policy, policyString } from "./policy.ts";
import type { Queue } from "./queue.ts";
import { ExchangeCounters } from "./stats.ts";

/** What a binding points at: a queue, or another exchange (exchange-to-exchange binding). */
export type Destination = Queue | Exchange;

export class Exchange {
  readonly router: Router<Destination>;
  /** Bindings from this exchange to other exchanges: when 0, routing takes the one-step path. */
  exchangeBindings = 0;
  /** alternate-exchange (argument, else policy): where messages go that this exchange routes nowhere. */
  alternate: string | undefined;
  /** The policy in effect, if any. */
  policy: Policy | undefined;
  /** Message counters for the management API. */
  readonly counters = new ExchangeCounters();

  constructor(
    readonly vhost: string,
    readonly name: string,
    /** Its type: validates bindings, made the router, may intercept publishes. */
    readonly exchangeType: ExchangeType,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly internal: boolean,
    readonly args: FieldTable,
  ) {
    this.router = exchangeType.createRouter<Destination>(args);
    this.configure(undefined);
  }

  /** Applies a policy (or none): the alternate-exchange argument wins over the policy's. */
  configure(policy: Policy | undefined): void {
    const ae = this.args["alternate-exchange"];
    this.alternate = typeof ae === "string" ? ae : policy ? policyString(policy.definition, "alternate-exchange") : undefined;
    this.policy = policy;
  }

  /** The type's name, as declared and stored. */
  get type(): string {
    return this.exchangeType.name;
  }

  describe(): string {
    return resourceName("exchange", this.name, this.vhost);
  }
}
