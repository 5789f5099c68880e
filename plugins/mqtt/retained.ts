// Retained messages: one per topic and vhost, kept in memory and in the plugin's table (written
// in the store's group commit, so a PUBACK sent after the commit means the message is durable).
// An empty retained publish clears the topic.
import type { PluginMigration, PluginTables } from "../../storage/plugin_tables.ts";
import type { Properties } from "./properties.ts";
import { topicMatches } from "./topic.ts";

export const RETAINED_MIGRATIONS: readonly PluginMigration[] = [{
  version: 1,
  sql: `CREATE TABLE mqtt_retained (vhost TEXT NOT NULL, topic TEXT NOT NULL, qos INTEGER NOT NULL,
        properties TEXT NOT NULL, payload BLOB NOT NULL, stored_at INTEGER NOT NULL, PRIMARY KEY (vhost, topic))`,
}];

export interface RetainedMessage {
  topic: string;
  qos: number;
  payload: Uint8Array;
  properties: Properties;
  /** ms since the epoch: the message expiry interval counts from here. */
  storedAt: number;
}

/** Properties worth keeping (the message's, not the packet's). */
function storedProperties(p: Properties): Properties {
  const out: Properties = {};
  for (const key of ["payloadFormat", "messageExpiry", "contentType", "responseTopic", "correlationData", "userProperties"] as const) {
    if (p[key] !== undefined) (out as Record<string, unknown>)[key] = p[key];
  }
  return out;
}

function toJson(p: Properties): string {
  return JSON.stringify(
    p,
    (key, value) => (key === "correlationData" && value instanceof Uint8Array ? Buffer.from(value).toString("base64") : value),
  );
}

function fromJson(text: string): Properties {
  const p = JSON.parse(text) as Properties & { correlationData?: unknown };
  if (typeof p.correlationData === "string") p.correlationData = new Uint8Array(Buffer.from(p.correlationData, "base64"));
  return p;
}

export class RetainedStore {
  private readonly byVhost = new Map<string, Map<string, RetainedMessage>>();

  constructor(private readonly tables: PluginTables | undefined) {
    if (!tables) return;
    const rows = tables.query<{ vhost: string; topic: string; qos: number; properties: string; payload: Uint8Array; stored_at: number }>(
      "SELECT vhost, topic, qos, properties, payload, stored_at FROM mqtt_retained",
    );
    for (const r of rows) {
      this.vhost(r.vhost).set(r.topic, {
        topic: r.topic,
        qos: r.qos,
        payload: new Uint8Array(r.payload),
        properties: fromJson(r.properties),
        storedAt: r.stored_at,
      });
    }
  }

  private vhost(name: string): Map<string, RetainedMessage> {
    let map = this.byVhost.get(name);
    if (!map) this.byVhost.set(name, map = new Map());
    return map;
  }

  get size(): number {
    let n = 0;
    for (const map of this.byVhost.values()) n += map.size;
    return n;
  }

  /** Keeps (or, with an empty payload, clears) the topic's retained message. */
  retain(vhost: string, topic: string, qos: number, payload: Uint8Array, properties: Properties): void {
    const map = this.vhost(vhost);
    if (payload.length === 0) {
      if (!map.delete(topic)) return;
      this.tables?.write((db) => db.prepare("DELETE FROM mqtt_retained WHERE vhost = ? AND topic = ?").run(vhost, topic));
      return;
    }
    const message: RetainedMessage = { topic, qos, payload, properties: storedProperties(properties), storedAt: Date.now() };
    map.set(topic, message);
    this.tables?.write((db) =>
      db.prepare("INSERT OR REPLACE INTO mqtt_retained (vhost, topic, qos, properties, payload, stored_at) VALUES (?, ?, ?, ?, ?, ?)")
        .run(vhost, topic, qos, toJson(message.properties), payload, message.storedAt)
    );
  }

  /** The retained messages a new subscription to `filter` receives (expired ones are dropped). */
  matching(vhost: string, filter: string): RetainedMessage[] {
    const map = this.byVhost.get(vhost);
    if (!map) return [];
    const out: RetainedMessage[] = [];
    const now = Date.now();
    for (const message of map.values()) {
      if (!topicMatches(filter, message.topic)) continue;
      const expiry = message.properties.messageExpiry;
      if (expiry !== undefined && message.storedAt + expiry * 1000 <= now) {
        this.retain(vhost, message.topic, 0, new Uint8Array(0), {});
        continue;
      }
      out.push(message);
    }
    return out;
  }

  forgetVhost(vhost: string): void {
    if (!this.byVhost.delete(vhost)) return;
    this.tables?.write((db) => db.prepare("DELETE FROM mqtt_retained WHERE vhost = ?").run(vhost));
  }
}
