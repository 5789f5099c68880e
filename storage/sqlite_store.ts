// The durable store on SQLite (WAL): the Store interface over the commit pipeline of
// storage/sqlite_commits.ts (changes recorded during one event-loop turn are written in one
// batch, by the store's writer thread where the runtime has threads; confirms wait for it). The
// event loop's connection reads.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { FieldTable } from "../src/amqp/table.ts";
import type { Logger } from "../src/log.ts";
import { fileSize } from "../src/runtime/fs.ts";
import type { SqlDatabase } from "../src/runtime/sqlite.ts";
import { DiskSpace } from "./disk_space.ts";
import { finishDroppedRanges } from "./dropped_ranges.ts";
import { migratePlugin, type PluginMigration, type PluginTables, sqlPluginTables } from "./plugin_tables.ts";
import { RECLAIM_DEFAULTS, Reclaimer, type ReclaimOptions } from "./reclaim.ts";
import { SegmentFiles } from "./segments.ts";
import { SqliteCommits, type WriterOptions } from "./sqlite_commits.ts";
import { loadMetadata, tableBytes } from "./sqlite_metadata.ts";
import { lockDataDir, lockStore, migrate, sweepTransient, upgradeIfNeeded } from "./sqlite_open.ts";
import { type PageRow, prepareStatements, type Statements } from "./sqlite_statements.ts";
import {
  type DestinationKind,
  type DiskRows,
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

export { SEGMENT_THRESHOLD } from "./sqlite_commits.ts";
export { WAL_LIMIT } from "./disk_space.ts";

export interface SqliteStoreOptions extends WriterOptions {
  fsync: boolean;
  log: Logger;
  /** Give freed space back while running (default on); false: never (benchmarks compare). */
  reclaim?: Partial<ReclaimOptions> | false;
  /** Bytes of the disk reserve file (default 0: none; the broker keeps 16 MiB). */
  diskReserveBytes?: number;
}

export { isDiskFull, StoreError } from "./sqlite_open.ts";
export class SqliteStore extends SqliteCommits implements Store {
  private nextMessageId = 1;
  private nextQueueId = 1;
  protected readonly segments: SegmentFiles;
  /** Statements on the event loop's connection (reads). */
  private readonly reads: Statements;
  protected readonly reclaimer: Reclaimer;
  /** The disk-full state, the disk reserve and the space report (storage/disk_space.ts). */
  protected readonly disk: DiskSpace;
  /** The broker's disk alarm is on (set by diskAlarm()). */
  diskAlarmOn = false;

  private constructor(
    db: SqlDatabase,
    private readonly lock: SqlDatabase,
    log: Logger,
    dataDir: string,
    fsync: boolean,
    options: SqliteStoreOptions,
  ) {
    super(db, log, dataDir, fsync);
    this.reads = prepareStatements(db);
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
      () => this.diskAlarmOn || this.disk.full,
    );
    this.disk = new DiskSpace(dataDir, options.diskReserveBytes ?? 0, log, () => this.held || this.closed);
    this.startWriting(options);
    if (options.reclaim !== false) this.reclaimer.start();
  }

  /**
   * Opens (or creates) the store in `dataDir`. The directory is locked (storage/sqlite_open.ts),
   * so a second broker on the same directory fails here with a clear error.
   */
  static open(dataDir: string, options: SqliteStoreOptions): SqliteStore {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, "warren.sqlite");
    const lock = lockDataDir(dataDir);
    let db: SqlDatabase | undefined;
    try {
      db = lockStore(path);
      db = upgradeIfNeeded(db, dataDir, path, options.log);
      // NORMAL in WAL mode: no fsync inside COMMIT on the loop. With fsync on, the writer thread
      // commits with FULL, or CommitSync syncs the WAL before any confirm (docs/storage.md).
      db.exec("PRAGMA synchronous = NORMAL");
      migrate(db, path);
      sweepTransient(db);
      finishDroppedRanges(db, options.log);
      return new SqliteStore(db, lock, options.log, dataDir, options.fsync, options);
    } catch (err) {
      db?.close(); // release the files: nothing of ours keeps them open
      lock.close();
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.commit();
    this.writer.close();
    this.durability?.drain();
    this.abandon();
  }

  /** As a crash would leave it: what is not committed is lost (tests). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.writer.abandon();
    this.durability?.abandon();
    this.reclaimer.stop();
    this.retryTimer?.cancel();
    this.disk.stop();
    this.segments.close();
    this.db.close();
    this.lock.close();
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
        this.recorder.prepare(`DELETE FROM ${table} WHERE ${table === "vhosts" ? "name" : "vhost"} = ?`).run(name);
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
        this.recorder.prepare(`DELETE FROM ${table} WHERE ${table === "users" ? "name" : "user"} = ?`).run(name);
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

  diskRows(queueId: number, fromSeq: number, toSeq: number, rows: number, bytes: number, fromEnd: boolean): DiskRows {
    this.commitForRead();
    const sums: DiskRows = { rows: 0, edgeSeq: -1, bytes: 0, persistent: 0, persistentBytes: 0 };
    const statement = fromEnd ? this.reads.tailRows : this.reads.headRows;
    // From the head a byte bound can need any number of rows: no LIMIT, the loop stops.
    const limit = fromEnd || bytes <= 0 ? rows : -1;
    for (const row of statement.iterate<{ seq: number; body_size: number; transient: number }>(queueId, fromSeq, toSeq, limit)) {
      if (fromEnd ? sums.bytes + row.body_size > bytes : sums.rows >= rows && sums.bytes >= bytes) break;
      sums.rows++;
      sums.edgeSeq = row.seq;
      sums.bytes += row.body_size;
      if (row.transient === 0) {
        sums.persistent++;
        sums.persistentBytes += row.body_size;
      }
    }
    return sums;
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
    return sqlPluginTables(this.db, this.recorder, {
      record: (fn) => this.record(fn),
      commit: () => this.commit(),
      settle: () => void this.writer.waitApplied(),
      afterCommit: (fn) => this.afterCommit(fn),
    });
  }

  protected newMessageId(): number {
    return this.nextMessageId++;
  }

  // ------------------------------------------------------------------------------ messages

  readPage(queueId: number, fromSeq: number, toSeq: number, limit: number, maxBytes: number): StoredMessage[] {
    this.commitForRead();
    const page: StoredMessage[] = [];
    let bytes = 0;
    for (const row of this.reads.page.iterate<PageRow>(queueId, fromSeq, toSeq, limit)) {
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
    // memory (same StoreRef, so an ack removes the row once it is written), else the queue would
    // forget them.
    if (page.length === 0 && this.held) {
      for (const row of this.unwrittenRows(queueId, fromSeq, toSeq, limit)) {
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
    this.commitForRead();
    return this.reads.messageCount.get<{ n: number }>()?.n ?? 0;
  }

  onFullChange(listener: (full: boolean) => void): void {
    this.disk.onFullChange(listener);
  }

  /** What the store's files take on disk now. */
  space(): StoreSpace {
    return this.disk.space(this.reclaimer, this.filesBytes(), this.segments.diskBytes());
  }

  /**
   * Runs a reclaim pass now if enough space is free (tests; the broker's timer looks every
   * second). `force` false: look as the timer does, so a drain under way defers the pass.
   */
  reclaimNow(force = true): void {
    this.reclaimer.check(force);
  }

  /** The broker's disk alarm: while it is on, a drain does not defer giving space back. */
  diskAlarm(on: boolean): void {
    this.diskAlarmOn = on;
  }

  get reclaiming(): boolean {
    return this.reclaimer.running;
  }

  private filesBytes(): number {
    return fileSize(this.path) + fileSize(this.path + "-wal") + this.segments.diskBytes();
  }

  // ------------------------------------------------------------------------------ recovery

  /** How many messages a queue has stored with fromSeq <= seq < toSeq, and the highest seq. */
  queueStats(
    queueId: number,
    fromSeq = 0,
    toSeq = Number.MAX_SAFE_INTEGER,
  ): { count: number; bytes: number; maxSeq: number; expiring: boolean } {
    const row = this.reads.queueStats.get<{ n: number; b: number | null; m: number | null; e: number | null }>(queueId, fromSeq, toSeq);
    return { count: row?.n ?? 0, bytes: row?.b ?? 0, maxSeq: row?.m ?? 0, expiring: (row?.e ?? 0) > 0 };
  }

  levelStats(queueId: number, levelCount: number): LevelStats[] {
    this.commitForRead();
    const delivered = new Map<number, number>();
    delivered.set(0, this.reads.queueDelivered.get<{ s: number }>(queueId)?.s ?? 0);
    for (const r of this.reads.levelsDelivered.all<{ level: number; seq: number }>(queueId)) delivered.set(r.level, r.seq);
    const stats: LevelStats[] = [];
    for (let level = 0; level < Math.max(1, levelCount); level++) {
      const { from, to } = levelRange(level, levelCount);
      const { count, bytes, maxSeq, expiring } = this.queueStats(queueId, from, to);
      if (count > 0) stats.push({ level, count, bytes, maxSeq, deliveredUpTo: delivered.get(level) ?? 0, expiring });
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
    this.record(() => this.recorder.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('defaults_created', '1')").run());
  }
}
