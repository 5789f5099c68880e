// The durable store on SQLite (WAL). Group commit: changes recorded during one event-loop turn
// are written in one transaction on the next turn; confirms wait for it (afterCommit).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Reader } from "../src/amqp/reader.ts";
import { decodeTable, encodeTable, type FieldTable } from "../src/amqp/table.ts";
import { Writer } from "../src/amqp/writer.ts";
import type { Logger } from "../src/log.ts";
import { openSqlite, type SqlDatabase, type SqlStatement, type SqlValue } from "../src/runtime/sqlite.ts";
import { migratePlugin, type PluginMigration, type PluginTables } from "./plugin_tables.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.ts";
import { SegmentFiles } from "./segments.ts";
import { prepareStatements, type Statements } from "./sqlite_statements.ts";
import {
  levelRange, StoreRef, type DestinationKind, type ExchangeRecord, type LevelStats, type QueueRecord, type StorableMessage,
  type Store, type StoredMessage, type StoredMetadata,
} from "./store.ts";
import { GroupCommit } from "./group_commit.ts";

/**
 * Bodies of at least this many bytes go to segment files instead of SQLite blobs
 * (chosen by benchmark: docs/storage.md).
 */
export const SEGMENT_THRESHOLD = 256 * 1024;

export class StoreError extends Error {}

export class SqliteStore extends GroupCommit implements Store {
  private nextMessageId = 1;
  private nextQueueId = 1;
  private readonly segments: SegmentFiles;
  /** Segments of messages deleted by the current commit (including bulk deletes). */
  private releasedSegments: number[] = [];
  private readonly sql: Statements;

  private constructor(readonly db: SqlDatabase, private readonly log: Logger, dataDir: string, private readonly fsync: boolean) {
    super();
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

  /** As a crash would leave it: what is not committed is lost (tests). */
  abandon(): void {
    if (this.closed) return;
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

  saveExchange(x: ExchangeRecord): void {
    const args = tableBytes(x.args);
    this.record(() => this.sql.saveExchange.run(x.vhost, x.name, x.type, x.autoDelete ? 1 : 0, x.internal ? 1 : 0, args));
  }

  deleteExchange(vhost: string, name: string): void {
    this.record(() => this.sql.deleteExchange.run(vhost, name));
  }

  saveQueue(queue: QueueRecord): number {
    const id = this.nextQueueId++;
    const args = tableBytes(queue.args);
    this.record(() => this.sql.saveQueue.run(id, queue.vhost, queue.name, queue.autoDelete ? 1 : 0, args));
    return id;
  }

  deleteQueue(queueId: number, vhost: string, name: string): void {
    // Rows not yet written need not be written at all.
    this.pending.dropQueue(queueId);
    this.record(() => {
      this.dropRows(queueId, 0, Number.MAX_SAFE_INTEGER);
      this.sql.deleteQueue.run(queueId);
      this.sql.deleteLevelsDelivered.run(queueId);
    });
    this.deleteBindingsTo(vhost, "queue", name);
  }

  purgeFrom(queueId: number, fromSeq: number, toSeq: number): void {
    this.pending.dropRange(queueId, fromSeq, toSeq);
    this.record(() => this.dropRows(queueId, fromSeq, toSeq));
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

  /** A plugin's tables: its migrations applied now, its writes inside the group commit. */
  pluginTables(plugin: string, migrations: readonly PluginMigration[]): PluginTables {
    migratePlugin(this.db, plugin, migrations);
    const statements = new Map<string, SqlStatement>();
    const read = <T>(sql: string, params: SqlValue[]) => {
      let statement = statements.get(sql);
      if (!statement) statements.set(sql, (statement = this.db.prepare(sql)));
      return statement.all<T>(...params);
    };
    return {
      write: (fn) => this.record(() => fn(this.db)),
      query: <T>(sql: string, ...params: SqlValue[]) => {
        this.commit();
        return read<T>(sql, params);
      },
      readCommitted: <T>(sql: string, ...params: SqlValue[]) => read<T>(sql, params),
      afterCommit: (fn) => this.afterCommit(fn),
    };
  }

  protected newMessageId(): number {
    return this.nextMessageId++;
  }

  // ------------------------------------------------------------------------------ messages

  readPage(queueId: number, fromSeq: number, toSeq: number, limit: number, maxBytes: number): StoredMessage[] {
    this.commit();
    const page: StoredMessage[] = [];
    let bytes = 0;
    for (const row of this.sql.page.iterate<PageRow>(queueId, fromSeq, toSeq, limit)) {
      const ref = new StoreRef();
      ref.id = row.id;
      ref.written = true;
      ref.shared = row.refs > 1;
      if (row.segment !== null) {
        ref.segment = row.segment;
        ref.offset = row.segment_offset!;
      }
      const body = row.segment !== null ? this.segments.read(row.segment, row.segment_offset!, row.body_size) : row.body;
      page.push({
        seq: row.seq, exchange: row.exchange, routingKey: row.routing_key, properties: row.properties, body,
        expiresAt: row.expires_at, deliveryCount: row.delivery_count, bodySize: row.body_size, ref,
      });
      bytes += row.body_size;
      if (bytes >= maxBytes) break;
    }
    return page;
  }

  messageCount(): number {
    this.commit();
    return this.sql.messageCount.get<{ n: number }>()?.n ?? 0;
  }

  /** Writes everything recorded since the last commit in one transaction, then runs callbacks. */
  commit(): void {
    if (!this.beginCommit()) return;
    const sql = this.sql;
    const pending = this.pending;
    const started = performance.now();
    const rows = pending.rowCount;
    // Large bodies go to the segment file first, made durable before the rows that point at them.
    for (const queueRows of pending.rows.values()) {
      for (const row of queueRows.values()) {
        const message = row.message;
        const ref = message.storeRef!;
        if (!ref.written && ref.segment === 0 && message.body.length >= SEGMENT_THRESHOLD) {
          const at = this.segments.append(message.body);
          ref.segment = at.segment;
          ref.offset = at.offset;
        }
      }
    }
    if (this.fsync) this.segments.sync();
    const released = this.releasedSegments;
    this.db.transaction(() => {
      // Removals first, then metadata (queue deletes and purges drop the rows still there, so
      // no message is released twice), then the new rows: a row recorded after a purge in the
      // same turn lies in the purged range and must not be dropped with it.
      const deletedQueues = pending.deletedQueueIds;
      const deletedSeqs = pending.deletedSeqs;
      for (let i = 0; i < deletedQueues.length; i++) sql.deleteRow.run(deletedQueues[i]!, deletedSeqs[i]!);
      for (const ref of pending.releasedMessages) {
        if (ref.shared) {
          sql.releaseMessage.run(ref.id);
          for (const r of sql.deleteIfUnreferenced.all<{ segment: number | null }>(ref.id)) if (r.segment !== null) released.push(r.segment);
        } else {
          sql.deleteMessage.run(ref.id);
          if (ref.segment !== 0) released.push(ref.segment);
          // Gone: stored again only as a new message, with its body rewritten.
          ref.written = false;
          ref.segment = 0;
        }
      }
      for (const op of this.metadata) op();
      for (const [queueId, queueRows] of pending.rows) {
        for (const row of queueRows.values()) {
          const message = row.message;
          const ref = message.storeRef!;
          if (ref.pendingRows > 0) {
            // The first pending row of this message in this commit accounts for all of them; a
            // message stored before gains references, or is stored again if its row is gone.
            if (!ref.written || sql.addRefs.get(ref.pendingRows, ref.id) === undefined) this.insertMessage(queueId, message, ref);
            else ref.shared = true;
            ref.pendingRows = 0;
          }
          sql.insertRow.run(queueId, row.seq, ref.id, row.expiresAt, row.deliveryCount ?? 0);
        }
      }
      for (const { queueId, seq, count } of pending.deliveryCounts()) sql.setDeliveryCount.run(count, queueId, seq);
      for (const { queueId, level, seq } of pending.delivered()) {
        if (level === 0) sql.markDelivered.run(seq, queueId);
        else sql.markLevelDelivered.run(queueId, level, seq);
      }
    });
    const elapsed = performance.now() - started;
    if (elapsed > 500) this.log.warning(`store commit of ${rows} messages took ${elapsed.toFixed(0)} ms`);
    // Segment space is given back only once the rows that used it are gone for good.
    for (const segment of this.releasedSegments) this.segments.release(segment);
    this.releasedSegments = [];
    this.endCommit();
  }

  protected override commitOnTurn(): void {
    try {
      this.commit();
    } catch (err) {
      // Nothing unconfirmed is lost, but the broker cannot go on without its store.
      this.log.error(`store commit failed, stopping: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Writes a message row with the references recorded for it (inside the commit's transaction). */
  private insertMessage(queueId: number, message: StorableMessage, ref: StoreRef): void {
    // A message stored again after its row was deleted keeps its id (the id is free again).
    const inSegment = ref.segment !== 0 && !ref.written;
    // Stored only to bound memory (not persistent, or a non-durable queue's copy): dropped at boot.
    const transient = !message.persistent || queueId < 0;
    this.sql.insertMessage.run(
      ref.id, message.exchange, message.routingKey, message.properties, inSegment ? EMPTY : message.body,
      ref.pendingRows, transient ? 1 : 0,
      inSegment ? ref.segment : null, inSegment ? ref.offset : null, message.body.length,
    );
    if (!inSegment) ref.segment = 0;
    ref.written = true;
    ref.shared = ref.pendingRows > 1;
  }

  // ------------------------------------------------------------------------------ recovery

  /** How many messages a queue has stored with fromSeq <= seq < toSeq, and the highest seq. */
  queueStats(queueId: number, fromSeq = 0, toSeq = Number.MAX_SAFE_INTEGER): { count: number; bytes: number; maxSeq: number } {
    const row = this.sql.queueStats.get<{ n: number; b: number | null; m: number | null }>(queueId, fromSeq, toSeq);
    return { count: row?.n ?? 0, bytes: row?.b ?? 0, maxSeq: row?.m ?? 0 };
  }

  levelStats(queueId: number, levelCount: number): LevelStats[] {
    this.commit();
    const delivered = new Map<number, number>();
    delivered.set(0, this.sql.queueDelivered.get<{ s: number }>(queueId)?.s ?? 0);
    for (const r of this.sql.levelsDelivered.all<{ level: number; seq: number }>(queueId)) delivered.set(r.level, r.seq);
    const stats: LevelStats[] = [];
    for (let level = 0; level < Math.max(1, levelCount); level++) {
      const { from, to } = levelRange(level, levelCount);
      const { count, bytes, maxSeq } = this.queueStats(queueId, from, to);
      if (count > 0) stats.push({ level, count, bytes, maxSeq, deliveredUpTo: delivered.get(level) ?? 0 });
    }
    return stats;
  }

  /** Everything durable, for boot. Messages are read per queue with queueMessages(). */
  loadMetadata(): StoredMetadata {
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
      bindings: db.prepare("SELECT vhost, source, destination_kind, destination, routing_key, arguments FROM bindings ORDER BY rowid").all<{
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

/** A row of the page statement. */
interface PageRow {
  seq: number;
  id: number;
  exchange: string;
  routing_key: string;
  properties: Uint8Array;
  body: Uint8Array;
  refs: number;
  expires_at: number;
  delivery_count: number;
  segment: number | null;
  segment_offset: number | null;
  body_size: number;
}
