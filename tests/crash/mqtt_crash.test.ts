// MQTT durability across kill -9 and restart: QoS 1 messages acknowledged with PUBACK to a
// persistent session are delivered after the broker was killed and started again, and retained
// messages come back.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import mqtt, { type MqttClient } from "mqtt";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, killAllWarrens, spawnWarren, type WarrenProcess } from "../helpers/warren_process.ts";

setDefaultTimeout(120_000);
const dirs: string[] = [];
afterAll(async () => {
  await killAllWarrens();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string, mqttPort: number): Promise<WarrenProcess> {
  return spawnWarren({ dataDir, logLevel: "info", args: ["--mqtt-port", String(mqttPort), "--plugins", "rabbitmq_mqtt"] });
}

function client(port: number, clientId: string, clean: boolean): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, clean, username: "guest", password: "guest", reconnectPeriod: 0 });
}

/** Connects and collects messages from the moment CONNACK arrives. */
async function collecting(port: number, clientId: string): Promise<{ client: MqttClient; payloads: string[] }> {
  const payloads: string[] = [];
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId, clean: false, username: "guest", password: "guest", reconnectPeriod: 0 });
  c.on("message", (_t, p) => payloads.push(p.toString()));
  await new Promise<void>((resolve, reject) => {
    c.once("connect", () => resolve());
    c.once("error", reject);
  });
  return { client: c, payloads };
}

describe("MQTT across kill -9", () => {
  test("QoS 1 messages PUBACKed to a persistent session, and retained messages, survive kill -9", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-mqtt-crash-"));
    dirs.push(dataDir);
    const port = await freePort();
    let broker = await start(dataDir, port);
    const sub = await client(port, "crash-sub", false);
    await sub.subscribeAsync("crash/#", { qos: 1 });
    await sub.endAsync();
    const pub = await client(port, "crash-pub", true);
    const sent: string[] = [];
    for (let i = 0; i < 200; i++) {
      await pub.publishAsync(`crash/${i % 7}`, `m${i}`, { qos: 1 }); // resolves on PUBACK
      sent.push(`m${i}`);
    }
    await pub.publishAsync("crash/retained", "kept", { qos: 1, retain: true });
    pub.stream.destroy();
    await broker.kill9();

    broker = await start(dataDir, port);
    const { client: back, payloads } = await collecting(port, "crash-sub");
    const until = Date.now() + 20_000;
    while (payloads.length < sent.length + 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(payloads.filter((p) => p !== "kept")).toEqual(sent);
    await back.endAsync();

    const late = await collecting(port, "crash-late");
    await late.client.subscribeAsync("crash/retained", { qos: 1 });
    const until2 = Date.now() + 5000;
    while (late.payloads.length < 1 && Date.now() < until2) await new Promise((r) => setTimeout(r, 20));
    expect(late.payloads).toEqual(["kept"]);
    await late.client.endAsync();
    await broker.kill9();
  });

  test("a QoS 1 message delivered but not PUBACKed comes again, with DUP, after kill -9", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "warren-mqtt-crash-"));
    dirs.push(dataDir);
    const port = await freePort();
    let broker = await start(dataDir, port);
    const sub = await client(port, "crash-dup", false);
    await sub.subscribeAsync("dup/x", { qos: 1 });
    // Never acknowledge: MQTT.js sends PUBACK once handleMessage calls back.
    (sub as unknown as { handleMessage: (p: unknown, cb: () => void) => void }).handleMessage = () => {};
    const pub = await client(port, "crash-dup-pub", true);
    await pub.publishAsync("dup/x", "unacked", { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await broker.kill9();
    sub.stream.destroy();
    pub.stream.destroy();
    broker = await start(dataDir, port);
    const dups: boolean[] = [];
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      clientId: "crash-dup",
      clean: false,
      username: "guest",
      password: "guest",
      reconnectPeriod: 0,
    });
    c.on("message", (_t, p, packet) => dups.push(p.toString() === "unacked" && packet.dup));
    await new Promise<void>((r) => c.once("connect", () => r()));
    const until = Date.now() + 5000;
    while (dups.length < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(dups).toEqual([true]);
    await c.endAsync();
    await broker.kill9();
  });
});
