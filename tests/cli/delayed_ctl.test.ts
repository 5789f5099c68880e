// `warren ctl` list_delayed_messages / delete_delayed_message / purge_delayed_messages against a
// running broker (runCtl in-process, over the management API).
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { runCtl } from "../../src/cli/ctl/mod.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(async () => {
  await tb.stop();
});

async function ctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCtl(["--port", String(tb.httpPort), ...args], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: async () => "",
    env: {},
  });
  return { code, stdout, stderr };
}

test("list, delete one, purge", async () => {
  const conn = await amqp.connect(tb.url);
  const ch = await conn.createChannel();
  await ch.assertExchange("delayed-ctl", "x-delayed-message", { durable: true, arguments: { "x-delayed-type": "direct" } });
  for (let i = 0; i < 5; i++) {
    ch.publish("delayed-ctl", `rk${i}`, Buffer.from(`b${i}`), { headers: { "x-delay": 60_000 - i * 1000 }, persistent: true });
  }
  await ch.checkExchange("delayed-ctl");
  await conn.close();

  const list = await ctl("list_delayed_messages", "delayed-ctl", "--formatter", "json");
  expect(list.code).toBe(0);
  const rows = JSON.parse(list.stdout) as { id: number; routing_key: string; delay: number }[];
  expect(rows.map((r) => r.routing_key)).toEqual(["rk4", "rk3", "rk2", "rk1", "rk0"]);
  const paged = await ctl("list_delayed_messages", "delayed-ctl", "--page-size", "2", "--page", "2", "routing_key", "--formatter", "json");
  expect(JSON.parse(paged.stdout)).toEqual([{ routing_key: "rk2" }, { routing_key: "rk1" }]);
  const table = await ctl("list_delayed_messages", "delayed-ctl");
  expect(table.stdout).toContain("Listing delayed messages of exchange 'delayed-ctl' in vhost '/' (5 held)");

  expect((await ctl("delete_delayed_message", "delayed-ctl", String(rows[0]!.id))).code).toBe(0);
  const again = await ctl("delete_delayed_message", "delayed-ctl", String(rows[0]!.id));
  expect(again.code).not.toBe(0);
  expect(again.stderr).toContain(`No delayed message ${rows[0]!.id} held by exchange 'delayed-ctl'`);
  const purge = await ctl("purge_delayed_messages", "delayed-ctl");
  expect(purge.code).toBe(0);
  expect(purge.stdout).toContain("Purged 4 delayed message(s)");
  const missing = await ctl("list_delayed_messages", "delayed-none");
  expect(missing.stderr).toContain("Exchange 'delayed-none' not found in vhost '/'");
});
