// rabbitmq_mqtt: MQTT 3.1, 3.1.1 and 5.0 clients, bridged to AMQP as RabbitMQ's MQTT plugin
// bridges them (docs/mqtt.md). Listeners on 1883 (mqtt.listeners.tcp.default, --mqtt-port) and,
// when set, MQTT over TLS (mqtt.listeners.ssl.default) with the amqps certificate settings.
import type { Broker } from "../../src/broker/broker.ts";
import type { Plugin, PluginContext } from "../../src/plugins/api.ts";
import type { TcpListener } from "../../src/runtime/tcp.ts";
import { MqttConnection } from "./connection.ts";
import { RETAINED_MIGRATIONS, RetainedStore } from "./retained.ts";
import { MqttServer } from "./server.ts";
import { parseSettings } from "./settings.ts";

interface Running {
  server: MqttServer;
  tcp: TcpListener | undefined;
  ssl: TcpListener | undefined;
  /** Web MQTT's own port (web_mqtt.tcp.port). */
  web: TcpListener | undefined;
  unsubscribe: () => void;
}

/** Per broker: one process may run several (tests, federation between two). */
const running = new Map<Broker, Running>();

/** The ports the plugin of `broker` listens on (undefined when off). */
export function mqttPorts(broker: Broker): { tcp: number | undefined; ssl: number | undefined; web: number | undefined } {
  const r = running.get(broker);
  return { tcp: r?.tcp?.port, ssl: r?.ssl?.port, web: r?.web?.port };
}

function start(ctx: PluginContext): void {
  const settings = parseSettings(ctx.clients.settings);
  const server = new MqttServer(ctx, settings, new RetainedStore(ctx.tables));
  const open = (name: string, bind: string | undefined, port: number, tls: boolean) => {
    const protocol = tls ? "mqtt/ssl" : "mqtt";
    const listener = ctx.clients.listen(
      { name, protocol, port, tls, ...(bind !== undefined ? { bind } : {}) },
      (socket) => new MqttConnection(server, socket, tls),
    );
    ctx.log.info(`started ${name} listener on port ${listener.port}`);
    return listener;
  };
  let tcp: TcpListener | undefined;
  let ssl: TcpListener | undefined;
  let web: TcpListener | undefined;
  try {
    if (settings.tcp) {
      try {
        tcp = open("MQTT", settings.tcp.bind, settings.tcp.port, false);
      } catch (err) {
        // Every built-in plugin runs by default: a busy default port must not stop the broker.
        if (settings.tcp.explicit) throw err;
        ctx.log.warning(`MQTT listener not started: ${(err as Error).message} (set mqtt.listeners.tcp.default or --mqtt-port)`);
      }
    }
    if (settings.ssl) ssl = open("MQTT over TLS", settings.ssl.bind, settings.ssl.port, true);
    if (settings.webListener) {
      const { port, bind } = settings.webListener;
      web = ctx.clients.webSocketListener(
        { name: "Web MQTT", protocol: "http/web-mqtt", port, ...(bind !== undefined ? { bind } : {}) },
        settings.wsPath!,
        "mqtt",
        (socket) => new MqttConnection(server, socket, false),
      );
      ctx.log.info(`started Web MQTT listener on port ${web.port}, path ${settings.wsPath}`);
    }
  } catch (err) {
    tcp?.stop();
    ssl?.stop();
    throw err;
  }
  const unsubscribe = settings.wsPath === null
    ? () => {}
    : ctx.clients.webSocket(settings.wsPath, "mqtt", (socket) => new MqttConnection(server, socket, false));
  if (settings.wsPath !== null) ctx.log.info(`MQTT over WebSocket on the management API's port, path ${settings.wsPath}`);
  running.set(ctx.broker, { server, tcp, ssl, web, unsubscribe });
}

function stop(ctx: PluginContext): void {
  const r = running.get(ctx.broker);
  if (!r) return;
  running.delete(ctx.broker);
  r.tcp?.stop();
  r.ssl?.stop();
  r.web?.stop();
  r.unsubscribe();
  r.server.stop();
}

function metrics(ctx: PluginContext): string {
  const r = running.get(ctx.broker);
  if (!r) return "";
  const c = r.server.counters;
  const open = { "3.1": 0, "3.1.1": 0, "5.0": 0 };
  for (const connection of r.server.connections) {
    const p = (connection as MqttConnection).protocol;
    if (p === "MQTT 5-0") open["5.0"]++;
    else if (p === "MQTT 3.1.1") open["3.1.1"]++;
    else if (p === "MQTT 3.1") open["3.1"]++;
  }
  const lines = [
    "# HELP rabbitmq_mqtt_connections_opened_total Connections opened, by protocol",
    "# TYPE rabbitmq_mqtt_connections_opened_total counter",
    `rabbitmq_mqtt_connections_opened_total{protocol="mqtt31"} ${c.connections31}`,
    `rabbitmq_mqtt_connections_opened_total{protocol="mqtt311"} ${c.connections311}`,
    `rabbitmq_mqtt_connections_opened_total{protocol="mqtt50"} ${c.connections5}`,
    "# HELP rabbitmq_mqtt_connections Open MQTT connections, by protocol version",
    "# TYPE rabbitmq_mqtt_connections gauge",
    ...Object.entries(open).map(([v, n]) => `rabbitmq_mqtt_connections{protocol_version="${v}"} ${n}`),
    "# HELP rabbitmq_mqtt_messages_received_total Messages received from publishers, by protocol",
    "# TYPE rabbitmq_mqtt_messages_received_total counter",
    `rabbitmq_mqtt_messages_received_total{protocol="mqtt"} ${c.publishedIn}`,
    "# HELP rabbitmq_mqtt_messages_delivered_total Messages delivered to consumers, by protocol",
    "# TYPE rabbitmq_mqtt_messages_delivered_total counter",
    `rabbitmq_mqtt_messages_delivered_total{protocol="mqtt"} ${c.deliveredOut}`,
    "# HELP rabbitmq_mqtt_retained_messages Retained messages stored",
    "# TYPE rabbitmq_mqtt_retained_messages gauge",
    `rabbitmq_mqtt_retained_messages ${r.server.retained.size}`,
  ];
  return lines.join("\n") + "\n";
}

export const plugin: Plugin = {
  name: "rabbitmq_mqtt",
  description: "MQTT 3.1, 3.1.1 and 5.0, bridged to AMQP",
  migrations: RETAINED_MIGRATIONS,
  start,
  stop,
  metrics,
};
