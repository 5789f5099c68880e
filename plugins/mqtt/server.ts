// What the MQTT connections of one running plugin share: the context, the settings, retained
// messages, which client id is connected where, and wills waiting for their delay.
import type { PluginContext } from "../../src/plugins/api.ts";
import type { RetainedStore } from "./retained.ts";
import type { MqttSettings } from "./settings.ts";

/** What the server needs of a connection (connection.ts implements it). */
export interface SessionOwner {
  /** Another connection took the client id over: this one goes (MQTT 5: reason 0x8E). */
  takenOver(): void;
}

export class MqttServer {
  /** "vhost\0clientId" -> its connection. */
  readonly clients = new Map<string, SessionOwner>();
  /** Wills waiting for their delay (MQTT 5), by "vhost\0clientId": cancelled by a reconnect. */
  readonly pendingWills = new Map<string, ReturnType<typeof setTimeout>>();
  /** Every open connection, to close at stop. */
  readonly connections = new Set<{ forceClose(reason: string): void }>();
  /** Which client published a message (by its body), for MQTT 5 no-local subscriptions. */
  readonly origins = new WeakMap<Uint8Array, string>();
  /** Per-protocol counts for /metrics. */
  readonly counters = { connections31: 0, connections311: 0, connections5: 0, publishedIn: 0, deliveredOut: 0 };

  constructor(readonly ctx: PluginContext, readonly settings: MqttSettings, readonly retained: RetainedStore) {}

  /** The vhost a port maps to: the mqtt_port_to_vhost_mapping global parameter, as RabbitMQ. */
  vhostForPort(port: number): string | undefined {
    const mapping = this.ctx.broker.globalParameters.get("mqtt_port_to_vhost_mapping");
    if (typeof mapping !== "object" || mapping === null || Array.isArray(mapping)) return undefined;
    const vhost = (mapping as Record<string, unknown>)[String(port)];
    return typeof vhost === "string" ? vhost : undefined;
  }

  stop(): void {
    for (const timer of this.pendingWills.values()) clearTimeout(timer);
    this.pendingWills.clear();
    for (const connection of [...this.connections]) connection.forceClose("server shutting down");
  }
}

export const clientKey = (vhost: string, clientId: string) => `${vhost}\0${clientId}`;
