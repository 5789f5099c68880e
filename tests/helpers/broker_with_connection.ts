// One broker and one amqplib connection for a whole test file: started before its tests, closed
// after them.
import { afterAll, beforeAll } from "bun:test";
import amqplib, { type ChannelModel } from "amqplib";
import { startTestBroker, type TestBroker, withTimeout } from "./broker.ts";

export interface BrokerWithConnection {
  tb: TestBroker;
  conn: ChannelModel;
}

export function brokerWithConnection(): BrokerWithConnection {
  const shared = {} as BrokerWithConnection;
  beforeAll(async () => {
    shared.tb = await startTestBroker();
    shared.conn = await withTimeout(amqplib.connect(shared.tb.url), 5000, "amqplib.connect");
  });
  afterAll(async () => {
    await shared.conn?.close().catch(() => {});
    await shared.tb?.stop();
  });
  return shared;
}
