// NodeHistory: which node a link is connected to, and its failovers (a reconnect to another URI).
import { expect, test } from "bun:test";
import { ClientConnection } from "../../../src/client/connection.ts";
import { FAILOVER_HISTORY, NodeHistory, parseAmqpUri } from "../../../src/client/mod.ts";

function connection(uri: string, properties: Record<string, string> = {}): ClientConnection {
  const c = new ClientConnection(parseAmqpUri(uri), { connectionName: undefined, clientProperties: undefined, external: false });
  c.serverProperties = { product: "RabbitMQ", version: "3.10.8", cluster_name: "rabbit@c1", ...properties };
  return c;
}

test("the first connection is no failover; it shows the URI without credentials and the server's properties", () => {
  const h = new NodeHistory();
  expect(h.connected(connection("amqp://u:secret@c1:5672"))).toBeUndefined();
  expect(h.current).toMatchObject({
    uri: "amqp://c1:5672",
    node: undefined,
    clusterName: "rabbit@c1",
    product: "RabbitMQ",
    version: "3.10.8",
  });
  expect(h.failoverCount).toBe(0);
});

test("a node name sent in the server properties is shown", () => {
  const h = new NodeHistory();
  h.connected(connection("amqp://c1", { node: "rabbit@host1" }));
  expect(h.current?.node).toBe("rabbit@host1");
});

test("reconnecting to the same URI is no failover; to another one is, with the reason and when it was lost", () => {
  const h = new NodeHistory();
  h.connected(connection("amqp://c1"));
  h.lost("connection lost");
  expect(h.current).toBeUndefined();
  expect(h.connected(connection("amqp://c1"))).toBeUndefined();
  h.lost("320 CONNECTION_FORCED");
  const f = h.connected(connection("amqp://u:p@c2"));
  expect(f).toMatchObject({ from: "amqp://c1", to: "amqp://c2", reason: "320 CONNECTION_FORCED" });
  expect(f!.at.getTime()).toBeGreaterThanOrEqual(f!.lostAt.getTime());
  expect(h.failovers).toEqual([f!]);
  expect(h.failoverCount).toBe(1);
});

test("the history keeps the latest failovers only; the count keeps every one", () => {
  const h = new NodeHistory();
  for (let i = 0; i < FAILOVER_HISTORY + 5; i++) {
    h.connected(connection(`amqp://c${i % 2}`));
    h.lost(`cut ${i}`);
  }
  h.connected(connection("amqp://c9"));
  expect(h.failoverCount).toBe(FAILOVER_HISTORY + 5);
  expect(h.failovers.length).toBe(FAILOVER_HISTORY);
  expect(h.failovers.at(-1)).toMatchObject({ to: "amqp://c9", reason: `cut ${FAILOVER_HISTORY + 4}` });
});
