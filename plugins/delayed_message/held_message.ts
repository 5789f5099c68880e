// One held message, as both holders (the durable table and the in-memory heap) keep it.

export interface HeldMessage {
  /** Unique among held messages (the durable table's row id, or one after it for memory). */
  readonly id: number;
  readonly vhost: string;
  readonly exchange: string;
  /** When it is released (ms since the epoch). */
  readonly due: number;
  /** The x-delay it was published with (ms); written back negated on release. */
  readonly delay: number;
  readonly publishedAt: number;
  readonly routingKey: string;
  readonly properties: Uint8Array;
  readonly body: Uint8Array;
  /** In the store (persistent message, durable exchange) rather than in memory. */
  readonly durable: boolean;
}

/** Due order: due time, then publish order. */
export function dueOrder(a: HeldMessage, b: HeldMessage): number {
  return a.due - b.due || a.id - b.id;
}

/** The key of an exchange in maps: vhost and name. */
export function exchangeKey(vhost: string, name: string): string {
  return `${vhost}\u0000${name}`;
}
