// Held messages kept in memory: transient messages, messages on non-durable exchanges, and all
// of them when the broker has no durable store. A binary heap in due order (removals are lazy:
// a removed entry is skipped when it reaches the top) and counts per exchange. Lost on restart,
// as transient messages in queues are.
import { dueOrder, exchangeKey, type HeldMessage } from "./held_message.ts";

export class MemoryHeld {
  private heap: HeldMessage[] = [];
  private readonly byId = new Map<number, HeldMessage>();
  private readonly counts = new Map<string, number>();

  get size(): number {
    return this.byId.size;
  }

  count(vhost: string, name: string): number {
    return this.counts.get(exchangeKey(vhost, name)) ?? 0;
  }

  /** Every exchange with held messages and its count. */
  allCounts(): { key: string; held: number }[] {
    return [...this.counts].map(([key, held]) => ({ key, held }));
  }

  add(row: HeldMessage): void {
    this.byId.set(row.id, row);
    const key = exchangeKey(row.vhost, row.exchange);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const heap = this.heap;
    heap.push(row);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (dueOrder(heap[parent]!, row) <= 0) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = row;
  }

  earliestDue(): number | undefined {
    this.dropRemovedTop();
    return this.heap[0]?.due;
  }

  /** Takes out up to `limit` messages due by `now`, in due order. */
  takeDue(now: number, limit: number): HeldMessage[] {
    const out: HeldMessage[] = [];
    while (out.length < limit) {
      this.dropRemovedTop();
      const top = this.heap[0];
      if (top === undefined || top.due > now) break;
      this.pop();
      this.forget(top);
      out.push(top);
    }
    return out;
  }

  find(vhost: string, name: string, id: number): HeldMessage | undefined {
    const row = this.byId.get(id);
    return row !== undefined && row.vhost === vhost && row.exchange === name ? row : undefined;
  }

  remove(id: number): boolean {
    const row = this.byId.get(id);
    if (row === undefined) return false;
    this.forget(row);
    return true;
  }

  /** One exchange's held messages in due order, from `offset` (sorts them: a management path). */
  page(vhost: string, name: string, offset: number, limit: number): HeldMessage[] {
    if (this.count(vhost, name) === 0) return [];
    return this.ofExchange(vhost, name).sort(dueOrder).slice(offset, offset + limit);
  }

  /** Removes every held message of an exchange; returns how many. */
  purge(vhost: string, name: string): number {
    if (this.count(vhost, name) === 0) return 0;
    const rows = this.ofExchange(vhost, name);
    for (const row of rows) this.forget(row);
    return rows.length;
  }

  private ofExchange(vhost: string, name: string): HeldMessage[] {
    const out: HeldMessage[] = [];
    for (const row of this.byId.values()) if (row.vhost === vhost && row.exchange === name) out.push(row);
    return out;
  }

  private forget(row: HeldMessage): void {
    if (!this.byId.delete(row.id)) return;
    const key = exchangeKey(row.vhost, row.exchange);
    const left = (this.counts.get(key) ?? 1) - 1;
    if (left === 0) this.counts.delete(key);
    else this.counts.set(key, left);
    // Once most of the heap is removed entries, rebuild it from the live ones.
    if (this.heap.length > 1024 && this.byId.size < this.heap.length / 4) this.rebuild();
  }

  private dropRemovedTop(): void {
    while (this.heap.length > 0 && !this.byId.has(this.heap[0]!.id)) this.pop();
  }

  private rebuild(): void {
    this.heap = [...this.byId.values()].sort(dueOrder);
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && dueOrder(heap[right]!, heap[left]!) < 0 ? right : left;
      if (dueOrder(heap[child]!, last) >= 0) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
