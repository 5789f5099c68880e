// A session's outgoing QoS 1 deliveries by packet id, without a Map: a set and a delete per
// message on a long-lived Map turn JavaScriptCore's eden collections into full ones
// (docs/performance.md, "Other Maps and Sets on the message path"). Packet ids still count up
// cyclically (1-65535, as RabbitMQ's); a delivery sits in slot id & mask, so the table is as
// large as what is in flight, not as the id space. An id whose slot is taken is skipped.

const MIN_SLOTS = 16;
const MAX_PACKET_ID = 65535;

export class InflightTable<T> {
  private ids: number[] = new Array(MIN_SLOTS).fill(0);
  private values: (T | undefined)[] = new Array(MIN_SLOTS).fill(undefined);
  private mask = MIN_SLOTS - 1;
  private nextId = 1;
  size = 0;

  /** A free packet id, counting up from the last one given (the caller then add()s it). */
  allocate(): number {
    if (this.size >= MAX_PACKET_ID) throw new Error("every MQTT packet id is in flight");
    if (this.size > this.mask) this.grow();
    for (;;) {
      const id = this.nextId;
      this.nextId = id === MAX_PACKET_ID ? 1 : id + 1;
      if (this.ids[id & this.mask] === 0) return id;
    }
  }

  /** Records `value` under an id from allocate(). */
  add(id: number, value: T): void {
    const at = id & this.mask;
    if (this.ids[at] !== 0) throw new Error(`MQTT packet id ${id}: slot taken by ${this.ids[at]}`);
    this.ids[at] = id;
    this.values[at] = value;
    this.size++;
  }

  /** Removes and returns what `id` carried; undefined for an id not in flight. */
  take(id: number): T | undefined {
    const at = id & this.mask;
    if (id < 1 || id > MAX_PACKET_ID || this.ids[at] !== id) return undefined;
    const value = this.values[at];
    this.ids[at] = 0;
    this.values[at] = undefined;
    this.size--;
    return value;
  }

  /** Whether `id` is in flight. */
  has(id: number): boolean {
    return id >= 1 && id <= MAX_PACKET_ID && this.ids[id & this.mask] === id;
  }

  /** Removes every entry `drop` says to (in slot order). */
  removeWhere(drop: (value: T) => boolean): void {
    for (let at = 0; at <= this.mask; at++) {
      if (this.ids[at] !== 0 && drop(this.values[at]!)) {
        this.ids[at] = 0;
        this.values[at] = undefined;
        this.size--;
      }
    }
  }

  /** Every value in flight, oldest id first (ids counted up from nextId - size). */
  valuesInIdOrder(): T[] {
    const entries: [number, T][] = [];
    for (let at = 0; at <= this.mask; at++) if (this.ids[at] !== 0) entries.push([this.ids[at]!, this.values[at]!]);
    // Ids wrap at 65535: order by distance behind the next id to give.
    const behind = (id: number) => (this.nextId - id + MAX_PACKET_ID) % MAX_PACKET_ID;
    return entries.sort((a, b) => behind(b[0]) - behind(a[0])).map(([, value]) => value);
  }

  clear(): void {
    this.ids = new Array(MIN_SLOTS).fill(0);
    this.values = new Array(MIN_SLOTS).fill(undefined);
    this.mask = MIN_SLOTS - 1;
    this.size = 0;
  }

  /** Twice the slots: ids distinct in the low bits stay distinct with one bit more. */
  private grow(): void {
    const ids = this.ids;
    const values = this.values;
    const slots = (this.mask + 1) * 2;
    this.ids = new Array(slots).fill(0);
    this.values = new Array(slots).fill(undefined);
    this.mask = slots - 1;
    for (let at = 0; at < ids.length; at++) {
      if (ids[at] !== 0) {
        this.ids[ids[at]! & this.mask] = ids[at]!;
        this.values[ids[at]! & this.mask] = values[at];
      }
    }
  }
}
