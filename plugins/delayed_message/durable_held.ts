// Held messages in the store (persistent messages on durable exchanges). Inserts, deletes and
// the per-exchange counts of one event-loop turn are written by one write inside the store's
// group commit, so a publisher's confirm (which waits for that commit) means the held message is
// on disk, and a release deletes its row in the commit that stores the routed copies. Boot
// reads one row per exchange and the earliest due time, never the messages.
import type { SqlDatabase, SqlStatement } from "../../src/runtime/sqlite.ts";
import type { PluginTables } from "../../storage/plugin_tables.ts";
import { exchangeKey, type HeldMessage } from "./held_message.ts";

interface ExchangeRow {
  id: number;
  vhost: string;
  name: string;
  held: number;
}

interface MessageRow {
  id: number;
  due: number;
  delay: number;
  published_at: number;
  routing_key: string;
  properties: Uint8Array;
  body: Uint8Array;
  vhost: string | null;
  name: string | null;
}

const COLUMNS = "m.id, m.due, m.delay, m.published_at, m.routing_key, m.properties, m.body, e.vhost, e.name";

interface Statements {
  insert: SqlStatement;
  remove: SqlStatement;
  count: SqlStatement;
  addExchange: SqlStatement;
  dropExchange: SqlStatement;
}

export class DurableHeld {
  /** Exchanges with a row in delayed_exchanges, by exchangeKey. */
  private readonly exchanges = new Map<string, ExchangeRow>();
  private nextExchangeId = 1;
  private pendingInserts: { row: HeldMessage; exchangeId: number }[] = [];
  /** Ids deleted since the last commit: reads of committed rows skip them. */
  private pendingDeletes = new Set<number>();
  /** The earliest due time among inserts not yet committed. */
  private pendingEarliest = Infinity;
  private pendingExchanges: ExchangeRow[] = [];
  private pendingDrops: number[] = [];
  /** Count changes not yet written, by exchange id. */
  private readonly deltas = new Map<number, number>();
  private writeRecorded = false;
  private statements: Statements | undefined;

  constructor(private readonly tables: PluginTables) {
    for (const row of tables.query<ExchangeRow>("SELECT id, vhost, name, held FROM delayed_exchanges")) {
      this.exchanges.set(exchangeKey(row.vhost, row.name), row);
      this.nextExchangeId = Math.max(this.nextExchangeId, row.id + 1);
    }
  }

  /** One past the largest message id stored (an index lookup). */
  nextMessageId(): number {
    return (this.tables.query<{ id: number | null }>("SELECT max(id) AS id FROM delayed_messages")[0]?.id ?? 0) + 1;
  }

  /**
   * The earliest due time held, committed or not, or undefined: an index lookup that does not
   * force a commit (rows deleted since the last commit are skipped).
   */
  earliestDue(): number | undefined {
    const rows = this.tables.readCommitted<{ id: number; due: number }>(
      "SELECT id, due FROM delayed_messages ORDER BY due, id LIMIT ?",
      this.pendingDeletes.size + 1,
    );
    const committed = rows.find((r) => !this.pendingDeletes.has(r.id))?.due ?? Infinity;
    const earliest = Math.min(committed, this.pendingEarliest);
    return earliest === Infinity ? undefined : earliest;
  }

  /** The earliest due time among inserts not committed yet (Infinity when none). */
  get uncommittedEarliest(): number {
    return this.pendingEarliest;
  }

  count(vhost: string, name: string): number {
    return this.exchanges.get(exchangeKey(vhost, name))?.held ?? 0;
  }

  /** Every exchange with held messages and its count. */
  counts(): { vhost: string; name: string; held: number }[] {
    return [...this.exchanges.values()].filter((e) => e.held > 0);
  }

  add(row: HeldMessage): void {
    const key = exchangeKey(row.vhost, row.exchange);
    let exchange = this.exchanges.get(key);
    if (!exchange) {
      exchange = { id: this.nextExchangeId++, vhost: row.vhost, name: row.exchange, held: 0 };
      this.exchanges.set(key, exchange);
      this.pendingExchanges.push(exchange);
    }
    exchange.held++;
    this.pendingInserts.push({ row, exchangeId: exchange.id });
    if (row.due < this.pendingEarliest) this.pendingEarliest = row.due;
    this.change(exchange.id, 1);
  }

  /** Deletes a stored message (it was read from the table, so it exists). */
  remove(id: number, vhost: string, name: string): void {
    const exchange = this.exchanges.get(exchangeKey(vhost, name));
    if (!exchange) return this.removeOrphan(id);
    this.pendingDeletes.add(id);
    exchange.held--;
    this.change(exchange.id, -1);
  }

  /**
   * Committed messages due by `now`, in due order, at most `limit` (those of dropped exchanges
   * have no row). Does not force a commit: inserts not yet committed wait for the next call.
   */
  due(now: number, limit: number): { row: HeldMessage | undefined; id: number }[] {
    const rows = this.tables.readCommitted<MessageRow>(
      `SELECT ${COLUMNS} FROM delayed_messages m LEFT JOIN delayed_exchanges e ON e.id = m.exchange_id
       WHERE m.due <= ? ORDER BY m.due, m.id LIMIT ?`,
      now,
      limit + this.pendingDeletes.size,
    );
    const out: { row: HeldMessage | undefined; id: number }[] = [];
    for (const r of rows) {
      if (this.pendingDeletes.has(r.id)) continue;
      out.push({ id: r.id, row: toHeld(r) });
      if (out.length === limit) break;
    }
    return out;
  }

  /** One exchange's held messages in due order, from `offset`. */
  page(vhost: string, name: string, offset: number, limit: number): HeldMessage[] {
    const exchange = this.exchanges.get(exchangeKey(vhost, name));
    if (!exchange || limit <= 0) return [];
    const rows = this.tables.query<MessageRow>(
      `SELECT ${COLUMNS} FROM delayed_messages m JOIN delayed_exchanges e ON e.id = m.exchange_id
       WHERE m.exchange_id = ? ORDER BY m.due, m.id LIMIT ? OFFSET ?`,
      exchange.id,
      limit,
      offset,
    );
    return rows.map((r) => toHeld(r)!);
  }

  /** The held message with this id, if it is stored and belongs to the exchange. */
  find(vhost: string, name: string, id: number): HeldMessage | undefined {
    const exchange = this.exchanges.get(exchangeKey(vhost, name));
    if (!exchange) return undefined;
    const rows = this.tables.query<MessageRow>(
      `SELECT ${COLUMNS} FROM delayed_messages m JOIN delayed_exchanges e ON e.id = m.exchange_id
       WHERE m.id = ? AND m.exchange_id = ?`,
      id,
      exchange.id,
    );
    return rows[0] === undefined ? undefined : toHeld(rows[0]);
  }

  /** The id of an exchange's row, if it has one. */
  exchangeId(vhost: string, name: string): number | undefined {
    return this.exchanges.get(exchangeKey(vhost, name))?.id;
  }

  /** Ids of up to `limit` messages of an exchange row (for purges in bounded steps). */
  idsOf(exchangeId: number, limit: number): number[] {
    return this.tables.query<{ id: number }>("SELECT id FROM delayed_messages WHERE exchange_id = ? LIMIT ?", exchangeId, limit).map((r) =>
      r.id
    );
  }

  /**
   * Forgets an exchange (it was deleted): its row goes now; returns its id, whose messages are
   * left without a name and dropped by whoever meets them (the purge that follows, or the release).
   */
  dropExchange(vhost: string, name: string): number | undefined {
    const key = exchangeKey(vhost, name);
    const exchange = this.exchanges.get(key);
    if (!exchange) return undefined;
    this.exchanges.delete(key);
    this.deltas.delete(exchange.id);
    const unwritten = this.pendingExchanges.indexOf(exchange);
    if (unwritten >= 0) {
      // Added and dropped within one commit: nothing of it is written.
      this.pendingExchanges.splice(unwritten, 1);
      this.pendingInserts = this.pendingInserts.filter((p) => p.exchangeId !== exchange.id);
    } else {
      this.pendingDrops.push(exchange.id);
      this.record();
    }
    return exchange.id;
  }

  /** Deletes a message whose exchange was dropped (no count to change). */
  removeOrphan(id: number): void {
    this.pendingDeletes.add(id);
    this.record();
  }

  private change(exchangeId: number, by: number): void {
    this.deltas.set(exchangeId, (this.deltas.get(exchangeId) ?? 0) + by);
    this.record();
  }

  /** One write per commit carries everything recorded until then. */
  private record(): void {
    if (this.writeRecorded) return;
    this.writeRecorded = true;
    this.tables.write((db) => this.flush(db));
  }

  private flush(db: SqlDatabase): void {
    this.writeRecorded = false;
    const s = (this.statements ??= prepare(db));
    // Drops first: an exchange deleted and declared again adds a row of the same name.
    for (const id of this.pendingDrops) s.dropExchange.run(id);
    for (const e of this.pendingExchanges) s.addExchange.run(e.id, e.vhost, e.name);
    for (const { row, exchangeId } of this.pendingInserts) {
      s.insert.run(row.id, exchangeId, row.due, row.delay, row.publishedAt, row.routingKey, row.properties, row.body);
    }
    for (const id of this.pendingDeletes) s.remove.run(id);
    for (const [exchangeId, by] of this.deltas) if (by !== 0) s.count.run(by, exchangeId);
    this.pendingExchanges = [];
    this.pendingInserts = [];
    this.pendingEarliest = Infinity;
    this.pendingDeletes = new Set();
    this.pendingDrops = [];
    this.deltas.clear();
  }
}

function prepare(db: SqlDatabase): Statements {
  return {
    insert: db.prepare(
      "INSERT INTO delayed_messages (id, exchange_id, due, delay, published_at, routing_key, properties, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    remove: db.prepare("DELETE FROM delayed_messages WHERE id = ?"),
    count: db.prepare("UPDATE delayed_exchanges SET held = held + ? WHERE id = ?"),
    addExchange: db.prepare("INSERT INTO delayed_exchanges (id, vhost, name, held) VALUES (?, ?, ?, 0)"),
    dropExchange: db.prepare("DELETE FROM delayed_exchanges WHERE id = ?"),
  };
}

function toHeld(r: MessageRow): HeldMessage | undefined {
  if (r.vhost === null || r.name === null) return undefined;
  return {
    id: r.id,
    vhost: r.vhost,
    exchange: r.name,
    due: r.due,
    delay: r.delay,
    publishedAt: r.published_at,
    routingKey: r.routing_key,
    properties: r.properties,
    body: r.body,
    durable: true,
  };
}
