// The durable store on SQLite (WAL). Group commit: changes recorded during one event-loop turn
// are written in one transaction on the next turn; confirms wait for it (afterCommit).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { FieldTable } from "../src/amqp/table.ts";
import type { Logger } from "../src/log.ts";
import { fileSize, openSyncFile, syncDir } from "../src/runtime/fs.ts";
import type { SqlDatabase } from "../src/runtime/sqlite.ts";
import { after, type Timer } from "../src/runtime/timers.ts";
import { DiskSpace, WAL_LIMIT } from "./disk_space.ts";
import { RECLAIM_DEFAULTS, Reclaimer, type ReclaimOptions } from "./reclaim.ts";
import { RefUndo } from "./ref_undo.ts";
import { loadMetadata, tableBytes } from "./sqlite_metadata.ts";
import { isDiskFull, lockStore, migrate, sweepTransient, upgradeIfNeeded } from "./sqlite_open.ts";
import { migratePlugin, type PluginMigration, type PluginTables, sqlPluginTables } from "./plugin_tables.ts";
import { SegmentFiles } from "./segments.ts";
import { type PageRow, prepareStatements, type Statements } from "./sqlite_statements.ts";
import {
  type DestinationKind,
  type ExchangeRecord,
  levelRange,
  type LevelStats,
  type QueueRecord,
  type Store,
  type StoredMessage,
  type StoredMetadata,
  StoreRef,
  type StoreSpace,
} from "./store.ts";
import { GroupCommit } from "./group_commit.ts";
import { CommitSync, type SyncTarget } from "./commit_sync.ts";
import { MessageRows } from "./message_rows.ts";

/**
 * Bodies of at least this many bytes go to segment files instead of SQLite blobs
 * (chosen by benchmark: docs/storage.md).
 */
export const SEGMENT_THRESHOLD = 256 * 1024;

export { WAL_LIMIT } from "./disk_space.ts";
/** WAL bytes that start a checkpoint (SQLite's default is 1,000 pages, about 4 MiB). */
const CHECKPOINT_BYTES = 8 * 1024 * 1024;
/** How often a full store retries its held commit. */
const FULL_RETRY_MS = 250;

export interface SqliteStoreOptions {
  fsync: boolean;
  log: Logger;
  /** Give freed space back while running (default on); false: never (benchmarks compare). */
  reclaim?: Partial<ReclaimOptions> | false;
  /** Bytes of the disk reserve file (default 0: none; the broker keeps 16 MiB). */
  diskReserveBytes?: number;
  /** With fsync: what syncs the WAL off the event loop (tests drive their own). */
  syncFile?: (path: string) => SyncTarget;
}

export { isDiskFull, StoreError } from "./sqlite_open.ts";
export class SqliteStore extends GroupCommit implements Store {
  private nextMessageId = 1;
  private nextQueueId = 1;
  private readonly segments: SegmentFiles;
  private readonly sql: Statements;
  private readonly undo = new RefUndo();
  /** Commits written so far: the reclaimer pauses between steps while this moves. */
  private commits = 0;
  private readonly reclaimer: Reclaimer;
  /** The disk-full state, the disk reserve and the space report (storage/disk_space.ts). */
  private readonly disk: DiskSpace;
  /** Changes wait in memory (the disk is full) and are retried by a timer. */
  private held = false;
  private retryTimer: Timer | undefined;
  private readonly path: string;
  /** The message and index rows a commit writes and deletes. */
  private readonly rows: MessageRows;

  private constructor(
    readonly db: SqlDatabase,
    private readonly log: Logger,
    dataDir: string,
    private readonly fsync: boolean,
    options: SqliteStoreOptions,
  ) {
    super();
    this.path = join(dataDir, "warren.sqlite");
    this.sql = prepareStatements(db);
    this.rows = new MessageRows(db, this.sql, this.undo);
    const live = new Map<number, number>();
    for (
      const row of db.prepare("SELECT segment, COUNT(*) AS n FROM messages WHERE segment IS NOT NULL GROUP BY segment").all<
        { segment: number; n: number }
      >()
    ) {
      live.set(row.segment, row.n);
    }
    this.segments = new SegmentFiles(join(dataDir, "segments"), live);
    this.nextMessageId = (db.prepare("SELECT MAX(id) AS m FROM messages").get<{ m: number | null }>()?.m ?? 0) + 1;
    this.nextQueueId = (db.prepare("SELECT MAX(id) AS m FROM queues").get<{ m: number | null }>()?.m ?? 0) + 1;
    this.reclaimer = new Reclaimer(
      db,
      log,
      () => this.commits,
      () => this.filesBytes(),
      (err) => this.disk.found(err),
      { ...RECLAIM_DEFAULTS, ...(options.reclaim || {}) },
    );
    if (options.reclaim !== false) this.reclaimer.start();
    this.disk = new DiskSpace(dataDir, options.diskReserveBytes ?? 0, log, () => this.held || this.closed);
    if (fsync) {
      // Commits are synchronous=NORMAL; the WAL is fsynced off the event loop before callbacks run.
      syncDir(dataDir); // the WAL's directory entry, made when the store was opened
      const wal = (options.syncFile ?? openSyncFile)(this.path + "-wal");
      this.durability = new CommitSync(wal, () => this.commitOnTurn(), (err) => {
        log.error(`store fsync failed, stopping (nothing it covered is confirmed): ${err.message}`);
        throw err;
      });
    }
  }

  /**
   * Opens (or creates) the store in `dataDir`. The database is held with an exclusive lock, so a
   * second broker on the same directory fails here with a clear error.
   */
  static open(dataDir: string, options: SqliteStoreOptions): SqliteStore {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, "warren.sqlite");
    let db = lockStore(dataDir, path);
    try {
      db = upgradeIfNeeded(db, dataDir, path, options.log);
      // NORMAL in WAL mode: no fsync inside COMMIT. With fsync on, CommitSync syncs the WAL
      // before any confirm (docs/storage.md, "Durability off the event loop").
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec(`PRAGMA journal_size_limit = ${WAL_LIMIT}`);
      // Checkpoint at 8 MiB of WAL, not SQLite's 1,000 pages: each checkpoint fsyncs twice on the
      // event loop; fewer of them carry more throughput, longer ones a longer confirm tail
      // during a fill (docs/storage.md, "Rows per statement, and when the WAL is checkpointed").
      const pageSize = db.prepare("PRAGMA page_size").get<{ page_size: number }>()?.page_size ?? 4096;
      db.exec(`PRAGMA wal_autocheckpoint = ${Math.floor(CHECKPOINT_BYTES / pageSize)}`);
      migrate(db, path);
      sweepTransient(db);
      return new SqliteStore(db, options.log, dataDir, options.fsync, options);
    } catch (err) {
      db.close(); // release the lock: nothing of ours keeps the file open
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.commit();
    this.durability?.drain();
    this.abandon();
  }

  /** As a crash would leave it: what is not committed is lost (tests). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.durability?.abandon();
    this.reclaimer.stop();
    this.retryTimer?.cancel();
    this.disk.stop();
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
      this.rows.dropRange(queueId, 0, Number.MAX_SAFE_INTEGER);
      this.sql.deleteQueue.run(queueId);
      this.sql.deleteLevelsDelivered.run(queueId);
    });
    this.deleteBindingsTo(vhost, "queue", name);
  }

  purgeFrom(queueId: number, fromSeq: number, toSeq: number): void {
    this.pending.dropRange(queueId, fromSeq, toSeq);
    this.record(() => this.rows.dropRange(queueId, fromSeq, toSeq));
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
    return sqlPluginTables(this.db, {
      record: (fn) => this.record(fn),
      commit: () => this.commit(),
      afterCommit: (fn) => this.afterCommit(fn),
    });
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
        seq: row.seq,
        exchange: row.exchange,
        routingKey: row.routing_key,
        properties: row.properties,
        body,
        expiresAt: row.expires_at,
        deliveryCount: row.delivery_count,
        bodySize: row.body_size,
        ref,
      });
      bytes += row.body_size;
      if (bytes >= maxBytes) break;
    }
    // The disk is full and this queue's paged-out rows are not written yet: they are read from
    // memory (same StoreRef, so an ack cancels the pending row), else the queue would forget them.
    if (page.length === 0 && this.held) {
      for (const row of this.pending.pendingRows(queueId, fromSeq, toSeq, limit)) {
        const m = row.message;
        page.push({
          seq: row.seq,
          exchange: m.exchange,
          routingKey: m.routingKey,
          properties: m.properties,
          body: m.body,
          expiresAt: row.expiresAt,
          deliveryCount: row.deliveryCount ?? 0,
          bodySize: m.body.length,
          ref: m.storeRef!,
        });
      }
    }
    return page;
  }

  messageCount(): number {
    this.commit();
    return this.sql.messageCount.get<{ n: number }>()?.n ?? 0;
  }

  /**
   * Writes everything recorded since the last commit in one transaction, then runs callbacks.
   * When the disk is full the changes stay in memory (callbacks wait) and are retried: see
   * hold().
   */
  commit(): void {
    if (!this.beginCommit()) return;
    try {
      this.write();
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.scheduled = true; // still pending
      this.disk.found(err as Error);
      if (this.disk.reserve.release()) {
        this.log.warning(`Store: released the ${this.disk.reserve.bytes}-byte disk reserve to finish a commit`);
        return this.commit();
      }
      this.hold();
      return;
    }
    if (this.held) {
      this.held = false;
      this.log.info("Store: held changes written, commits go on");
    }
    this.commits++;
    this.endCommit();
  }

  private write(): void {
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
    this.transaction(() => {
      // Removals first, then metadata (queue deletes and purges drop the rows still there, so
      // no message is released twice), then the new rows: a row recorded after a purge in the
      // same turn lies in the purged range and must not be dropped with it.
      this.rows.writeRemovals(pending);
      for (const op of this.metadata) op();
      this.rows.writeNew(pending);
      for (const { queueId, seq, count } of pending.deliveryCounts()) sql.setDeliveryCount.run(count, queueId, seq);
      for (const { queueId, level, seq } of pending.delivered()) {
        if (level === 0) sql.markDelivered.run(seq, queueId);
        else sql.markLevelDelivered.run(queueId, level, seq);
      }
      if (!this.disk.full) this.reclaimer.stepInCommit();
    });
    const elapsed = performance.now() - started;
    if (elapsed > 500) this.log.warning(`store commit of ${rows} messages took ${elapsed.toFixed(0)} ms`);
  }

  /**
   * Runs `fn` in one transaction. On failure every StoreRef it changed is put back and no
   * segment is released, so the same changes can be written again.
   */
  private transaction(fn: () => void): void {
    this.undo.begin();
    try {
      this.db.transaction(fn);
    } catch (err) {
      this.undo.restore();
      this.rows.discard();
      throw err;
    }
    // Segment space is given back only once the rows that used it are gone for good.
    for (const segment of this.rows.takeReleasedSegments()) this.segments.release(segment);
  }

  /**
   * The disk is full and the reserve is spent: changes wait in memory and are retried. Acks
   * (removals) are written on their own when they fit, as they free space; new messages wait,
   * and their confirms with them, while the disk alarm blocks publishers.
   */
  private hold(): void {
    if (!this.held) this.log.warning("Store: the disk is full; changes wait in memory and are retried");
    this.held = true;
    if (this.pending.hasRemovals) {
      try {
        this.transaction(() => this.rows.writeRemovals(this.pending));
        this.pending.clearRemovals();
      } catch (err) {
        if (!isDiskFull(err)) throw err;
      }
    }
    this.retryTimer?.cancel();
    this.retryTimer = after(FULL_RETRY_MS, () => this.commitOnTurn());
  }

  onFullChange(listener: (full: boolean) => void): void {
    this.disk.onFullChange(listener);
  }

  /** What the store's files take on disk now. */
  space(): StoreSpace {
    return this.disk.space(this.reclaimer, this.filesBytes(), this.segments.diskBytes());
  }

  /** Runs a reclaim pass now if one is due (tests; the broker's timer does it every second). */
  reclaimNow(): void {
    this.reclaimer.check();
  }

  get reclaiming(): boolean {
    return this.reclaimer.running;
  }

  private filesBytes(): number {
    return fileSize(this.path) + fileSize(this.path + "-wal") + this.segments.diskBytes();
  }

  protected override commitOnTurn(): void {
    // While an fsync is in flight changes gather in memory; they are committed when it completes
    // (CommitSync's flush), so there is one commit per fsync, as when the fsync blocked the loop.
    if (this.durability?.syncing) return;
    try {
      this.commit();
    } catch (err) {
      // Nothing unconfirmed is lost, but the broker cannot go on without its store.
      this.log.error(`store commit failed, stopping: ${(err as Error).message}`);
      throw err;
    }
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
    return loadMetadata(this.db);
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
