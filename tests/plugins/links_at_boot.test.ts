// Shovels and federation links whose URI names this broker's own TCP listener start after a
// restart without a failed first attempt: plugins start before the listeners open, and links
// connect only once the broker listens (Plugin.listening). With a 60 s reconnect delay, a first
// attempt refused at boot would leave the link down for the whole test.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { api } from "../helpers/http.ts";
import { cleanupRestartBrokers, connect, start, stop, tempDir } from "../helpers/restart_brokers.ts";
import { freePort } from "../helpers/warren_process.ts";
import { putShovel, until, untilState } from "./shovel_helpers.ts";

setDefaultTimeout(60_000);
afterAll(cleanupRestartBrokers);

test("a shovel and a federation link over this broker's own listener run at once after a restart", async () => {
  const dir = await tempDir();
  const port = await freePort();
  const self = `amqp://guest:guest@127.0.0.1:${port}`;
  let { broker } = await start(dir, { port });
  let http = `http://127.0.0.1:${broker.httpPort}`;
  await putShovel(http, "to-self", {
    "src-uri": self,
    "src-queue": "boot-src",
    "dest-uri": self,
    "dest-queue": "boot-dst",
    "reconnect-delay": 60,
  });
  await untilState(http, "to-self", "running");
  expect(
    (await api(http, "PUT", "/api/parameters/federation-upstream/%2f/self", {
      value: { uri: self, exchange: "boot-up", "reconnect-delay": 60 },
    }))
      .status,
  ).toBeLessThan(300);
  expect(
    (await api(http, "PUT", "/api/policies/%2f/fed", {
      pattern: "^boot-fed$",
      "apply-to": "exchanges",
      definition: { "federation-upstream": "self" },
    }))
      .status,
  ).toBeLessThan(300);
  const conn = await connect(self);
  const ch = await conn.createChannel();
  await ch.assertExchange("boot-up", "fanout", { durable: true });
  await ch.assertExchange("boot-fed", "fanout", { durable: true });
  await ch.assertQueue("boot-fed-q", { durable: true });
  await ch.bindQueue("boot-fed-q", "boot-fed", "");
  await conn.close();
  const federationRunning = async () =>
    ((await api(http, "GET", "/api/federation-links")).body as { exchange?: string; status: string }[])
      .some((l) => l.exchange === "boot-fed" && l.status === "running");
  await until("the federation link runs", federationRunning);

  await stop(broker);
  ({ broker } = await start(dir, { port }));
  http = `http://127.0.0.1:${broker.httpPort}`;
  await untilState(http, "to-self", "running", "/", 20_000);
  await until("the federation link runs again", federationRunning, 20_000);
  // Both move messages.
  const c2 = await connect(self);
  const ch2 = await c2.createConfirmChannel();
  ch2.sendToQueue("boot-src", Buffer.from("shovelled"), { persistent: true });
  ch2.publish("boot-up", "", Buffer.from("federated"), { persistent: true });
  await ch2.waitForConfirms();
  await until("the shovel moved it", async () => (await ch2.checkQueue("boot-dst")).messageCount === 1);
  await until("the federation link moved it", async () => (await ch2.checkQueue("boot-fed-q")).messageCount === 1);
  await c2.close();
  await stop(broker);
});
