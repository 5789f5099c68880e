// The Store interface: everything the broker asks of durable storage, in ids and rows. Every
// call only records the change; the changes of one event-loop turn are written together (group
// commit), and afterCommit callbacks run once they are durable. Implementations: SqliteStore
// (the broker's) and MemoryStore (the reference the conformance suite holds it to).
// Storage imports nothing from src/broker: the broker's objects satisfy these shapes.
import type { FieldTable } from "../src/amqp/table.ts";
import type { PluginMigration, PluginTables } from "./plugin_tables.ts";

/**
 * Priority level k's seqs run from k * LEVEL_SPAN + 1 up to (k + 1) * LEVEL_SPAN - 1: the store
 * reads one level's page by seq range. A queue with one level (every plain queue) uses seqs from
 * 1 up to Number.MAX_SAFE_INTEGER.
 */
export const LEVEL_SPAN = 2 ** 40;

/** The seqs of `level` in a queue of `levelCount` levels: from <= seq < to. */
export function levelRange(level: number, levelCount: number): { from: number; to: number } {
  if (levelCount <= 1) return { from: 0, to: Number.MAX_SAFE_INTEGER };
  return { from: level * LEVEL_SPAN, to: (level + 1) * LEVEL_SPAN };
}

/** The level a seq belongs to in a queue of `levelCount` levels. */
export function levelOf(seq: number, levelCount: number): number {
  return levelCount <= 1 ? 0 : Math.floor(seq / LEVEL_SPAN);
}

export type DestinationKind = "queue" | "exchange";

export interface ExchangeRecord {
  readonly vhost: string;
  readonly name: string;
  readonly type: string;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly args: FieldTable;
}

export interface QueueRecord {
  readonly vhost: string;
  readonly name: string;
  readonly autoDelete: boolean;
  readonly args: FieldTable;
}

/**
 * The store's bookkeeping for one in-memory message object: which stored message it is, and
 * what the store still has to write or release for it. Opaque to the broker.
 */
export class StoreRef {
  /** Message id in the store. */
  id = 0;
  /** Rows recorded for this object since the last commit (written with it, or added to its refs). */
  pendingRows = 0;
  /** Committed (not just recorded for the next commit). */
  written = false;
  /** Stored with more than one row: a removal goes through the stored reference count. */
  shared = false;
  /** The segment file holding its body (0: the body is in the database), and where in it. */
  segment = 0;
  offset = 0;
  /**
   * The commit (SqliteCommits' count) that holds its new rows back for one more: it was delivered
   * to a consumer before they were written, and its ack may come first (0: never held).
   */
  holdAt = 0;
  /**
   * How many afterCommit callbacks the store had taken when its first row of this commit was
   * recorded (SqliteCommits numbers them from its start): those need not wait for it.
   */
  mark = 0;
}

/** What the store keeps of a message. The broker's Message satisfies it. */
export interface StorableMessage {
  readonly exchange: string;
  readonly routingKey: string;
  /** The encoded property list, stored and returned byte for byte. */
  readonly properties: Uint8Array;
  readonly body: Uint8Array;
  /** delivery_mode 2: the message survives a restart if a durable queue holds it. */
  readonly persistent: boolean;
  storeRef: StoreRef | undefined;
}

/** One message's place in one queue, as the store records it. */
export interface StoreRow {
  readonly message: StorableMessage;
  readonly seq: number;
  /** ms since the epoch; 0: never. */
  readonly expiresAt: number;
  /** Quorum queues: returns so far (x-delivery-count); absent or 0 until the first. */
  deliveryCount?: number;
}

/** A message read back from the store. */
export interface StoredMessage {
  seq: number;
  exchange: string;
  routingKey: string;
  properties: Uint8Array;
  body: Uint8Array;
  expiresAt: number;
  deliveryCount: number;
  bodySize: number;
  /** Give to the message object built from this row (message.storeRef). */
  ref: StoreRef;
}

/** One priority level's stored messages at boot. */
export interface LevelStats {
  level: number;
  count: number;
  bytes: number;
  maxSeq: number;
  /** Messages at or below this seq were delivered at least once before the restart. */
  deliveredUpTo: number;
  /** Some of the rows expire (a TTL or an expiration when stored): boot checks the head for expiry. */
  expiring: boolean;
}

/** The message part of the store: queues' rows and the messages they point at. */
export interface MessageStore {
  /** A durable queue: returns its id (positive, unique among the stored queues). */
  saveQueue(queue: QueueRecord): number;
  /** A non-durable queue that may page its backlog out: an id whose rows are dropped at boot. */
  registerTransientQueue(): number;
  /** Drops a queue, its bindings as a destination and its rows (ready and unacked). */
  deleteQueue(queueId: number, vhost: string, name: string): void;

  /** A row entered a queue (a persistent message in a durable queue, or any message it pages out). */
  persist(queueId: number, row: StoreRow): void;
  /** The row left for good (acked, dropped, purged one by one). */
  remove(queueId: number, row: StoreRow): void;
  /** A quorum queue's row was returned: its delivery count is row.deliveryCount now. */
  updateDeliveryCount(queueId: number, row: StoreRow): void;
  /** Rows of `level` up to `seq` were delivered at least once (redelivered=true after a crash). */
  markDelivered(queueId: number, level: number, seq: number): void;
  /**
   * Body bytes of this store's messages that queues' in-memory windows hold, all queues
   * together. Kept by the queues (src/broker/backlog.ts), which bound it: the messages are in the
   * store, so past a total they are read back when needed instead.
   */
  heldInWindows: number;

  /**
   * A queue's rows with fromSeq <= seq < toSeq, in order, up to `limit` or until their bodies
   * reach `maxBytes` (at least one). Commits pending writes first.
   */
  readPage(queueId: number, fromSeq: number, toSeq: number, limit: number, maxBytes: number): StoredMessage[];
  /** Drops a queue's rows with fromSeq <= seq < toSeq (a purge of its part on disk). */
  purgeFrom(queueId: number, fromSeq: number, toSeq: number): void;
  /**
   * Sums a queue's rows with fromSeq <= seq < toSeq without reading their bodies (a length limit
   * trimming a backlog); commits pending writes first. From the head: the fewest first rows that
   * hold at least `rows` rows and `bytes` body bytes (what must go). From the end (`fromEnd`): the
   * most last rows that hold at most `rows` rows and `bytes` bytes (what may stay). Absent where a
   * store cannot say cheaply (the queue then drops its head one message at a time).
   */
  diskRows?(queueId: number, fromSeq: number, toSeq: number, rows: number, bytes: number, fromEnd: boolean): DiskRows;
  /** Boot: the stored rows of each level of a queue that has any. */
  levelStats(queueId: number, levelCount: number): LevelStats[];
  /** How many messages are stored (each once, however many rows point at it): leak checks, metrics. */
  messageCount(): number;

  /** Runs `fn` once everything recorded so far is durable (at once if nothing is pending). */
  afterCommit(fn: () => void): void;
  /** Writes what is pending now instead of on the next turn. */
  commit(): void;
  close(): void;
}

export interface StoredQueue {
  id: number;
  vhost: string;
  name: string;
  auto_delete: number;
  args: FieldTable;
}

/** Everything durable but messages, read at boot. */
export interface StoredMetadata {
  vhosts: { name: string; description: string; tags: string; limits: string }[];
  runtimeParameters: { vhost: string; component: string; name: string; value: string }[];
  globalParameters: { name: string; value: string }[];
  users: { name: string; password_hash: string; hashing_algorithm: string; tags: string; limits: string }[];
  topicPermissions: { user: string; vhost: string; exchange: string; write: string; read: string }[];
  permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
  exchanges: { vhost: string; name: string; type: string; auto_delete: number; internal: number; args: FieldTable }[];
  queues: StoredQueue[];
  bindings: {
    vhost: string;
    source: string;
    destination_kind: DestinationKind;
    destination: string;
    routing_key: string;
    args: FieldTable;
  }[];
}

/** The metadata part: vhosts, users, permissions, exchanges, bindings, parameters. */
export interface MetadataStore {
  saveVhost(name: string, description?: string, tags?: string[], limits?: object): void;
  /** Drops a vhost's rows (its queues are deleted one by one first, through deleteQueue). */
  deleteVhost(name: string): void;
  saveUser(name: string, passwordHash: string, hashingAlgorithm: string, tags: string[], limits?: object): void;
  deleteUser(name: string): void;
  savePermission(user: string, vhost: string, configure: string, write: string, read: string): void;
  deletePermission(user: string, vhost: string): void;
  saveTopicPermission(user: string, vhost: string, exchange: string, write: string, read: string): void;
  /** One exchange's topic permission, or (exchange undefined) all of the user's in the vhost. */
  deleteTopicPermission(user: string, vhost: string, exchange?: string): void;
  saveRuntimeParameter(vhost: string, component: string, name: string, value: unknown): void;
  deleteRuntimeParameter(vhost: string, component: string, name: string): void;
  saveGlobalParameter(name: string, value: unknown): void;
  deleteGlobalParameter(name: string): void;
  saveExchange(exchange: ExchangeRecord): void;
  deleteExchange(vhost: string, name: string): void;
  saveBinding(vhost: string, source: string, kind: DestinationKind, destination: string, routingKey: string, args: FieldTable): void;
  deleteBinding(vhost: string, source: string, kind: DestinationKind, destination: string, routingKey: string, args: FieldTable): void;
  /** Drops every binding to a destination (it was deleted). */
  deleteBindingsTo(vhost: string, kind: DestinationKind, destination: string): void;
  /** Drops every binding from a source (it was deleted). */
  deleteBindingsFrom(vhost: string, source: string): void;
  loadMetadata(): StoredMetadata;
  /** The default user and vhost were never created (first boot; not "no vhosts"). */
  readonly isFresh: boolean;
  markDefaultsCreated(): void;
}

/** What Store.diskRows sums. */
export interface DiskRows {
  rows: number;
  /** The seq of the last row counted (the oldest one, from the end); -1 when none. */
  edgeSeq: number;
  bytes: number;
  /** Rows of persistent messages (written to be recovered), and their bytes. */
  persistent: number;
  persistentBytes: number;
}

/** What the store's files take on disk (issue 23: /api/nodes, Prometheus, the disk alarm). */
export interface StoreSpace {
  /** Bytes of the store's files (database, WAL, segment files), not counting the reserve. */
  sizeBytes: number;
  /** Bytes in use by what is stored. */
  liveBytes: number;
  /** sizeBytes - liveBytes: what reclaim can give back. */
  reclaimableBytes: number;
  /** Free disk the store needs beyond the disk free limit to keep working (WAL, reserve). */
  headroomBytes: number;
  /** The disk reserve file's bytes (docs/storage.md). */
  reserveBytes: number;
  /** A write found the disk full: publishers stay blocked until the store has room again. */
  full: boolean;
  /** Reclaim passes finished, and the bytes they gave back, since the store opened. */
  reclaimPasses: number;
  reclaimedBytes: number;
}

export type Store = MessageStore & MetadataStore & {
  /** What the store's files take (absent for a store without files). */
  space?(): StoreSpace;
  /** Called when the store finds the disk full, or has room again. */
  onFullChange?(listener: (full: boolean) => void): void;
  /** The broker's disk alarm went on or off (freed space then goes back at once, even during a drain). */
  diskAlarm?(on: boolean): void;

  /**
   * A plugin's own tables (its migrations applied now; writes inside the group commit); null
   * for a store without SQL (the in-memory one).
   */
  pluginTables?(plugin: string, migrations: readonly PluginMigration[]): PluginTables;
};
