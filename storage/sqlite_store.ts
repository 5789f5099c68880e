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
import type { DestinationKind, DurableLog, StoredMessage } from "./durable_log.ts";
import { LEVEL_SPAN, type QueueEntry } from "./queue_store.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.ts";
import { SegmentFiles } from "./segments.ts";
import type { Message } from "../src/broker/message.ts";

/**
 * Bodies of at least this many bytes go to segment files instead of SQLite blobs
 * (chosen by benchmark: docs/storage.md).
 */
export const SEGMENT_THRESHOLD = 256 * 1024;

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
  /** Non-durable queues get negative ids: their rows are never recovered. */
  private nextTransientQueueId = 1;
  // What the next commit writes.
  private readonly metadata: (() => void)[] = [];
  private readonly newRows = new Map<number, PendingRow>();
  private readonly deletedRows: [number, number][] = [];
  /** Unshared messages whose only row was deleted. */
  private readonly deletedMessages: Message[] = [];
  private readonly segments: SegmentFiles;
  /** Shared messages that lost one row (refs - 1, deleted at 0). */
  private readonly releasedShared: number[] = [];
  private readonly delivered = new Map<number, number>();
  /** The same for priority levels above 0, keyed by levelKey(queue id, level). */
  private readonly deliveredLevels = new Map<number, number>();
  private callbacks: (() => void)[] = [];
  private scheduled = false;
  /** Segments of messages deleted by the current commit (including bulk deletes). */
  private releasedSegments: number[] = [];
  private closed = false;
  private readonly sql: ReturnType<typeof prepareStatements>;

  private constructor(readonly db: SqlDatabase, private readonly log: Logger, dataDir: string, private readonly fsync: boolean) {
    this.sql = prepareStatements(db);
    const live = new Map<number, number>();
    for (const row of db.prepare("SELECT segment, COUNT(*) AS n FROM messages WHERE segment IS NOT NULL GROUP BY segment").all<{ segment: number; n: number }>()) {
      live.set(row.segment, row.n);
    }
    this.segments = new SegmentFiles(join(dataDir, "segments"), live);
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
    let db: SqlDatabase | undefined;
    try {
      db = openSqlite(path);
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("PRAGMA journal_mode = WAL");
      // Take the lock now: a second process gets SQLITE_BUSY here instead of later.
      db.exec("BEGIN IMMEDIATE; COMMIT");
    } catch (err) {
      db?.close();
      const message = (err as Error).message;
      if (/locked|busy/i.test(message)) {
        throw new StoreError(`Cannot open the store in ${dataDir}: another Warren process is using it (${message})`);
      }
      throw new StoreError(`Cannot open the store at ${path}: ${message}`);
    }
    try {
      db.exec(`PRAGMA synchronous = ${options.fsync ? "FULL" : "NORMAL"}`);
      migrate(db, path);
      sweepTransient(db);
      return new SqliteStore(db, options.log, dataDir, options.fsync);
    } catch (err) {
      db.close(); // release the lock: nothing of ours keeps the file open
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.commit();
    this.closed = true;
    this.segments.close();
    this.db.close();
  }

  // ------------------------------------------------------------------------------ metadata

  /** A runtime parameter (policies, operator policies, later shovels and federation upstreams). */
  saveRuntimeParameter(vhost: string, component: string, name: string, value: unknown): void {
    const json = JSON.stringify(value);
    this.record(() => this.sql.saveRuntimeParameter.run(vhost, component, name, json));
  }

  deleteRuntimeParameter(vhost: string, component: string, name: string): void {
    this.record(() => this.sql.deleteRuntimeParameter.run(vhost, component, name));
  }

  saveGlobalParameter(name: string, value: unknown): void {
    const json = JSON.stringify(value);
    this.record(() => this.sql.saveGlobalParameter.run(name, json));
  }

  deleteGlobalParameter(name: string): void {
    this.record(() => this.sql.deleteGlobalParameter.run(name));
  }

  saveVhost(name: string, description = "", tags: string[] = [], limits: object = {}): void {
    const t = tags.join(",");
    const l = JSON.stringify(limits);
    this.record(() => this.sql.saveVhost.run(name, description, t, l));
  }

  /**
   * Drops a vhost's rows: exchanges, bindings, permissions, policies. Its queues (and their
   * messages) are deleted one by one first, through deleteQueue.
   */
  deleteVhost(name: string): void {
    this.record(() => {
      for (const table of ["exchanges", "bindings", "permissions", "topic_permissions", "policies", "runtime_parameters", "vhosts"]) {
        this.db.prepare(`DELETE FROM ${table} WHERE ${table === "vhosts" ? "name" : "vhost"} = ?`).run(name);
      }
    });
  }

  saveUser(name: string, passwordHash: string, hashingAlgorithm: string, tags: string[], limits: object = {}): void {
    const t = tags.join(",");
    const l = JSON.stringify(limits);
    this.record(() => this.sql.saveUser.run(name, passwordHash, hashingAlgorithm, t, l));
  }

  deleteUser(name: string): void {
    this.record(() => {
      for (const table of ["users", "permissions", "topic_permissions"]) {
        this.db.prepare(`DELETE FROM ${table} WHERE ${table === "users" ? "name" : "user"} = ?`).run(name);
      }
    });
  }

  savePermission(user: string, vhost: string, configure: string, write: string, read: string): void {
    this.record(() => this.sql.savePermission.run(user, vhost, configure, write, read));
  }

  deletePermission(user: string, vhost: string): void {
    this.record(() => this.sql.deletePermission.run(user, vhost));
  }

  saveTopicPermission(user: string, vhost: string, exchange: string, write: string, read: string): void {
    this.record(() => this.sql.saveTopicPermission.run(user, vhost, exchange, write, read));
  }

  /** One exchange's topic permission, or (exchange undefined) all of the user's in the vhost. */
  deleteTopicPermission(user: string, vhost: string, exchange?: string): void {
    this.record(() => {
      if (exchange === undefined) this.sql.deleteTopicPermissions.run(user, vhost);
      else this.sql.deleteTopicPermission.run(user, vhost, exchange);
    });
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

  registerTransientQueue(queue: Queue): void {
    queue.storeId = -this.nextTransientQueueId++;
  }

  deleteQueue(queue: Queue): void {
    const id = queue.storeId;
    // Rows not yet written need not be written at all.
    for (const [key, row] of this.newRows) {
      if (row.queueId === id) {
        this.newRows.delete(key);
        row.entry.message.storeRefs--;
      }
    }
    this.delivered.delete(id);
    for (let level = 1; level < queue.levelCount; level++) this.deliveredLevels.delete(levelKey(id, level));
    this.record(() => {
      this.dropRows(id, 0, Number.MAX_SAFE_INTEGER);
      this.sql.deleteQueue.run(id);
      this.sql.deleteLevelsDelivered.run(id);
    });
    this.deleteBindingsTo(queue.vhost, "queue", queue.name);
  }

  purgeFrom(queue: Queue, fromSeq: number, toSeq: number): void {
    const id = queue.storeId;
    for (const [key, row] of this.newRows) {
      if (row.queueId === id && row.seq >= fromSeq && row.seq < toSeq) {
        this.newRows.delete(key);
        row.entry.message.storeRefs--;
      }
    }
    this.record(() => this.dropRows(id, fromSeq, toSeq));
  }

  /** Deletes a queue's rows with fromSeq <= seq < toSeq, releasing their messages. */
  private dropRows(queueId: number, fromSeq: number, toSeq: number): void {
    this.sql.releaseRowsFrom.run(queueId, fromSeq, toSeq);
    for (const r of this.sql.deleteReleasedFrom.all<{ segment: number | null }>(queueId, fromSeq, toSeq)) {
      if (r.segment !== null) this.releasedSegments.push(r.segment);
    }
    this.sql.deleteRowsFrom.run(queueId, fromSeq, toSeq);
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
    const message = entry.message;
    // Published and removed within one turn: the row is never written (nor the message, if
    // no other row of it is).
    if (this.newRows.delete(rowKey(queue.storeId, entry.seq))) {
      message.storeRefs--;
      return;
    }
    this.deletedRows.push([queue.storeId, entry.seq]);
    if (message.storeShared) this.releasedShared.push(message.storeId);
    else this.deletedMessages.push(message);
    this.schedule();
  }

  readPage(queue: Queue, fromSeq: number, toSeq: number, limit: number, maxBytes: number): StoredMessage[] {
    this.commit();
    const page: StoredMessage[] = [];
    let bytes = 0;
    for (const row of this.sql.page.iterate<StoredMessage>(queue.storeId, fromSeq, toSeq, limit)) {
      if (row.segment !== null) row.body = this.segments.read(row.segment, row.segment_offset!, row.body_size);
      page.push(row);
      bytes += row.body_size;
      if (bytes >= maxBytes) break;
    }
    return page;
  }

  markDelivered(queue: Queue, seq: number): void {
    // Priority levels above 0 keep their own watermark (their seqs are a range of their own).
    const key = seq < LEVEL_SPAN ? queue.storeId : levelKey(queue.storeId, Math.floor(seq / LEVEL_SPAN));
    const map = seq < LEVEL_SPAN ? this.delivered : this.deliveredLevels;
    if ((map.get(key) ?? 0) < seq) map.set(key, seq);
    this.schedule();
  }

  afterCommit(fn: () => void): void {
    if (!this.scheduled) fn();
    else this.callbacks.push(fn);
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    nextTurn(() => {
      try {
        this.commit();
      } catch (err) {
        // Nothing unconfirmed is lost, but the broker cannot go on without its store.
        this.log.error(`store commit failed, stopping: ${(err as Error).message}`);
        throw err;
      }
    });
  }

  /** Writes everything recorded since the last commit in one transaction, then runs callbacks. */
  commit(): void {
    if (!this.scheduled || this.closed) return;
    this.scheduled = false;
    const sql = this.sql;
    const started = performance.now();
    const rows = this.newRows.size;
    // Large bodies go to the segment file first, made durable before the rows that point at them.
    for (const row of this.newRows.values()) {
      const message = row.entry.message;
      if (!message.storeWritten && message.storeSegment === 0 && message.body.length >= SEGMENT_THRESHOLD) {
        const at = this.segments.append(message.body);
        message.storeSegment = at.segment;
        message.storeOffset = at.offset;
      }
    }
    if (this.fsync) this.segments.sync();
    const released = this.releasedSegments;
    this.db.transaction(() => {
      // Row changes first: a queue dropped in this same batch (metadata) then finds only the
      // rows nobody released yet, so no message is released twice.
      for (const row of this.newRows.values()) {
        const message = row.entry.message;
        if (!message.storeWritten) {
          const refs = message.storeRefs;
          const inSegment = message.storeSegment !== 0;
          sql.insertMessage.run(
            message.storeId, message.exchange, message.routingKey, message.properties, inSegment ? EMPTY : message.body,
            refs, message.storeTransient || !message.persistent ? 1 : 0,
            inSegment ? message.storeSegment : null, inSegment ? message.storeOffset : null, message.body.length,
          );
          message.storeWritten = true;
          message.storeShared = refs > 1;
        }
        sql.insertRow.run(row.queueId, row.seq, message.storeId, row.entry.expiresAt);
      }
      for (const [queueId, seq] of this.deletedRows) sql.deleteRow.run(queueId, seq);
      for (const message of this.deletedMessages) {
        sql.deleteMessage.run(message.storeId);
        if (message.storeSegment !== 0) released.push(message.storeSegment);
      }
      for (const id of this.releasedShared) {
        sql.releaseMessage.run(id);
        for (const r of sql.deleteIfUnreferenced.all<{ segment: number | null }>(id)) if (r.segment !== null) released.push(r.segment);
      }
      for (const op of this.metadata) op();
      for (const [queueId, seq] of this.delivered) sql.markDelivered.run(seq, queueId);
      for (const [key, seq] of this.deliveredLevels) {
        const queueId = Math.floor(key / 512);
        sql.markLevelDelivered.run(queueId, key - queueId * 512, seq);
      }
    });
    this.metadata.length = 0;
    this.newRows.clear();
    this.deletedRows.length = 0;
    this.deletedMessages.length = 0;
    this.releasedShared.length = 0;
    this.delivered.clear();
    this.deliveredLevels.clear();
    const elapsed = performance.now() - started;
    if (elapsed > 500) this.log.warning(`store commit of ${rows} messages took ${elapsed.toFixed(0)} ms`);
    // Segment space is given back only once the rows that used it are gone for good.
    for (const segment of this.releasedSegments) this.segments.release(segment);
    this.releasedSegments = [];
    const callbacks = this.callbacks;
    this.callbacks = [];
    for (const fn of callbacks) fn();
  }

  // ------------------------------------------------------------------------------ recovery


  /** How many messages a queue has stored with fromSeq <= seq < toSeq, and the highest seq. */
  queueStats(queueId: number, fromSeq = 0, toSeq = Number.MAX_SAFE_INTEGER): { count: number; bytes: number; maxSeq: number } {
    const row = this.sql.queueStats.get<{ n: number; b: number | null; m: number | null }>(queueId, fromSeq, toSeq);
    return { count: row?.n ?? 0, bytes: row?.b ?? 0, maxSeq: row?.m ?? 0 };
  }

  /** Boot: a queue's stored messages per priority level (levels 0 … levelCount-1). */
  levelStats(queueId: number, deliveredSeq: number, levelCount: number) {
    const delivered = new Map<number, number>([[0, deliveredSeq]]);
    for (const r of this.sql.levelsDelivered.all<{ level: number; seq: number }>(queueId)) delivered.set(r.level, r.seq);
    const stats = [];
    for (let level = 0; level < levelCount; level++) {
      const { count, bytes, maxSeq } = this.queueStats(queueId, level * LEVEL_SPAN, (level + 1) * LEVEL_SPAN);
      if (count > 0) stats.push({ level, count, bytes, maxSeq, deliveredUpTo: delivered.get(level) ?? 0 });
    }
    return stats;
  }

  /** Everything durable, for boot. Messages are read per queue with queueMessages(). */
  loadMetadata() {
    const db = this.db;
    return {
      vhosts: db.prepare("SELECT name, description, tags, limits FROM vhosts").all<{
        name: string; description: string; tags: string; limits: string;
      }>(),
      runtimeParameters: db.prepare("SELECT vhost, component, name, value FROM runtime_parameters").all<{
        vhost: string; component: string; name: string; value: string;
      }>(),
      globalParameters: db.prepare("SELECT name, value FROM global_parameters").all<{ name: string; value: string }>(),
      users: db.prepare("SELECT name, password_hash, hashing_algorithm, tags, limits FROM users").all<{
        name: string; password_hash: string; hashing_algorithm: string; tags: string; limits: string;
      }>(),
      topicPermissions: db.prepare("SELECT user, vhost, exchange, write, read FROM topic_permissions").all<{
        user: string; vhost: string; exchange: string; write: string; read: string;
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
    };
  }


  /**
   * Whether the default user and vhost were never created (first boot). Not "no vhosts": a
   * store whose vhosts were all deleted must not get guest/guest back at the next boot.
   */
  get isFresh(): boolean {
    return this.db.prepare("SELECT value FROM meta WHERE key = 'defaults_created'").get() == null;
  }

  /** Records that the defaults exist (with the next commit, which also writes them). */
  markDefaultsCreated(): void {
    this.record(() => this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('defaults_created', '1')").run());
  }
}


function prepareStatements(db: SqlDatabase) {
  const p = (sql: string): SqlStatement => db.prepare(sql);
  return {
    saveVhost: p("INSERT OR REPLACE INTO vhosts (name, description, tags, limits) VALUES (?, ?, ?, ?)"),
    saveUser: p("INSERT OR REPLACE INTO users (name, password_hash, hashing_algorithm, tags, limits) VALUES (?, ?, ?, ?, ?)"),
    saveRuntimeParameter: p("INSERT OR REPLACE INTO runtime_parameters (vhost, component, name, value) VALUES (?, ?, ?, ?)"),
    deleteRuntimeParameter: p("DELETE FROM runtime_parameters WHERE vhost = ? AND component = ? AND name = ?"),
    saveGlobalParameter: p("INSERT OR REPLACE INTO global_parameters (name, value) VALUES (?, ?)"),
    deleteGlobalParameter: p("DELETE FROM global_parameters WHERE name = ?"),
    savePermission: p("INSERT OR REPLACE INTO permissions (user, vhost, configure, write, read) VALUES (?, ?, ?, ?, ?)"),
    deletePermission: p("DELETE FROM permissions WHERE user = ? AND vhost = ?"),
    saveTopicPermission: p("INSERT OR REPLACE INTO topic_permissions (user, vhost, exchange, write, read) VALUES (?, ?, ?, ?, ?)"),
    deleteTopicPermission: p("DELETE FROM topic_permissions WHERE user = ? AND vhost = ? AND exchange = ?"),
    deleteTopicPermissions: p("DELETE FROM topic_permissions WHERE user = ? AND vhost = ?"),
    saveExchange: p("INSERT OR REPLACE INTO exchanges (vhost, name, type, auto_delete, internal, arguments) VALUES (?, ?, ?, ?, ?, ?)"),
    deleteExchange: p("DELETE FROM exchanges WHERE vhost = ? AND name = ?"),
    saveQueue: p("INSERT OR REPLACE INTO queues (id, vhost, name, auto_delete, arguments) VALUES (?, ?, ?, ?, ?)"),
    deleteQueue: p("DELETE FROM queues WHERE id = ?"),
    releaseRowsFrom: p("UPDATE messages SET refs = refs - 1 WHERE id IN (SELECT message_id FROM queue_messages WHERE queue_id = ?1 AND seq >= ?2 AND seq < ?3)"),
    deleteReleasedFrom: p("DELETE FROM messages WHERE refs <= 0 AND id IN (SELECT message_id FROM queue_messages WHERE queue_id = ?1 AND seq >= ?2 AND seq < ?3) RETURNING segment"),
    deleteRowsFrom: p("DELETE FROM queue_messages WHERE queue_id = ? AND seq >= ? AND seq < ?"),
    queueStats: p(`SELECT COUNT(*) AS n, SUM(m.body_size) AS b, MAX(q.seq) AS m
      FROM queue_messages q JOIN messages m ON m.id = q.message_id WHERE q.queue_id = ? AND q.seq >= ? AND q.seq < ?`),
    levelsDelivered: p("SELECT level, seq FROM queue_levels_delivered WHERE queue_id = ?"),
    markLevelDelivered: p(`INSERT INTO queue_levels_delivered (queue_id, level, seq) VALUES (?, ?, ?)
      ON CONFLICT (queue_id, level) DO UPDATE SET seq = MAX(seq, excluded.seq)`),
    deleteLevelsDelivered: p("DELETE FROM queue_levels_delivered WHERE queue_id = ?"),
    releaseMessage: p("UPDATE messages SET refs = refs - 1 WHERE id = ?"),
    deleteIfUnreferenced: p("DELETE FROM messages WHERE id = ? AND refs <= 0 RETURNING segment"),
    saveBinding: p("INSERT OR IGNORE INTO bindings (vhost, source, destination_kind, destination, routing_key, arguments) VALUES (?, ?, ?, ?, ?, ?)"),
    deleteBinding: p("DELETE FROM bindings WHERE vhost = ? AND source = ? AND destination_kind = ? AND destination = ? AND routing_key = ? AND arguments = ?"),
    deleteBindingsTo: p("DELETE FROM bindings WHERE vhost = ? AND destination_kind = ? AND destination = ?"),
    deleteBindingsFrom: p("DELETE FROM bindings WHERE vhost = ? AND source = ?"),
    insertMessage: p(`INSERT INTO messages (id, exchange, routing_key, properties, body, refs, transient, segment, segment_offset, body_size)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    deleteMessage: p("DELETE FROM messages WHERE id = ?"),
    insertRow: p("INSERT INTO queue_messages (queue_id, seq, message_id, expires_at) VALUES (?, ?, ?, ?)"),
    deleteRow: p("DELETE FROM queue_messages WHERE queue_id = ? AND seq = ?"),
    markDelivered: p("UPDATE queues SET delivered_seq = MAX(delivered_seq, ?) WHERE id = ?"),
    page: p(`SELECT q.seq AS seq, m.id AS id, m.exchange AS exchange, m.routing_key AS routing_key,
        m.properties AS properties, m.body AS body, m.refs AS refs, q.expires_at AS expires_at, m.segment AS segment,
        m.segment_offset AS segment_offset, m.body_size AS body_size
      FROM queue_messages q JOIN messages m ON m.id = q.message_id
      WHERE q.queue_id = ? AND q.seq >= ? AND q.seq < ? ORDER BY q.seq LIMIT ?`),
  };
}

const EMPTY = new Uint8Array(0);

/** Boot: drop messages that were on disk only because their queue was paging, and unreferenced ones. */
function sweepTransient(db: SqlDatabase): void {
  db.transaction(() => {
    db.exec("DELETE FROM queue_messages WHERE queue_id < 0 OR message_id IN (SELECT id FROM messages WHERE transient = 1)");
    db.exec("DELETE FROM messages WHERE transient = 1 OR refs <= 0");
  });
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

/** The key of a queue's priority level in deliveredLevels (levels are below 256). */
function levelKey(queueId: number, level: number): number {
  return queueId * 512 + level;
}
