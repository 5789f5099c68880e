// One message's place in one queue, as queues, channels and consumers see it.
import type { StoreRow } from "../../storage/store.ts";
import type { Message } from "./message.ts";

export interface QueueEntry extends StoreRow {
  readonly message: Message;
  /** Position in the queue: requeued entries go back in front of everything with a higher seq. */
  readonly seq: number;
  /** Delivered before (and requeued): consumers see redelivered=true. */
  redelivered: boolean;
  /** Written to the durable store (a persistent message in a durable queue, or paged out). */
  readonly persisted: boolean;
  /** When it expires (ms since the epoch; 0: never), from x-message-ttl or its expiration. */
  readonly expiresAt: number;
  /** Quorum queues: how often it was returned (x-delivery-count); absent until the first return. */
  deliveryCount?: number;
}
