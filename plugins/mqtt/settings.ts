// The plugin's settings: warren.conf keys under `mqtt.` (as rabbitmq.conf names them) and
// --mqtt-port, given as written (PluginContext.clients.settings) and checked here, at start.

export interface MqttSettings {
  /** null: no plain listener. `explicit`: set by the user (a taken port then stops the boot). */
  tcp: { port: number; bind: string | undefined; explicit: boolean } | null;
  ssl: { port: number; bind: string | undefined } | null;
  exchange: string;
  /** mqtt.vhost; undefined: the broker's default vhost. */
  vhost: string | undefined;
  /** Anonymous clients log in as this user (allow_anonymous). */
  defaultUser: string;
  defaultPass: string;
  allowAnonymous: boolean;
  /** In-flight QoS 1 deliveries per connection (RabbitMQ's mqtt.prefetch). */
  prefetch: number;
  /** x-expires of a persistent session's queues, ms; null: none. */
  subscriptionTtl: number | null;
  /** The largest packet accepted after CONNECT (before it: 64 KiB). */
  maxPacketSize: number;
  /** MQTT over WebSocket on the management API's port (and webListener's), at this path; null: off. */
  wsPath: string | null;
  /** web_mqtt.tcp.port (and .ip): a listener of its own for MQTT over WebSocket, as RabbitMQ's 15675; null: none. */
  webListener: { port: number; bind: string | undefined } | null;
}

const DEFAULT_PORT = 1883;

export class MqttSettingsError extends Error {}

export function parseSettings(raw: Readonly<Record<string, string>>): MqttSettings {
  const s: MqttSettings = {
    tcp: { port: DEFAULT_PORT, bind: undefined, explicit: false },
    ssl: null,
    exchange: "amq.topic",
    vhost: undefined,
    defaultUser: "guest",
    defaultPass: "guest",
    allowAnonymous: true,
    prefetch: 10,
    subscriptionTtl: 86_400_000,
    maxPacketSize: 256 * 1024 * 1024,
    wsPath: "/ws",
    webListener: null,
  };
  let webBind: string | undefined;
  for (const [key, value] of Object.entries(raw)) {
    if (!key.startsWith("mqtt.") && !key.startsWith("web_mqtt.")) continue; // another plugin's (shovel.*)
    const fail = (why: string): never => {
      throw new MqttSettingsError(`invalid value "${value}" for ${key}: ${why}`);
    };
    switch (key) {
      case "mqtt.listeners.tcp.default":
      case "mqtt.listeners.tcp":
        s.tcp = value === "none" ? null : { ...listener(value, fail), explicit: true };
        break;
      case "mqtt.listeners.ssl.default":
        s.ssl = value === "none" ? null : listener(value, fail);
        break;
      case "mqtt.listeners.ssl":
        if (value === "none") s.ssl = null;
        else fail("expected none");
        break;
      case "mqtt.exchange":
        s.exchange = value;
        break;
      case "mqtt.vhost":
        s.vhost = value;
        break;
      case "mqtt.default_user":
        s.defaultUser = value;
        break;
      case "mqtt.default_pass":
        s.defaultPass = value;
        break;
      case "mqtt.allow_anonymous":
        s.allowAnonymous = bool(value, fail);
        break;
      case "mqtt.prefetch":
        s.prefetch = integer(value, 1, 65535, fail);
        break;
      case "mqtt.subscription_ttl":
        s.subscriptionTtl = value === "undefined" || value === "infinity" ? null : integer(value, 1, 2 ** 31, fail);
        break;
      case "mqtt.max_packet_size_authenticated":
        s.maxPacketSize = integer(value, 1, 268435455, fail);
        break;
      case "web_mqtt.ws_path":
        s.wsPath = value === "none" ? null : value.startsWith("/") ? value : fail("expected a path starting with / (or none)");
        break;
      case "web_mqtt.tcp.port":
        s.webListener = { port: integer(value, 0, 65535, fail), bind: undefined };
        break;
      case "web_mqtt.tcp.ip":
        webBind = value;
        break;
      default:
        if (key.startsWith("web_mqtt.")) {
          throw new MqttSettingsError(
            `unsupported setting ${key}: Warren serves MQTT over WebSocket on the management API's port and on web_mqtt.tcp.port (no TLS listener of its own), see docs/mqtt.md`,
          );
        }
        throw new MqttSettingsError(`unknown setting ${key} (docs/mqtt.md lists the mqtt.* keys Warren has)`);
    }
  }
  if (s.webListener) s.webListener.bind = webBind;
  if (s.webListener && s.wsPath === null) throw new MqttSettingsError("web_mqtt.tcp.port needs a web_mqtt.ws_path (it is none)");
  return s;
}

function listener(value: string, fail: (why: string) => never): { port: number; bind: string | undefined } {
  const colon = value.lastIndexOf(":");
  const bind = colon >= 0 ? value.slice(0, colon).replace(/^\[|\]$/g, "") : undefined;
  const port = integer(colon >= 0 ? value.slice(colon + 1) : value, 0, 65535, fail);
  return { port, bind };
}

function integer(value: string, min: number, max: number, fail: (why: string) => never): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) fail(`expected an integer ${min}-${max}`);
  return n;
}

function bool(value: string, fail: (why: string) => never): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  return fail("expected true or false");
}
