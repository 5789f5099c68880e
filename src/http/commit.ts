// HTTP writes reply once what they changed is committed, as AMQP replies do (channel.ts).
import type { Broker } from "../broker/broker.ts";

export function committed(broker: Broker): Promise<void> {
  return new Promise((resolve) => {
    if (broker.store) broker.store.afterCommit(resolve);
    else resolve();
  });
}
