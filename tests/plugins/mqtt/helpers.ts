// MQTT test helpers: a test broker with its MQTT listener on a free port, MQTT.js clients that
// never reconnect on their own, and a way to wait for messages.
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { startTestBroker, type TestBroker } from "../../helpers/broker.ts";
import { mqttPorts } from "../../../plugins/mqtt/mod.ts";
import type { BrokerOptions } from "../../../src/config.ts";

export interface MqttBroker extends TestBroker {
  mqttPort: number;
  mqttUrl: string;
}

export async function startMqttBroker(opts: Partial<BrokerOptions> = {}): Promise<MqttBroker> {
  const tb = await startTestBroker({
    ...opts,
    pluginSettings: { "mqtt.listeners.tcp.default": "0", "web_mqtt.ws_path": "/ws", ...opts.pluginSettings },
  });
  const port = mqttPorts(tb.broker).tcp;
  if (port === undefined) throw new Error("the MQTT listener is not running");
  return Object.assign(tb, { mqttPort: port, mqttUrl: `mqtt://127.0.0.1:${port}` });
}

const clients: MqttClient[] = [];

/** Connects (rejects on a refused CONNACK with the client's error, which carries `code`). */
export function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { username: "guest", password: "guest", reconnectPeriod: 0, connectTimeout: 5000, ...opts }).then((c) => {
    clients.push(c);
    return c;
  });
}

/** Connects with a collector attached before CONNACK (a resumed session delivers at once). */
export async function connectCollecting(
  url: string,
  opts: IClientOptions = {},
): Promise<{ client: MqttClient; got: ReturnType<typeof collect> }> {
  const client = mqtt.connect(url, { username: "guest", password: "guest", reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(client);
  const got = collect(client);
  await new Promise<void>((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("error", reject);
  });
  return { client, got };
}

/** The CONNACK return/reason code of a refused CONNECT. */
export async function refusedCode(url: string, opts: IClientOptions): Promise<number | undefined> {
  try {
    const c = await connect(url, opts);
    c.end(true);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

export async function closeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
}

export interface Received {
  topic: string;
  payload: string;
  packet: { qos: number; retain: boolean; dup: boolean; properties?: Record<string, unknown> };
}

/** Collects messages on a client; `next(n)` resolves with the first n (or rejects after ms). */
export function collect(client: MqttClient): { messages: Received[]; next(n: number, ms?: number): Promise<Received[]> } {
  const messages: Received[] = [];
  client.on("message", (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), packet: packet as unknown as Received["packet"] });
  });
  return {
    messages,
    async next(n, ms = 5000) {
      const until = Date.now() + ms;
      while (messages.length < n) {
        if (Date.now() > until) throw new Error(`got ${messages.length} of ${n} messages: ${JSON.stringify(messages.map((m) => m.topic))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return messages.slice(0, n);
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** CONNACK's session present flag. */
export function sessionPresent(client: MqttClient): boolean | undefined {
  return (client as unknown as { connackPacket?: { sessionPresent: boolean } }).connackPacket?.sessionPresent;
}

/** SUBACK's codes, also when MQTT.js rejects because one is a failure. */
export async function subackCodes(
  client: MqttClient,
  subs: Parameters<MqttClient["subscribeAsync"]>[0],
  opts?: { qos: 0 | 1 | 2 },
): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(subs as string, opts ?? { qos: 1 });
    return granted.map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: (number | { qos: number })[] } }).packet;
    if (!packet?.granted) throw err;
    return packet.granted.map((g) => (typeof g === "number" ? g : g.qos));
  }
}
