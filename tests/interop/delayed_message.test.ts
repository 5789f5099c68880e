// The reference RabbitMQ (3.10.8 with the plugins listed in the team brief) does not ship
// rabbitmq_delayed_message_exchange, so x-delayed-message cannot be compared differentially:
// tests/protocol/delayed_message.test.ts checks Warren against the plugin's documented behaviour
// instead. This test records the fact and fails if the reference ever gains the type, so that
// differential tests get written then. What both brokers share without the plugin is compared:
// declaring the type where it is missing is the same 503 connection error.
// Skips without RABBITMQ_REF_URL / RABBITMQ_REF_HTTP.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker, withTimeout } from "../helpers/broker.ts";

setDefaultTimeout(30_000);
const REF = process.env.RABBITMQ_REF_URL || undefined;
const REF_HTTP = process.env.RABBITMQ_REF_HTTP || undefined;
if (!REF || !REF_HTTP) console.warn("RABBITMQ_REF_URL or RABBITMQ_REF_HTTP unset: skipping the x-delayed-message checks against RabbitMQ");

let warren: TestBroker | undefined;
afterAll(async () => {
  await warren?.stop();
});

/** The connection error an x-delayed-message declare gets (exchange name unique per run). */
async function declareError(url: string): Promise<string> {
  const conn = await amqp.connect(url);
  const closed = new Promise<string>((resolve) => conn.on("error", (e: Error & { code?: number }) => resolve(`${e.code} ${e.message}`)));
  const ch = await conn.createChannel();
  ch.on("error", () => {});
  await ch.assertExchange(`delayed-interop-${process.pid}`, "x-delayed-message", {
    durable: false,
    arguments: { "x-delayed-type": "direct" },
  })
    .catch(() => {});
  return withTimeout(closed, 5_000, "the connection error");
}

test.skipIf(!REF || !REF_HTTP)("the reference RabbitMQ has no x-delayed-message; without the plugin both refuse it alike", async () => {
  const url = new URL(REF_HTTP!);
  const overview = await fetch(`${url.origin}/api/overview`, {
    headers: {
      authorization: "Basic " + Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64"),
    },
  }).then((r) => r.json()) as { exchange_types: { name: string }[] };
  expect(overview.exchange_types.map((t) => t.name)).not.toContain("x-delayed-message");
  warren = await startTestBroker({ plugins: [] });
  const [ref, ours] = [await declareError(REF!), await declareError(warren.url)];
  expect(ours.replace(/ExchangeDeclare/g, "M")).toBe(ref.replace(/ExchangeDeclare/g, "M"));
  expect(ref).toContain("503");
});
