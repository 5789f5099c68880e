// An MQTT session on the AMQP side, as RabbitMQ's plugin builds it: a queue per client and QoS
// level (mqtt-subscription-<clientid>qos0 / qos1), bound to the MQTT exchange once per topic
// filter, consumed by the connection. QoS 1 deliveries wait for PUBACK (then the queue drops
// them); unacknowledged ones go back to the queue when the connection goes, and come again
// (with DUP) to the next connection of a persistent session.
import { AmqpError } from "../../src/amqp/errors.ts";
import { checkConfigure, checkRead, checkTopic, checkWrite } from "../../src/auth/access.ts";
import type { FieldTable } from "../../src/amqp/table.ts";
import type { Exchange } from "../../src/broker/exchange.ts";
import type { Queue, QueueConsumer } from "../../src/broker/queue.ts";
import type { QueueEntry } from "../../src/broker/queue_entry.ts";
import type { Vhost } from "../../src/broker/vhost.ts";
import type { User } from "../../src/auth/users.ts";
import type { Users } from "../../src/auth/users.ts";
import { fromAmqp } from "./bridge.ts";
import type { Subscription } from "./decode.ts";
import type { OutgoingPublish } from "./encode.ts";
import { bindingKeyToFilter, filterToBindingKey, topicMatches } from "./topic.ts";
import { InflightTable } from "./inflight.ts";

/** What a session needs of its connection. */
export interface SessionLink {
  readonly user: User;
  readonly vhost: Vhost;
  readonly broker: { readonly users: Users };
  readonly clientId: string;
  readonly connectionName: string;
  readonly v5: boolean;
  /** In-flight QoS 1 deliveries allowed (prefetch, or the client's receive maximum). */
  readonly inflightLimit: number;
  /** The client's maximum packet size (0: none given). */
  readonly clientMaxPacket: number;
  /** The socket can take more now. */
  writable(): boolean;
  sendPublish(p: OutgoingPublish): boolean;
  /** Who published a message (for no-local). */
  originOf(body: Uint8Array): string | undefined;
}

/** Session lifetime: how the queues are declared. expiryMs null: never expires; 0: ends with the connection. */
export interface SessionShape {
  expiryMs: number | null;
}

export const queueName = (clientId: string, qos: number) => `mqtt-subscription-${clientId}qos${qos}`;

interface Inflight {
  queue: Queue;
  entry: QueueEntry;
}

/** One subscription: its filter and options (granted QoS is 0 or 1). */
export type ActiveSubscription = Subscription;

class SubscriptionConsumer implements QueueConsumer {
  readonly exclusive = false;
  readonly priority = 0;
  constructor(readonly session: Session, readonly tag: string, readonly qos: number) {}
  canTake(): boolean {
    return this.session.canTake(this.qos);
  }
  deliver(queue: Queue, entry: QueueEntry): void {
    this.session.deliver(queue, entry, this.qos);
  }
  cancelledByServer(queue: Queue): void {
    this.session.queueGone(queue);
  }
  describe(): Record<string, unknown> {
    const link = this.session.link;
    return {
      consumer_tag: this.tag,
      queue: { name: queueName(link.clientId, this.qos), vhost: link.vhost.name },
      channel_details: { connection_name: link.connectionName, user: link.user.name },
      ack_required: this.qos === 1,
      exclusive: false,
      prefetch_count: this.qos === 1 ? link.inflightLimit : 0,
      active: true,
      activity_status: "up",
      arguments: {},
    };
  }
}

export class Session {
  readonly subscriptions = new Map<string, ActiveSubscription>();
  private readonly queues: (Queue | undefined)[] = [undefined, undefined];
  private readonly consumers: (SubscriptionConsumer | undefined)[] = [undefined, undefined];
  /** Outgoing packet id -> the delivery it carries (null: a retained message, nothing to ack). */
  readonly inflight = new InflightTable<Inflight | null>();
  closed = false;

  constructor(readonly link: SessionLink, private readonly exchange: Exchange, private readonly shape: SessionShape) {}

  /** The session's existing queues (a persistent session coming back), consumed again. */
  resume(): void {
    for (const qos of [0, 1]) {
      const queue = this.link.vhost.queues.get(queueName(this.link.clientId, qos));
      if (!queue) continue;
      this.queues[qos] = queue;
      for (const b of this.exchange.router.bindings()) {
        if (b.destination !== queue) continue;
        const filter = bindingKeyToFilter(b.routingKey);
        this.subscriptions.set(filter, { filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 });
      }
      this.consume(qos);
    }
  }

  /** MQTT 5 DISCONNECT with session expiry 0: the queues go when the connection does. */
  endWithConnection(): void {
    this.shape.expiryMs = 0;
  }

  /** Whether a persistent session's queues exist (CONNACK session present). */
  static exists(vhost: Vhost, clientId: string): boolean {
    return vhost.queues.has(queueName(clientId, 0)) || vhost.queues.has(queueName(clientId, 1));
  }

  /** Clean start: the old session's queues go. */
  static discard(vhost: Vhost, clientId: string): void {
    for (const qos of [0, 1]) {
      const queue = vhost.queues.get(queueName(clientId, qos));
      if (queue) vhost.deleteQueue(queue);
    }
  }

  /**
   * Subscribes (or changes a subscription's QoS); returns the granted QoS and whether it is new.
   * Throws AmqpError when the user may not (the caller answers with a failure code).
   */
  subscribe(sub: Subscription): { granted: number; isNew: boolean } {
    const granted = Math.min(sub.qos, 1);
    const key = filterToBindingKey(sub.filter);
    const link = this.link;
    checkTopic(link, this.exchange, key, "read");
    const queue = this.ensureQueue(granted);
    checkWrite(link, "queue", queue.name);
    checkRead(link, "exchange", this.exchange.name);
    const previous = this.subscriptions.get(sub.filter);
    if (previous && Math.min(previous.qos, 1) !== granted) {
      const old = this.queues[Math.min(previous.qos, 1)];
      if (old) link.vhost.unbind(this.exchange, old, key, {});
    }
    link.vhost.bind(this.exchange, queue, key, {});
    this.subscriptions.set(sub.filter, { ...sub, qos: granted });
    this.consume(granted);
    return { granted, isNew: previous === undefined };
  }

  /** Returns whether there was such a subscription. */
  unsubscribe(filter: string): boolean {
    const sub = this.subscriptions.get(filter);
    if (!sub) return false;
    this.subscriptions.delete(filter);
    const queue = this.queues[sub.qos];
    if (queue && !queue.deleted) this.link.vhost.unbind(this.exchange, queue, filterToBindingKey(filter), {});
    return true;
  }

  private ensureQueue(qos: number): Queue {
    const existing = this.queues[qos];
    if (existing && !existing.deleted) return existing;
    const link = this.link;
    const name = queueName(link.clientId, qos);
    const found = link.vhost.queues.get(name);
    if (found) return (this.queues[qos] = found);
    checkConfigure(link, "queue", name);
    const { expiryMs } = this.shape;
    const args: FieldTable = {};
    let durable: boolean;
    let autoDelete: boolean;
    if (expiryMs === 0) {
      // A clean session's queues go with the connection (RabbitMQ: qos0 transient, qos1 durable).
      durable = qos === 1;
      autoDelete = true;
    } else {
      durable = true;
      autoDelete = false;
      if (expiryMs !== null) args["x-expires"] = expiryMs;
    }
    const queue = link.vhost.declareQueue({ name, durable, exclusive: false, autoDelete, args }, link);
    return (this.queues[qos] = queue);
  }

  private consume(qos: number): void {
    const queue = this.queues[qos];
    if (!queue || this.consumers[qos] || this.closed) return;
    checkRead(this.link, "queue", queue.name);
    const consumer = new SubscriptionConsumer(this, `mqtt-${this.link.clientId}-qos${qos}`, qos);
    this.consumers[qos] = consumer;
    queue.addConsumer(consumer);
    queue.drain();
  }

  canTake(qos: number): boolean {
    if (this.closed || !this.link.writable()) return false;
    return qos === 0 || this.inflight.size < this.link.inflightLimit;
  }

  deliver(queue: Queue, entry: QueueEntry, queueQos: number): void {
    const link = this.link;
    const message = entry.message;
    const d = fromAmqp(message, link.v5);
    // The subscriptions of this queue that match with MQTT's rules ($-topics, no-local).
    let qos = -1;
    let retain = false;
    const origin = link.v5 ? link.originOf(message.body) : undefined;
    for (const sub of this.subscriptions.values()) {
      if (sub.qos !== queueQos || !topicMatches(sub.filter, d.topic)) continue;
      if (sub.noLocal && origin === link.clientId) continue;
      qos = Math.max(qos, sub.qos);
      if (sub.retainAsPublished && d.retain) retain = true;
    }
    if (qos < 0) {
      queue.delivered(entry, true); // routed by a binding MQTT would not match: nothing to send
      return;
    }
    if (d.publishQos !== undefined) qos = Math.min(qos, d.publishQos);
    // MQTT 5: the expiry interval a subscriber gets is what is left of it.
    if (d.properties.messageExpiry !== undefined && entry.expiresAt !== 0) {
      d.properties.messageExpiry = Math.max(1, Math.ceil((entry.expiresAt - Date.now()) / 1000));
    }
    const packetId = qos > 0 ? this.allocatePacketId() : 0;
    const sent = link.sendPublish({
      topic: d.topic,
      qos,
      retain,
      dup: qos > 0 && entry.redelivered,
      packetId,
      properties: d.properties,
      payload: message.body,
    });
    if (qos === 0 || !sent) {
      queue.delivered(entry, true); // too large for the client: dropped, as the spec says
      queue.counters.deliverNoAck++;
      return;
    }
    this.inflight.add(packetId, { queue, entry });
    queue.delivered(entry, false);
    queue.counters.deliver++;
    if (entry.redelivered) queue.counters.redeliver++;
  }

  /** A retained message to send on subscribe (no queue behind it). */
  sendRetained(p: Omit<OutgoingPublish, "packetId">): void {
    if (this.inflight.size >= 65535) p = { ...p, qos: 0 }; // every packet id in use
    const packetId = p.qos > 0 ? this.allocatePacketId() : 0;
    if (this.link.sendPublish({ ...p, packetId }) && p.qos > 0) this.inflight.add(packetId, null);
  }

  private allocatePacketId(): number {
    return this.inflight.allocate();
  }

  /** PUBACK from the client; false for an unknown packet id. */
  acked(packetId: number): boolean {
    const delivery = this.inflight.take(packetId);
    if (delivery === undefined) return false;
    if (delivery === null) return true;
    delivery.queue.discard(delivery.entry);
    delivery.queue.counters.ack++;
    delivery.queue.drain();
    return true;
  }

  /** The socket can take more: queues deliver again. */
  resumeDeliveries(): void {
    for (const queue of this.queues) if (queue && !queue.deleted) queue.drain();
  }

  queueGone(queue: Queue): void {
    const qos = this.queues.indexOf(queue);
    if (qos < 0) return;
    this.queues[qos] = undefined;
    this.consumers[qos] = undefined;
    for (const [filter, sub] of this.subscriptions) if (sub.qos === qos) this.subscriptions.delete(filter);
    this.inflight.removeWhere((d) => d?.queue === queue);
  }

  /**
   * The connection went: unacknowledged deliveries go back to their queues, consumers are
   * removed, and a session that ends with its connection takes its queues along.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const touched = new Set<Queue>();
    for (const d of this.inflight.valuesInIdOrder()) {
      if (!d || d.queue.deleted) continue;
      d.queue.requeue(d.entry);
      touched.add(d.queue);
    }
    this.inflight.clear();
    const vhost = this.link.vhost;
    for (let qos = 0; qos < 2; qos++) {
      const queue = this.queues[qos];
      const consumer = this.consumers[qos];
      if (!queue || !consumer) continue;
      queue.removeConsumer(consumer);
      if (this.shape.expiryMs === 0 && !queue.deleted) vhost.deleteQueue(queue);
      else vhost.consumerRemoved(queue);
    }
    for (const queue of touched) if (!queue.deleted) queue.drain();
  }
}

/** Whether a permission failure (AmqpError ACCESS_REFUSED) or another failure. */
export function isRefusal(err: unknown): err is AmqpError {
  return err instanceof AmqpError && err.code === 403;
}
