// The x-federation-upstream exchange type (rabbit_federation_upstream_exchange): what a
// downstream declares on its upstream — on Warren when a RabbitMQ (or Warren) federates from
// Warren. It routes like a fanout, except that a message that has already made x-max-hops
// hops, or that has already passed through the downstream (x-received-from names its cluster
// and vhost), goes nowhere: the cycle and hop checks happen before the message leaves.
import { preconditionFailed } from "../../src/amqp/errors.ts";
import type { FieldTable } from "../../src/amqp/table.ts";
import { typedLookup } from "../../src/broker/equivalence.ts";
import type { ExchangeType } from "../../src/broker/exchange_types.ts";
import { FanoutRouter, type RoutableMessage } from "../../src/routing/mod.ts";
import { shouldForward } from "./headers.ts";

export const MAX_HOPS_ARG = "x-max-hops";
export const DOWNSTREAM_NAME_ARG = "x-downstream-name";
export const DOWNSTREAM_VHOST_ARG = "x-downstream-vhost";

class UpstreamRouter<D> extends FanoutRouter<D> {
  private readonly maxHops: number;
  private readonly downstreamName: string | undefined;
  private readonly downstreamVhost: string | undefined;

  constructor(args: FieldTable) {
    super();
    this.maxHops = Number(args[MAX_HOPS_ARG] ?? 1);
    const name = args[DOWNSTREAM_NAME_ARG];
    const vhost = args[DOWNSTREAM_VHOST_ARG];
    // Missing before RabbitMQ 3.3.0 / 3.8.9: then only the hop count is checked.
    this.downstreamName = typeof name === "string" ? name : undefined;
    this.downstreamVhost = typeof vhost === "string" ? vhost : undefined;
  }

  override route(routingKey: string, message: RoutableMessage, out: Set<D>): void {
    if (!shouldForward(message.headerTable(), this.maxHops, this.downstreamName, this.downstreamVhost)) return;
    super.route(routingKey, message, out);
  }
}

export const upstreamExchangeType: ExchangeType = {
  name: "x-federation-upstream",
  description: "Federation upstream helper exchange",
  validate(args) {
    const hops = typedLookup(args, MAX_HOPS_ARG);
    if (hops === undefined) throw preconditionFailed(`Argument ${MAX_HOPS_ARG} missing`);
    if (hops.type !== "l") throw preconditionFailed(`Argument ${MAX_HOPS_ARG} must be of type long`);
  },
  createRouter: <D>(args: FieldTable) => new UpstreamRouter<D>(args),
};
