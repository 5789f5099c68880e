// Retained messages: one per topic and vhost, in the plugin's table (written in the store's group
// commit, so a PUBACK sent after the commit means the message is durable). Memory keeps what
// matching and expiry need (topic, QoS, when stored, expiry); a payload stays in memory only until
// its write is durable, and is read back from the table when a subscription receives it: 50,000
// retained 1 KiB messages held 107 MiB of RSS and were all read at boot. Without a store (no data
// directory) memory keeps everything. An empty retained publish clears the topic.
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

/** What memory keeps of a retained message. */
export interface RetainedEntry {
  readonly topic: string;
  readonly qos: number;
  readonly storedAt: number;
  /** The message expiry interval, seconds (MQTT 5). */
  readonly expiry: number | undefined;
  /** The whole message, until its row is durable (always, without a store). */
  held: RetainedMessage | undefined;
}

interface RetainedRow {
  qos: number;
  properties: string;
  payload: Uint8Array;
  stored_at: number;
}

export class RetainedStore {
  private readonly byVhost = new Map<string, Map<string, RetainedEntry>>();

  constructor(private readonly tables: PluginTables | undefined) {
    if (!tables) return;
    const rows = tables.query<{ vhost: string; topic: string; qos: number; properties: string; stored_at: number }>(
      "SELECT vhost, topic, qos, properties, stored_at FROM mqtt_retained",
    );
    for (const r of rows) {
      const expiry = r.properties === "{}" ? undefined : fromJson(r.properties).messageExpiry;
      this.vhost(r.vhost).set(r.topic, { topic: r.topic, qos: r.qos, storedAt: r.stored_at, expiry, held: undefined });
    }
  }

  private vhost(name: string): Map<string, RetainedEntry> {
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
    const entry: RetainedEntry = { topic, qos, storedAt: message.storedAt, expiry: message.properties.messageExpiry, held: message };
    map.set(topic, entry);
    if (!this.tables) return;
    this.tables.write((db) =>
      db.prepare("INSERT OR REPLACE INTO mqtt_retained (vhost, topic, qos, properties, payload, stored_at) VALUES (?, ?, ?, ?, ?, ?)")
        .run(vhost, topic, qos, toJson(message.properties), payload, message.storedAt)
    );
    this.tables.afterCommit(() => (entry.held = undefined));
  }

  /** The retained messages a new subscription to `filter` receives (expired ones are dropped). */
  matching(vhost: string, filter: string): RetainedEntry[] {
    const map = this.byVhost.get(vhost);
    if (!map) return [];
    const out: RetainedEntry[] = [];
    const now = Date.now();
    for (const entry of map.values()) {
      if (!topicMatches(filter, entry.topic)) continue;
      if (entry.expiry !== undefined && entry.storedAt + entry.expiry * 1000 <= now) {
        this.retain(vhost, entry.topic, 0, new Uint8Array(0), {});
        continue;
      }
      out.push(entry);
    }
    return out;
  }

  /**
   * The topic's retained message as it is now (it may have been replaced or cleared since `entry`
   * matched): from memory while its write is not durable, else from the table.
   */
  load(vhost: string, entry: RetainedEntry): RetainedMessage | undefined {
    const current = this.byVhost.get(vhost)?.get(entry.topic);
    if (current === undefined) return undefined;
    if (current.held !== undefined || !this.tables) return current.held;
    const row = this.tables.readCommitted<RetainedRow>(
      "SELECT qos, properties, payload, stored_at FROM mqtt_retained WHERE vhost = ? AND topic = ?",
      vhost,
      entry.topic,
    )[0];
    if (row === undefined) return undefined;
    const payload = new Uint8Array(row.payload);
    return { topic: entry.topic, qos: row.qos, payload, properties: fromJson(row.properties), storedAt: row.stored_at };
  }

  forgetVhost(vhost: string): void {
    if (!this.byVhost.delete(vhost)) return;
    this.tables?.write((db) => db.prepare("DELETE FROM mqtt_retained WHERE vhost = ?").run(vhost));
  }
}
