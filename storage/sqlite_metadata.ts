// The metadata rows of the SQLite store read back at boot, and field tables as stored bytes.
import { Reader } from "../src/amqp/reader.ts";
import { decodeTable, encodeTable, type FieldTable } from "../src/amqp/table.ts";
import { Writer } from "../src/amqp/writer.ts";
import type { SqlDatabase } from "../src/runtime/sqlite.ts";
import type { DestinationKind, StoredMetadata } from "./store.ts";

/** Everything durable but messages, for boot. */
export function loadMetadata(db: SqlDatabase): StoredMetadata {
  return {
    vhosts: db.prepare("SELECT name, description, tags, limits FROM vhosts").all<{
      name: string;
      description: string;
      tags: string;
      limits: string;
    }>(),
    runtimeParameters: db.prepare("SELECT vhost, component, name, value FROM runtime_parameters").all<{
      vhost: string;
      component: string;
      name: string;
      value: string;
    }>(),
    globalParameters: db.prepare("SELECT name, value FROM global_parameters").all<{ name: string; value: string }>(),
    users: db.prepare("SELECT name, password_hash, hashing_algorithm, tags, limits FROM users").all<{
      name: string;
      password_hash: string;
      hashing_algorithm: string;
      tags: string;
      limits: string;
    }>(),
    topicPermissions: db.prepare("SELECT user, vhost, exchange, write, read FROM topic_permissions").all<{
      user: string;
      vhost: string;
      exchange: string;
      write: string;
      read: string;
    }>(),
    permissions: db.prepare("SELECT user, vhost, configure, write, read FROM permissions").all<{
      user: string;
      vhost: string;
      configure: string;
      write: string;
      read: string;
    }>(),
    exchanges: db.prepare("SELECT vhost, name, type, auto_delete, internal, arguments FROM exchanges").all<{
      vhost: string;
      name: string;
      type: string;
      auto_delete: number;
      internal: number;
      arguments: Uint8Array;
    }>().map((r) => ({ ...r, args: tableFrom(r.arguments) })),
    queues: db.prepare("SELECT id, vhost, name, auto_delete, arguments, delivered_seq FROM queues ORDER BY id").all<{
      id: number;
      vhost: string;
      name: string;
      auto_delete: number;
      arguments: Uint8Array;
      delivered_seq: number;
    }>().map((r) => ({ ...r, args: tableFrom(r.arguments) })),
    bindings: db.prepare("SELECT vhost, source, destination_kind, destination, routing_key, arguments FROM bindings ORDER BY rowid").all<{
      vhost: string;
      source: string;
      destination_kind: DestinationKind;
      destination: string;
      routing_key: string;
      arguments: Uint8Array;
    }>().map((r) => ({ ...r, args: tableFrom(r.arguments) })),
  };
}

export function tableBytes(table: FieldTable): Uint8Array {
  const w = new Writer(64);
  encodeTable(w, table);
  return w.written().slice();
}

function tableFrom(bytes: Uint8Array): FieldTable {
  return decodeTable(new Reader(bytes));
}
