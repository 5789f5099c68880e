// HTTP writes reply once what they changed is committed, as AMQP replies do (channel.ts).
import type { AmqpBroker } from "../connection/channel.ts";

export function committed(broker: AmqpBroker): Promise<void> {
  return new Promise((resolve) => {
    if (broker.store) broker.store.afterCommit(resolve);
    else resolve();
  });
}
