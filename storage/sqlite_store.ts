// The durable store on SQLite (WAL). Group commit: changes recorded during one event-loop turn
// are written in one transaction on the next turn; confirms wait for it (afterCommit).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Reader } from "../src/amqp/reader.ts";
import { decodeTable, encodeTable, type FieldTable } from "../src/amqp/table.ts";
import { Writer } from "../src/amqp/writer.ts";
import type { Exchange } from "../src/broker/exchange.ts";
import type { Queue } from "../src/broker/queue.ts";
import type { Logger } from "../src/log.ts";
import { openSqlite, type SqlDatabase, type SqlStatement } from "../src/runtime/sqlite.ts";
import { nextTurn } from "../src/runtime/timers.ts";
import type { DestinationKind, DurableLog } from "./durable_log.ts";
import type { QueueEntry } from "./queue_store.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.ts";

export class StoreError extends Error {}

/** An index row waiting for the next commit, keyed by queue id and seq. */
interface PendingRow {
  queueId: number;
  seq: number;
  entry: QueueEntry;
}

const rowKey = (queueId: number, seq: number) => queueId * 0x1_0000_0000 + seq;

export class SqliteStore implements DurableLog {
  private nextMessageId = 1;
  private nextQueueId = 1;
  // What the next commit writes.
  private readonly metadata: (() => void)[] = [];
  private readonly newRows = new Map<number, PendingRow>();
  private readonly deletedRows: [number, number][] = [];
  private readonly deletedMessages: number[] = [];
  private readonly delivered = new Map<number, number>();
  private callbacks: (() => void)[] = [];
  private scheduled = false;
  private closed = false;
  private readonly sql: ReturnType<typeof prepareStatements>;

  private constructor(readonly db: SqlDatabase, private readonly log: Logger) {
    this.sql = prepareStatements(db);
    this.nextMessageId = (db.prepare("SELECT MAX(id) AS m FROM messages").get<{ m: number | null }>()?.m ?? 0) + 1;
    this.nextQueueId = (db.prepare("SELECT MAX(id) AS m FROM queues").get<{ m: number | null }>()?.m ?? 0) + 1;
  }

  /**
   * Opens (or creates) the store in `dataDir`. The database is held with an exclusive lock, so a
   * second broker on the same directory fails here with a clear error.
   */
  static open(dataDir: string, options: { fsync: boolean; log: Logger }): SqliteStore {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, "warren.sqlite");
    let db: SqlDatabase;
    try {
      db = openSqlite(path);
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("PRAGMA journal_mode = WAL");
      // Take the lock now: a second process gets SQLITE_BUSY here instead of later.
      db.exec("BEGIN IMMEDIATE; COMMIT");
    } catch (err) {
      const message = (err as Error).message;
      if (/locked|busy/i.test(message)) {
        throw new StoreError(`Cannot open the store in ${dataDir}: another Warren process is using it (${message})`);
      }
      throw new StoreError(`Cannot open the store at ${path}: ${message}`);
    }
    db.exec(`PRAGMA synchronous = ${options.fsync ? "FULL" : "NORMAL"}`);
    migrate(db, path);
    return new SqliteStore(db, options.log);
  }

  close(): void {
    if (this.closed) return;
    this.commit();
    this.closed = true;
    this.db.close();
  }

  // ------------------------------------------------------------------------------ metadata

  saveVhost(name: string): void {
    this.record(() => this.sql.saveVhost.run(name));
  }

  saveUser(name: string, passwordHash: string, hashingAlgorithm: string, tags: string[]): void {
    this.record(() => this.sql.saveUser.run(name, passwordHash, hashingAlgorithm, tags.join(",")));
  }

  savePermission(user: string, vhost: string, configure: string, write: string, read: string): void {
    this.record(() => this.sql.savePermission.run(user, vhost, configure, write, read));
  }

  saveExchange(x: Exchange): void {
    const args = tableBytes(x.args);
    this.record(() => this.sql.saveExchange.run(x.vhost, x.name, x.type, x.autoDelete ? 1 : 0, x.internal ? 1 : 0, args));
  }

  deleteExchange(vhost: string, name: string): void {
    this.record(() => this.sql.deleteExchange.run(vhost, name));
  }

  saveQueue(queue: Queue): void {
    const id = this.nextQueueId++;
    queue.storeId = id;
    const args = tableBytes(queue.args);
    this.record(() => this.sql.saveQueue.run(id, queue.vhost, queue.name, queue.autoDelete ? 1 : 0, args));
  }

  deleteQueue(queue: Queue): void {
    const id = queue.storeId;
    // Rows not yet written need not be written at all.
    for (const [key, row] of this.newRows) {
      if (row.queueId === id) {
        this.newRows.delete(key);
        this.release(row.entry);
      }
    }
    this.delivered.delete(id);
    this.record(() => {
      this.sql.deleteQueueRows.run(id);
      this.sql.deleteQueue.run(id);
      // Messages no other queue holds.
      this.sql.deleteOrphanMessages.run();
    });
    this.deleteBindingsTo(queue.vhost, "queue", queue.name);
  }

  saveBinding(vhost: string, source: string, kind: DestinationKind, destination: string, key: string, args: FieldTable): void {
    const a = tableBytes(args);
    this.record(() => this.sql.saveBinding.run(vhost, source, kind, destination, key, a));
  }

  deleteBinding(vhost: string, source: string, kind: DestinationKind, destination: string, key: string, args: FieldTable): void {
    const a = tableBytes(args);
    this.record(() => this.sql.deleteBinding.run(vhost, source, kind, destination, key, a));
  }

  deleteBindingsTo(vhost: string, kind: DestinationKind, destination: string): void {
    this.record(() => this.sql.deleteBindingsTo.run(vhost, kind, destination));
  }

  deleteBindingsFrom(vhost: string, source: string): void {
    this.record(() => this.sql.deleteBindingsFrom.run(vhost, source));
  }

  private record(op: () => void): void {
    this.metadata.push(op);
    this.schedule();
  }

  // ------------------------------------------------------------------------------ messages

  persist(queue: Queue, entry: QueueEntry): void {
    const message = entry.message;
    if (message.storeId === 0) message.storeId = this.nextMessageId++;
    message.storeRefs++;
    this.newRows.set(rowKey(queue.storeId, entry.seq), { queueId: queue.storeId, seq: entry.seq, entry });
    this.schedule();
  }

  remove(queue: Queue, entry: QueueEntry): void {
    const key = rowKey(queue.storeId, entry.seq);
    // Published and acked within one turn: neither write happens.
    if (!this.newRows.delete(key)) this.deletedRows.push([queue.storeId, entry.seq]);
    this.release(entry);
    this.schedule();
  }

  private release(entry: QueueEntry): void {
    const message = entry.message;
    if (--message.storeRefs === 0) {
      if (message.storeWritten) this.deletedMessages.push(message.storeId);
    }
  }

  markDelivered(queue: Queue, seq: number): void {
    const id = queue.storeId;
    if ((this.delivered.get(id) ?? 0) < seq) this.delivered.set(id, seq);
    this.schedule();
  }

  afterCommit(fn: () => void): void {
    if (!this.scheduled) fn();
    else this.callbacks.push(fn);
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    nextTurn(() => this.commit());
  }

  /** Writes everything recorded since the last commit in one transaction, then runs callbacks. */
  commit(): void {
    if (!this.scheduled || this.closed) return;
    this.scheduled = false;
    const sql = this.sql;
    const started = performance.now();
    const rows = this.newRows.size;
    this.db.transaction(() => {
      for (const op of this.metadata) op();
      for (const row of this.newRows.values()) {
        const message = row.entry.message;
        if (!message.storeWritten) {
          sql.insertMessage.run(message.storeId, message.exchange, message.routingKey, message.properties, message.body);
          message.storeWritten = true;
        }
        sql.insertRow.run(row.queueId, row.seq, message.storeId);
      }
      for (const [queueId, seq] of this.deletedRows) sql.deleteRow.run(queueId, seq);
      for (const id of this.deletedMessages) sql.deleteMessage.run(id);
      for (const [queueId, seq] of this.delivered) sql.markDelivered.run(seq, queueId);
    });
    this.metadata.length = 0;
    this.newRows.clear();
    this.deletedRows.length = 0;
    this.deletedMessages.length = 0;
    this.delivered.clear();
    const elapsed = performance.now() - started;
    if (elapsed > 500) this.log.warning(`store commit of ${rows} messages took ${elapsed.toFixed(0)} ms`);
    const callbacks = this.callbacks;
    this.callbacks = [];
    for (const fn of callbacks) fn();
  }

  // ------------------------------------------------------------------------------ recovery

  /** Boot: drop message rows no queue refers to (left when a queue holding shared messages was deleted). */
  sweepOrphans(): void {
    this.sql.deleteOrphanMessages.run();
  }

  /** Everything durable, for boot. Messages are read per queue with queueMessages(). */
  loadMetadata() {
    const db = this.db;
    return {
      vhosts: db.prepare("SELECT name FROM vhosts").all<{ name: string }>().map((r) => r.name),
      users: db.prepare("SELECT name, password_hash, hashing_algorithm, tags FROM users").all<{
        name: string; password_hash: string; hashing_algorithm: string; tags: string;
      }>(),
      permissions: db.prepare("SELECT user, vhost, configure, write, read FROM permissions").all<{
        user: string; vhost: string; configure: string; write: string; read: string;
      }>(),
      exchanges: db.prepare("SELECT vhost, name, type, auto_delete, internal, arguments FROM exchanges").all<{
        vhost: string; name: string; type: string; auto_delete: number; internal: number; arguments: Uint8Array;
      }>().map((r) => ({ ...r, args: tableFrom(r.arguments) })),
      queues: db.prepare("SELECT id, vhost, name, auto_delete, arguments, delivered_seq FROM queues ORDER BY id").all<{
        id: number; vhost: string; name: string; auto_delete: number; arguments: Uint8Array; delivered_seq: number;
      }>().map((r) => ({ ...r, args: tableFrom(r.arguments) })),
      bindings: db.prepare("SELECT vhost, source, destination_kind, destination, routing_key, arguments FROM bindings").all<{
        vhost: string; source: string; destination_kind: DestinationKind; destination: string; routing_key: string; arguments: Uint8Array;
      }>().map((r) => ({ ...r, args: tableFrom(r.arguments) })),
      messageCount: db.prepare("SELECT COUNT(*) AS n FROM queue_messages").get<{ n: number }>()?.n ?? 0,
    };
  }

  /** A queue's messages in order. */
  queueMessages(queueId: number): IterableIterator<MessageRow> {
    return this.sql.queueMessages.iterate<MessageRow>(queueId);
  }

  /** Whether the store was just created (first boot: create the default user and vhost). */
  get isFresh(): boolean {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM vhosts").get<{ n: number }>()?.n ?? 0) === 0;
  }
}

export interface MessageRow {
  seq: number;
  id: number;
  exchange: string;
  routing_key: string;
  properties: Uint8Array;
  body: Uint8Array;
}

function prepareStatements(db: SqlDatabase) {
  const p = (sql: string): SqlStatement => db.prepare(sql);
  return {
    saveVhost: p("INSERT OR IGNORE INTO vhosts (name) VALUES (?)"),
    saveUser: p("INSERT OR REPLACE INTO users (name, password_hash, hashing_algorithm, tags) VALUES (?, ?, ?, ?)"),
    savePermission: p("INSERT OR REPLACE INTO permissions (user, vhost, configure, write, read) VALUES (?, ?, ?, ?, ?)"),
    saveExchange: p("INSERT OR REPLACE INTO exchanges (vhost, name, type, auto_delete, internal, arguments) VALUES (?, ?, ?, ?, ?, ?)"),
    deleteExchange: p("DELETE FROM exchanges WHERE vhost = ? AND name = ?"),
    saveQueue: p("INSERT OR REPLACE INTO queues (id, vhost, name, auto_delete, arguments) VALUES (?, ?, ?, ?, ?)"),
    deleteQueue: p("DELETE FROM queues WHERE id = ?"),
    deleteQueueRows: p("DELETE FROM queue_messages WHERE queue_id = ?"),
    deleteOrphanMessages: p("DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM queue_messages WHERE message_id = messages.id)"),
    saveBinding: p("INSERT OR IGNORE INTO bindings (vhost, source, destination_kind, destination, routing_key, arguments) VALUES (?, ?, ?, ?, ?, ?)"),
    deleteBinding: p("DELETE FROM bindings WHERE vhost = ? AND source = ? AND destination_kind = ? AND destination = ? AND routing_key = ? AND arguments = ?"),
    deleteBindingsTo: p("DELETE FROM bindings WHERE vhost = ? AND destination_kind = ? AND destination = ?"),
    deleteBindingsFrom: p("DELETE FROM bindings WHERE vhost = ? AND source = ?"),
    insertMessage: p("INSERT INTO messages (id, exchange, routing_key, properties, body) VALUES (?, ?, ?, ?, ?)"),
    deleteMessage: p("DELETE FROM messages WHERE id = ?"),
    insertRow: p("INSERT INTO queue_messages (queue_id, seq, message_id) VALUES (?, ?, ?)"),
    deleteRow: p("DELETE FROM queue_messages WHERE queue_id = ? AND seq = ?"),
    markDelivered: p("UPDATE queues SET delivered_seq = MAX(delivered_seq, ?) WHERE id = ?"),
    queueMessages: p(`SELECT q.seq AS seq, m.id AS id, m.exchange AS exchange, m.routing_key AS routing_key,
        m.properties AS properties, m.body AS body
      FROM queue_messages q JOIN messages m ON m.id = q.message_id WHERE q.queue_id = ? ORDER BY q.seq`),
  };
}

function migrate(db: SqlDatabase, path: string): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const current = db.prepare("SELECT MAX(version) AS v FROM schema_version").get<{ v: number | null }>()?.v ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new StoreError(`The store at ${path} has schema version ${current}, newer than this Warren supports (${SCHEMA_VERSION}); refusing to touch it`);
  }
  const pending = MIGRATIONS.filter((m) => m.version > current);
  if (pending.length === 0) return;
  db.transaction(() => {
    for (const m of pending) {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(m.version);
    }
  });
}

function tableBytes(table: FieldTable): Uint8Array {
  const w = new Writer(64);
  encodeTable(w, table);
  return w.written().slice();
}

function tableFrom(bytes: Uint8Array): FieldTable {
  return decodeTable(new Reader(bytes));
}
