// The x-consistent-hash router, laid out as RabbitMQ 3.10's rabbit_exchange_type_consistent_hash:
// each destination owns `weight` consecutive buckets (weight = the binding key) in the order it
// was first bound; a message goes to the destination owning bucket
// jump_consistent_hash(phash2(Value), TotalBuckets). Buckets are kept as ranges (one entry per
// destination), so a weight of 10^9 costs what a weight of 1 does.
//
// RabbitMQ quirks kept on purpose (a client sees them): a second binding to a destination that
// is already in the ring adds no buckets, and removing any binding of a destination takes all
// its buckets out (its other bindings stay listed but route nothing until re-bound or restart).
import type { FieldTable } from "../../src/amqp/table.ts";
import { type Binding, IndexedRouter } from "../../src/routing/indexed_router.ts";
import type { RoutableMessage } from "../../src/routing/router.ts";
import { jumpConsistentHash } from "./jump.ts";
import { phash2Decimal, phash2Header, phash2Text, phash2Undefined } from "./phash2.ts";

/** What a message is hashed on (the exchange's hash-header / hash-property argument). */
export const HashOn = { RoutingKey: 0, Header: 1, MessageId: 2, CorrelationId: 3, Timestamp: 4 } as const;
export type HashOn = (typeof HashOn)[keyof typeof HashOn];

/** A binding key's weight: an integer of at least 1 (validated before binding). */
export function bindingWeight(routingKey: string): number {
  const weight = Number(routingKey);
  return weight >= 1 ? weight : 1; // validated before binding; never let a bad key break the ring
}

export class ConsistentHashRouter<D> extends IndexedRouter<D, Binding<D>> {
  /** Destinations in ring order, and the (exclusive) end bucket of each. */
  private readonly ring: D[] = [];
  private readonly ends: number[] = [];
  private readonly weights = new Map<D, number>();

  constructor(
    private readonly hashOn: HashOn,
    /** The header name when hashing on a header. */
    private readonly header: string = "",
  ) {
    super();
  }

  /** Number of buckets (the sum of the weights in the ring). */
  get buckets(): number {
    const n = this.ends.length;
    return n === 0 ? 0 : this.ends[n - 1]!;
  }

  /** The ring as RabbitMQ's ring_state shows it: destinations in bucket order with their weights. */
  ringState(): { destination: D; weight: number }[] {
    return this.ring.map((destination) => ({ destination, weight: this.weights.get(destination)! }));
  }

  route(_routingKey: string, message: RoutableMessage, out: Set<D>): void {
    const n = this.ends.length;
    if (n === 0) return;
    const buckets = this.ends[n - 1]!;
    const bucket = buckets === 1 ? 0 : jumpConsistentHash(this.hash(message), buckets);
    // The first destination whose range ends after the bucket.
    let lo = 0, hi = n - 1;
    const ends = this.ends;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! > bucket) hi = mid;
      else lo = mid + 1;
    }
    out.add(this.ring[lo]!);
  }

  /** phash2 of what RabbitMQ's value_to_hash returns for the message. */
  private hash(message: RoutableMessage): number {
    switch (this.hashOn) {
      case HashOn.RoutingKey:
        // hd(routing_keys): the message's own key, whichever CC/BCC key is being routed.
        return phash2Text(message.routingKey);
      case HashOn.Header:
        return phash2Header(message.headerTable(), this.header);
      case HashOn.MessageId: {
        const id = message.props.messageId;
        return id === undefined ? phash2Undefined() : phash2Text(id);
      }
      case HashOn.CorrelationId: {
        const id = message.props.correlationId;
        return id === undefined ? phash2Undefined() : phash2Text(id);
      }
      case HashOn.Timestamp: {
        const ts = message.props.timestamp;
        return ts === undefined ? phash2Undefined() : phash2Decimal(ts);
      }
    }
  }

  protected attach(routingKey: string, args: FieldTable, destination: D): Binding<D> {
    if (!this.weights.has(destination)) {
      const weight = bindingWeight(routingKey);
      this.weights.set(destination, weight);
      this.ring.push(destination);
      this.ends.push(this.buckets + weight);
    }
    return { routingKey, args, destination, slot: -1 };
  }

  protected detach(binding: Binding<D>): void {
    if (!this.weights.delete(binding.destination)) return;
    const at = this.ring.indexOf(binding.destination);
    this.ring.splice(at, 1);
    this.ends.splice(at, 1);
    let end = at === 0 ? 0 : this.ends[at - 1]!;
    for (let i = at; i < this.ring.length; i++) this.ends[i] = end += this.weights.get(this.ring[i]!)!;
  }
}
