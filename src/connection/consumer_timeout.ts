// RabbitMQ's consumer_timeout (rabbit_channel:evaluate_consumer_timeout): on each tick, a channel
// whose oldest unacknowledged delivery (consumed or basic.get) is older than the timeout is
// closed with 406 PRECONDITION_FAILED, and its deliveries go back to their queues. RabbitMQ
// ticks every minute; a shorter timeout ticks as often as the timeout.
import { AmqpError } from "../amqp/errors.ts";
import { ReplyCode } from "../amqp/spec/constants.gen.ts";
import type { Logger } from "../log.ts";
import { every, type Timer } from "../runtime/timers.ts";

const TICK_MS = 60_000;

// What the check reads of the broker, its connections and channels (structural, so this module
// imports neither and adds no import cycle).
interface TimedChannel {
  readonly id: number;
  readonly state: string;
  readonly unacked: { oldest(): { at: number; consumer: { tag: string } | null } | undefined };
  closeWithError(error: AmqpError): void;
}
interface TimedBroker {
  readonly options: { readonly consumerTimeoutMs: number | null };
  readonly connections: Iterable<{ readonly state: string; readonly channels: ReadonlyMap<number, TimedChannel> }>;
  readonly log: Logger;
}

export function startConsumerTimeout(broker: TimedBroker): Timer | undefined {
  const timeout = broker.options.consumerTimeoutMs;
  if (timeout === null) return undefined;
  return every(Math.min(TICK_MS, timeout), () => check(broker, timeout));
}

function check(broker: TimedBroker, timeout: number): void {
  const oldestAllowed = Date.now() - timeout;
  for (const connection of broker.connections) {
    if (connection.state !== "running") continue;
    for (const channel of connection.channels.values()) {
      if (channel.state !== "open") continue;
      const oldest = channel.unacked.oldest();
      if (oldest === undefined || oldest.at >= oldestAllowed) continue;
      const why = `This timeout value can be configured, see consumers doc guide to learn more`;
      const tag = oldest.consumer?.tag ?? "";
      broker.log.warning(
        `Consumer ${tag} on channel ${channel.id} has timed out waiting for delivery acknowledgement. Timeout used: ${timeout} ms. ${why}`,
      );
      channel.closeWithError(
        new AmqpError(
          ReplyCode.PRECONDITION_FAILED,
          `delivery acknowledgement on channel ${channel.id} timed out. Timeout value used: ${timeout} ms. ${why}`,
        ),
      );
    }
  }
}
