// The Store in memory: the same contract as the SQLite store (group commit on the next turn,
// reference-counted messages shared by rows, transient rows dropped when reopened), kept in
// plain maps. "Durable" means committed into a MemoryState, which a new MemoryStore reopens; what
// was only recorded is lost, as in a crash. The conformance suite holds both stores to it.
import type { FieldTable } from "../src/amqp/table.ts";
import { GroupCommit } from "./group_commit.ts";
import {
  type DestinationKind,
  type ExchangeRecord,
  levelRange,
  type LevelStats,
  type QueueRecord,
  type StorableMessage,
  type Store,
  type StoredMessage,
  type StoredMetadata,
  StoreRef,
} from "./store.ts";

interface MessageRecord {
  exchange: string;
  routingKey: string;
  properties: Uint8Array;
  body: Uint8Array;
  refs: number;
  transient: boolean;
}

interface RowRecord {
  messageId: number;
  expiresAt: number;
  deliveryCount: number;
}

type Table<T> = Map<string, T>;
const key = (...parts: string[]) => JSON.stringify(parts);

/** What survives a MemoryStore: everything committed. */
export class MemoryState {
  nextMessageId = 1;
  nextQueueId = 1;
  defaultsCreated = false;
  readonly messages = new Map<number, MessageRecord>();
  readonly rows = new Map<number, Map<number, RowRecord>>();
  readonly delivered = new Map<number, Map<number, number>>();
  readonly queues = new Map<number, StoredMetadata["queues"][number]>();
  readonly vhosts: Table<StoredMetadata["vhosts"][number]> = new Map();
  readonly users: Table<StoredMetadata["users"][number]> = new Map();
  readonly permissions: Table<StoredMetadata["permissions"][number]> = new Map();
  readonly topicPermissions: Table<StoredMetadata["topicPermissions"][number]> = new Map();
  readonly runtimeParameters: Table<StoredMetadata["runtimeParameters"][number]> = new Map();
  readonly globalParameters: Table<StoredMetadata["globalParameters"][number]> = new Map();
  readonly exchanges: Table<StoredMetadata["exchanges"][number]> = new Map();
  readonly bindings: Table<StoredMetadata["bindings"][number]> = new Map();
}

export class MemoryStore extends GroupCommit implements Store {
  /** Opens `state` as a restarted broker would: rows kept only to bound memory are dropped. */
  constructor(readonly state = new MemoryState()) {
    super();
    for (const [queueId, rows] of state.rows) {
      for (const [seq, row] of rows) {
        if (queueId < 0 || state.messages.get(row.messageId)?.transient !== false) rows.delete(seq);
      }
      if (queueId < 0 || rows.size === 0) state.rows.delete(queueId);
    }
    for (const [id, m] of state.messages) if (m.transient || m.refs <= 0) state.messages.delete(id);
  }

  close(): void {
    this.commit();
    this.closed = true;
  }

  /** As a crash would leave it: what is not committed is lost. */
  abandon(): void {
    this.closed = true;
  }

  // ------------------------------------------------------------------------------ queues and messages

  saveQueue(queue: QueueRecord): number {
    const id = this.state.nextQueueId++;
    const record = { id, vhost: queue.vhost, name: queue.name, auto_delete: queue.autoDelete ? 1 : 0, args: queue.args };
    this.record(() => {
      for (const [other, q] of this.state.queues) if (q.vhost === queue.vhost && q.name === queue.name) this.state.queues.delete(other);
      this.state.queues.set(id, record);
    });
    return id;
  }

  protected newMessageId(): number {
    return this.state.nextMessageId++;
  }

  deleteQueue(queueId: number, vhost: string, name: string): void {
    this.pending.dropQueue(queueId);
    this.record(() => {
      this.dropRows(queueId, 0, Number.MAX_SAFE_INTEGER);
      this.state.queues.delete(queueId);
      this.state.delivered.delete(queueId);
    });
    this.deleteBindingsTo(vhost, "queue", name);
  }

  purgeFrom(queueId: number, fromSeq: number, toSeq: number): void {
    this.pending.dropRange(queueId, fromSeq, toSeq);
    this.record(() => this.dropRows(queueId, fromSeq, toSeq));
  }

  private dropRows(queueId: number, fromSeq: number, toSeq: number): void {
    const rows = this.state.rows.get(queueId);
    if (!rows) return;
    for (const [seq, row] of rows) {
      if (seq < fromSeq || seq >= toSeq) continue;
      rows.delete(seq);
      this.release(row.messageId);
    }
  }

  private release(messageId: number): void {
    const m = this.state.messages.get(messageId);
    if (m && --m.refs <= 0) this.state.messages.delete(messageId);
  }

  readPage(queueId: number, fromSeq: number, toSeq: number, limit: number, maxBytes: number): StoredMessage[] {
    this.commit();
    const rows = this.state.rows.get(queueId);
    if (!rows) return [];
    const seqs = [...rows.keys()].filter((s) => s >= fromSeq && s < toSeq).sort((a, b) => a - b);
    const page: StoredMessage[] = [];
    let bytes = 0;
    for (const seq of seqs) {
      if (page.length >= limit) break;
      const row = rows.get(seq)!;
      const m = this.state.messages.get(row.messageId)!;
      const ref = new StoreRef();
      ref.id = row.messageId;
      ref.written = true;
      ref.shared = m.refs > 1;
      page.push({
        seq,
        exchange: m.exchange,
        routingKey: m.routingKey,
        properties: m.properties,
        body: m.body,
        expiresAt: row.expiresAt,
        deliveryCount: row.deliveryCount,
        bodySize: m.body.length,
        ref,
      });
      bytes += m.body.length;
      if (bytes >= maxBytes) break;
    }
    return page;
  }

  levelStats(queueId: number, levelCount: number): LevelStats[] {
    this.commit();
    const stats: LevelStats[] = [];
    const rows = this.state.rows.get(queueId);
    for (let level = 0; level < Math.max(1, levelCount); level++) {
      const { from, to } = levelRange(level, levelCount);
      let count = 0;
      let bytes = 0;
      let maxSeq = 0;
      let expiring = false;
      for (const [seq, row] of rows ?? []) {
        if (seq < from || seq >= to) continue;
        count++;
        bytes += this.state.messages.get(row.messageId)!.body.length;
        maxSeq = Math.max(maxSeq, seq);
        if (row.expiresAt !== 0) expiring = true;
      }
      const deliveredUpTo = this.state.delivered.get(queueId)?.get(level) ?? 0;
      if (count > 0) stats.push({ level, count, bytes, maxSeq, deliveredUpTo, expiring });
    }
    return stats;
  }

  messageCount(): number {
    this.commit();
    return this.state.messages.size;
  }

  commit(): void {
    if (!this.beginCommit()) return;
    const { state, pending } = this;
    // The same order as the SQLite store: removals, metadata (queue deletes and purges), new
    // rows, delivery counts, watermarks.
    for (let i = 0; i < pending.deletedQueueIds.length; i++) state.rows.get(pending.deletedQueueIds[i]!)?.delete(pending.deletedSeqs[i]!);
    for (const ref of pending.releasedMessages) {
      this.release(ref.id);
      if (!state.messages.has(ref.id)) ref.written = false;
    }
    for (const op of this.metadata) op();
    for (const [queueId, queueRows] of pending.rows) {
      let rows = state.rows.get(queueId);
      if (!rows) state.rows.set(queueId, rows = new Map());
      for (const row of queueRows.values()) {
        const ref = row.message.storeRef!;
        if (ref.pendingRows > 0) {
          const stored = ref.written ? state.messages.get(ref.id) : undefined;
          if (stored) {
            stored.refs += ref.pendingRows;
            ref.shared = true;
          } else this.insertMessage(queueId, row.message, ref);
          ref.pendingRows = 0;
        }
        rows.set(row.seq, { messageId: ref.id, expiresAt: row.expiresAt, deliveryCount: row.deliveryCount ?? 0 });
      }
    }
    for (const { queueId, seq, count } of pending.deliveryCounts()) {
      const row = state.rows.get(queueId)?.get(seq);
      if (row) row.deliveryCount = count;
    }
    for (const { queueId, level, seq } of pending.delivered()) {
      if (!state.queues.has(queueId)) continue; // as the SQLite store: only durable queues keep one
      let levels = state.delivered.get(queueId);
      if (!levels) state.delivered.set(queueId, levels = new Map());
      levels.set(level, Math.max(levels.get(level) ?? 0, seq));
    }
    this.endCommit();
  }

  private insertMessage(queueId: number, message: StorableMessage, ref: StoreRef): void {
    this.state.messages.set(ref.id, {
      exchange: message.exchange,
      routingKey: message.routingKey,
      properties: message.properties.slice(),
      body: message.body.slice(),
      refs: ref.pendingRows,
      transient: !message.persistent || queueId < 0,
    });
    ref.written = true;
    ref.shared = ref.pendingRows > 1;
  }

  // ------------------------------------------------------------------------------ metadata

  saveVhost(name: string, description = "", tags: string[] = [], limits: object = {}): void {
    const row = { name, description, tags: tags.join(","), limits: JSON.stringify(limits) };
    this.record(() => this.state.vhosts.set(name, row));
  }

  deleteVhost(name: string): void {
    this.record(() => {
      const s = this.state;
      s.vhosts.delete(name);
      for (const table of [s.exchanges, s.bindings, s.permissions, s.topicPermissions, s.runtimeParameters] as Table<{ vhost: string }>[]) {
        for (const [k, row] of table) if (row.vhost === name) table.delete(k);
      }
    });
  }

  saveUser(name: string, passwordHash: string, hashingAlgorithm: string, tags: string[], limits: object = {}): void {
    const row = {
      name,
      password_hash: passwordHash,
      hashing_algorithm: hashingAlgorithm,
      tags: tags.join(","),
      limits: JSON.stringify(limits),
    };
    this.record(() => this.state.users.set(name, row));
  }

  deleteUser(name: string): void {
    this.record(() => {
      const s = this.state;
      s.users.delete(name);
      for (const table of [s.permissions, s.topicPermissions] as Table<{ user: string }>[]) {
        for (const [k, row] of table) if (row.user === name) table.delete(k);
      }
    });
  }

  savePermission(user: string, vhost: string, configure: string, write: string, read: string): void {
    this.record(() => this.state.permissions.set(key(user, vhost), { user, vhost, configure, write, read }));
  }

  deletePermission(user: string, vhost: string): void {
    this.record(() => this.state.permissions.delete(key(user, vhost)));
  }

  saveTopicPermission(user: string, vhost: string, exchange: string, write: string, read: string): void {
    this.record(() => this.state.topicPermissions.set(key(user, vhost, exchange), { user, vhost, exchange, write, read }));
  }

  deleteTopicPermission(user: string, vhost: string, exchange?: string): void {
    this.record(() => {
      for (const [k, row] of this.state.topicPermissions) {
        if (row.user === user && row.vhost === vhost && (exchange === undefined || row.exchange === exchange)) {
          this.state.topicPermissions.delete(k);
        }
      }
    });
  }

  saveRuntimeParameter(vhost: string, component: string, name: string, value: unknown): void {
    const row = { vhost, component, name, value: JSON.stringify(value) };
    this.record(() => this.state.runtimeParameters.set(key(vhost, component, name), row));
  }

  deleteRuntimeParameter(vhost: string, component: string, name: string): void {
    this.record(() => this.state.runtimeParameters.delete(key(vhost, component, name)));
  }

  saveGlobalParameter(name: string, value: unknown): void {
    const row = { name, value: JSON.stringify(value) };
    this.record(() => this.state.globalParameters.set(name, row));
  }

  deleteGlobalParameter(name: string): void {
    this.record(() => this.state.globalParameters.delete(name));
  }

  saveExchange(x: ExchangeRecord): void {
    const row = {
      vhost: x.vhost,
      name: x.name,
      type: x.type,
      auto_delete: x.autoDelete ? 1 : 0,
      internal: x.internal ? 1 : 0,
      args: x.args,
    };
    this.record(() => this.state.exchanges.set(key(x.vhost, x.name), row));
  }

  deleteExchange(vhost: string, name: string): void {
    this.record(() => this.state.exchanges.delete(key(vhost, name)));
  }

  saveBinding(vhost: string, source: string, kind: DestinationKind, destination: string, routingKey: string, args: FieldTable): void {
    const row = { vhost, source, destination_kind: kind, destination, routing_key: routingKey, args };
    this.record(() => this.state.bindings.set(bindingKey(row), row));
  }

  deleteBinding(vhost: string, source: string, kind: DestinationKind, destination: string, routingKey: string, args: FieldTable): void {
    const k = bindingKey({ vhost, source, destination_kind: kind, destination, routing_key: routingKey, args });
    this.record(() => this.state.bindings.delete(k));
  }

  deleteBindingsTo(vhost: string, kind: DestinationKind, destination: string): void {
    this.record(() => {
      for (const [k, b] of this.state.bindings) {
        if (b.vhost === vhost && b.destination_kind === kind && b.destination === destination) this.state.bindings.delete(k);
      }
    });
  }

  deleteBindingsFrom(vhost: string, source: string): void {
    this.record(() => {
      for (const [k, b] of this.state.bindings) if (b.vhost === vhost && b.source === source) this.state.bindings.delete(k);
    });
  }

  loadMetadata(): StoredMetadata {
    const s = this.state;
    return {
      vhosts: [...s.vhosts.values()],
      runtimeParameters: [...s.runtimeParameters.values()],
      globalParameters: [...s.globalParameters.values()],
      users: [...s.users.values()],
      topicPermissions: [...s.topicPermissions.values()],
      permissions: [...s.permissions.values()],
      exchanges: [...s.exchanges.values()],
      queues: [...s.queues.values()].sort((a, b) => a.id - b.id),
      bindings: [...s.bindings.values()],
    };
  }

  get isFresh(): boolean {
    return !this.state.defaultsCreated;
  }

  markDefaultsCreated(): void {
    this.record(() => (this.state.defaultsCreated = true));
  }
}

/** Bindings are equal when every field and the argument table are (tables compared as JSON). */
function bindingKey(b: StoredMetadata["bindings"][number]): string {
  return key(
    b.vhost,
    b.source,
    b.destination_kind,
    b.destination,
    b.routing_key,
    JSON.stringify(b.args, (_k, v) => typeof v === "bigint" ? `${v}n` : v),
  );
}
