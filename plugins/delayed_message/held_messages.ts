// Every held message of one broker: persistent messages on durable exchanges in the store,
// the others in memory. One timer, set for the earliest due time; when it fires, due messages
// are released in due order in bounded batches (one batch per event-loop turn), each through the
// broker's publish pipeline, its held row deleted in the commit that stores the routed copies.
import type { Broker } from "../../src/broker/broker.ts";
import type { Exchange } from "../../src/broker/exchange.ts";
import { Message } from "../../src/broker/message.ts";
import { policyString } from "../../src/broker/policy.ts";
import { publish, type PublishContext, Published } from "../../src/broker/publish.ts";
import type { Queue } from "../../src/broker/queue.ts";
import type { Vhost } from "../../src/broker/vhost.ts";
import type { Logger } from "../../src/log.ts";
import { after, nextTurn, type Timer, turnEnds } from "../../src/runtime/timers.ts";
import type { PluginTables } from "../../storage/plugin_tables.ts";
import { releasedProperties } from "./delay_header.ts";
import { DurableHeld } from "./durable_held.ts";
import { dueOrder, type HeldMessage } from "./held_message.ts";
import { LatenessHistogram } from "./lateness.ts";
import { MemoryHeld } from "./memory_held.ts";

export const DELAYED_TYPE = "x-delayed-message";
/** Policy keys: where messages that fell due while the broker was down go instead of their exchange. */
export const OVERDUE_DLX = "delayed-overdue-dead-letter-exchange";
export const OVERDUE_DLX_KEY = "delayed-overdue-dead-letter-routing-key";

/** Messages released per event-loop turn: bounds the time one turn spends releasing. */
export const RELEASE_BATCH = 1000;
/** Rows deleted per commit by a purge. */
const PURGE_STEP = 5000;
/** setTimeout's longest wait; a later due time is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ReleaseCounters {
  released: number;
  /** Routed nowhere at release (no binding, no alternate exchange took it). */
  unroutable: number;
  /** Their exchange or vhost was gone. */
  noExchange: number;
  /** Overdue at boot and sent to the policy's dead-letter exchange. */
  overdueDeadLettered: number;
}

export class HeldMessages {
  private loadedDurable: DurableHeld | undefined;
  private loaded = false;
  private readonly memory = new MemoryHeld();
  private nextId = 1;
  private timer: Timer | undefined;
  private timerDue = Infinity;
  /** A release batch is queued for the next turn (the timer is not needed meanwhile). */
  private releasing = false;
  /** A rearm waits for the store's commit. */
  private rearmQueued = false;
  private running = false;
  /** Messages due before this were due while the broker was down (or stopped). */
  private bootTime = 0;
  private unsubscribe: (() => void) | undefined;
  readonly counters: ReleaseCounters = { released: 0, unroutable: 0, noExchange: 0, overdueDeadLettered: 0 };
  /** Release time − due time of messages released while running (not those overdue at boot). */
  readonly lateness = new LatenessHistogram();
  private readonly scratch = new Set<Queue>();
  /** Messages being released: the exchange type lets them through without reading x-delay again. */
  private readonly releases = new WeakSet<Message>();
  /** Exchanges whose missing-exchange drop was logged. */
  private readonly warned = new Set<string>();

  constructor(private readonly broker: Broker, private readonly tables: PluginTables | undefined, private readonly log: Logger) {}

  /** The store's holder (undefined without a durable store), read on first use. */
  private get durable(): DurableHeld | undefined {
    if (!this.loaded) {
      this.loaded = true;
      if (this.tables) {
        this.loadedDurable = new DurableHeld(this.tables);
        this.nextId = Math.max(this.nextId, this.loadedDurable.nextMessageId());
      }
    }
    return this.loadedDurable;
  }

  start(): void {
    const durable = this.durable;
    this.running = true;
    this.bootTime = Date.now();
    this.unsubscribe = this.broker.events.on("exchangeDeleted", ({ vhost, exchange }) => {
      if (exchange.type === DELAYED_TYPE) this.exchangeDeleted(vhost, exchange.name);
    });
    const held = (durable?.counts() ?? []).reduce((n, e) => n + e.held, 0);
    if (held > 0) this.log.info(`${held} delayed message(s) held in the store`);
    this.rearm();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerDue = Infinity;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /**
   * Holds a message for `delay` ms. Returns the Published bits: persisted when it went to the
   * store (the publisher's confirm waits for the commit).
   */
  hold(vhost: Vhost, exchange: Exchange, message: Message, delay: number): number {
    const durable = exchange.durable && message.persistent ? this.durable : undefined;
    const now = Date.now();
    const row: HeldMessage = {
      id: this.nextId++,
      vhost: vhost.name,
      exchange: exchange.name,
      due: now + delay,
      delay,
      publishedAt: now,
      routingKey: message.routingKey,
      properties: message.properties,
      body: message.body,
      durable: durable !== undefined,
    };
    if (durable) durable.add(row);
    else this.memory.add(row);
    this.wake(row.due);
    return durable ? Published.persisted : Published.memory;
  }

  /** Whether `message` is one this plugin is releasing (its x-delay is already negative). */
  isRelease(message: Message): boolean {
    return this.releases.has(message);
  }

  /** How many messages an exchange holds (O(1)). */
  count(vhost: string, name: string): number {
    return (this.durable?.count(vhost, name) ?? 0) + this.memory.count(vhost, name);
  }

  /** Every exchange holding messages, with its count. */
  counts(): { vhost: string; name: string; held: number }[] {
    const out = new Map<string, { vhost: string; name: string; held: number }>();
    for (const e of this.durable?.counts() ?? []) out.set(`${e.vhost}\u0000${e.name}`, { ...e });
    for (const { key, held } of this.memory.allCounts()) {
      const [vhost, name] = key.split("\u0000") as [string, string];
      const entry = out.get(key);
      if (entry) entry.held += held;
      else out.set(key, { vhost, name, held });
    }
    return [...out.values()];
  }

  /** One exchange's held messages in due order: `limit` from `offset`. */
  page(vhost: string, name: string, offset: number, limit: number): HeldMessage[] {
    const durable = this.durable;
    if (this.memory.count(vhost, name) === 0) return durable?.page(vhost, name, offset, limit) ?? [];
    if (durable === undefined || durable.count(vhost, name) === 0) return this.memory.page(vhost, name, offset, limit);
    // Both kinds held: merge the first offset + limit of each (deep pages cost more here).
    const stored = durable.page(vhost, name, 0, offset + limit);
    const inMemory = this.memory.page(vhost, name, 0, offset + limit);
    return [...stored, ...inMemory].sort(dueOrder).slice(offset, offset + limit);
  }

  /** Deletes one held message; false when the exchange holds none of that id. */
  delete(vhost: string, name: string, id: number): boolean {
    if (this.memory.find(vhost, name, id)) return this.memory.remove(id);
    const durable = this.durable;
    if (!durable?.find(vhost, name, id)) return false;
    durable.remove(id, vhost, name);
    return true;
  }

  /** Deletes every held message of an exchange, in bounded steps; resolves with how many. */
  async purge(vhost: string, name: string): Promise<number> {
    let purged = this.memory.purge(vhost, name);
    const id = this.durable?.exchangeId(vhost, name);
    if (id !== undefined) purged += await this.purgeRows(id, vhost, name);
    return purged;
  }

  private exchangeDeleted(vhost: string, name: string): void {
    const dropped = this.memory.purge(vhost, name);
    const id = this.durable?.dropExchange(vhost, name);
    if (id === undefined) {
      if (dropped > 0) this.log.info(`exchange '${name}' in vhost '${vhost}' deleted: ${dropped} delayed message(s) dropped`);
      return;
    }
    this.purgeRows(id, undefined, undefined).then(
      (n) => this.log.info(`exchange '${name}' in vhost '${vhost}' deleted: ${dropped + n} delayed message(s) dropped`),
      (err) =>
        this.log.warning(
          `dropping the delayed messages of deleted exchange '${name}' in vhost '${vhost}' stopped: ${(err as Error).message}`,
        ),
    );
  }

  /** Deletes an exchange row's messages, PURGE_STEP per commit (owner undefined: it was dropped). */
  private async purgeRows(exchangeId: number, vhost: string | undefined, name: string | undefined): Promise<number> {
    const durable = this.durable!;
    let purged = 0;
    for (;;) {
      const ids = durable.idsOf(exchangeId, PURGE_STEP);
      if (ids.length === 0) return purged;
      for (const id of ids) {
        if (vhost !== undefined && name !== undefined) durable.remove(id, vhost, name);
        else durable.removeOrphan(id);
      }
      purged += ids.length;
      await turnEnds();
    }
  }

  /** Sets the timer for `due` if that is earlier than the one set. */
  private wake(due: number): void {
    if (!this.running || this.releasing || due >= this.timerDue) return;
    this.timer?.cancel();
    this.timerDue = due;
    this.timer = after(Math.min(Math.max(due - Date.now(), 0), MAX_TIMER_MS), () => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.releaseDue();
    });
  }

  /**
   * Sets the timer for the earliest held message (an index lookup in the store). When that one
   * is due but not committed yet, the timer is set once the commit is done.
   */
  private rearm(): void {
    const durable = this.durable;
    const stored = durable?.earliestDue();
    const inMemory = this.memory.earliestDue();
    const next = Math.min(stored ?? Infinity, inMemory ?? Infinity);
    if (next === Infinity) return;
    if (next <= Date.now() && next === durable?.uncommittedEarliest && inMemory !== next) {
      if (!this.rearmQueued) {
        this.rearmQueued = true;
        this.tables!.afterCommit(() => {
          this.rearmQueued = false;
          this.rearm();
        });
      }
      return;
    }
    this.wake(next);
  }

  /** Releases one batch of due messages; queues the next batch for the next turn if more are due. */
  private releaseDue(): void {
    if (!this.running) return;
    const now = Date.now();
    let more = false;
    try {
      const stored = this.durable?.due(now, RELEASE_BATCH) ?? [];
      const inMemory = this.memory.takeDue(now, RELEASE_BATCH);
      more = stored.length === RELEASE_BATCH || inMemory.length === RELEASE_BATCH;
      let j = 0;
      for (const { id, row } of stored) {
        if (row === undefined) {
          this.durable!.removeOrphan(id); // its exchange was deleted
          continue;
        }
        while (j < inMemory.length && dueOrder(inMemory[j]!, row) < 0) this.release(inMemory[j++]!);
        this.durable!.remove(id, row.vhost, row.exchange);
        this.release(row);
      }
      while (j < inMemory.length) this.release(inMemory[j++]!);
    } catch (err) {
      this.log.error(`releasing delayed messages failed: ${(err as Error).stack ?? err}`);
    }
    if (more) {
      this.releasing = true;
      nextTurn(() => {
        this.releasing = false;
        this.releaseDue();
      });
    } else {
      this.rearm();
    }
  }

  /** Publishes a due message to its exchange (or an overdue one to the policy's dead-letter exchange). */
  private release(row: HeldMessage): void {
    const vhost = this.broker.vhosts.get(row.vhost);
    const exchange = vhost?.exchanges.get(row.exchange);
    if (vhost === undefined || exchange === undefined || exchange.type !== DELAYED_TYPE) {
      this.counters.noExchange++;
      const key = `${row.vhost}\u0000${row.exchange}`;
      if (!this.warned.has(key)) {
        this.warned.add(key);
        this.log.warning(
          `delayed messages of exchange '${row.exchange}' in vhost '${row.vhost}' dropped when due: the exchange is not there (not recovered?)`,
        );
      }
      return;
    }
    if (row.due >= this.bootTime) this.lateness.record(Date.now() - row.due);
    const held = new Message(row.exchange, row.routingKey, row.properties, row.body);
    let target = exchange;
    let message = new Message(row.exchange, row.routingKey, releasedProperties(held, row.delay), row.body);
    const overdueTo = row.due < this.bootTime && exchange.policy ? policyString(exchange.policy.definition, OVERDUE_DLX) : undefined;
    if (overdueTo !== undefined) {
      const dlx = vhost.exchanges.get(overdueTo);
      if (dlx === undefined) {
        this.counters.noExchange++; // as a missing dead-letter exchange: dropped
        return;
      }
      const key = policyString(exchange.policy!.definition, OVERDUE_DLX_KEY) ?? row.routingKey;
      message = new Message(overdueTo, key, message.properties, row.body);
      target = dlx;
    }
    this.releases.add(message);
    const ctx: PublishContext = { scope: vhost, confirm: false, queues: this.scratch };
    let outcome: number;
    try {
      outcome = publish(ctx, target, message, false);
    } catch (err) {
      // Checked when it was held, so this should not happen; the message cannot be routed.
      this.log.warning(`delayed message to ${exchange.describe()} dropped at release: ${(err as Error).message}`);
      this.counters.unroutable++;
      return;
    } finally {
      this.scratch.clear();
    }
    if ((outcome & Published.unroutable) !== 0) this.counters.unroutable++;
    else if (target !== exchange) this.counters.overdueDeadLettered++;
    else this.counters.released++;
  }
}
