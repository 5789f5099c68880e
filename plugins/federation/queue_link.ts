// A queue link (rabbit_federation_queue_link): the local queue pulls from the upstream queue of
// the same name, but only while it has a consumer ready for more and nothing of its own to give
// it (rabbit_federation_queue: run when empty with an active consumer, else pause), so messages
// move to where they are consumed. The link consumes upstream at priority -1, so consumers
// there are served first.
import { type FieldTable, Typed } from "../../src/amqp/table.ts";
import type { Queue } from "../../src/broker/queue.ts";
import type { ClientChannel, ClientConnection, Delivery } from "../../src/client/mod.ts";
import { ReplyCode } from "../../src/amqp/spec/constants.gen.ts";
import { ROUTING_HEADER } from "./headers.ts";
import { LinkBase, type LinkContext, propertiesOf } from "./link.ts";
import type { LinkStatusEntry } from "./status.ts";
import type { Upstream } from "./upstreams.ts";

/** How often a running link looks at the local queue's demand. */
export const DEMAND_POLL_MS = 50;

export class QueueLink extends LinkBase {
  private channel: ClientChannel | undefined;
  private consuming = false;
  private pending: Promise<void> = Promise.resolve();
  private poll: ReturnType<typeof setInterval> | undefined;

  constructor(ctx: LinkContext, upstream: Upstream, status: LinkStatusEntry, private readonly queue: Queue) {
    super(ctx, upstream, status);
  }

  protected async setUp(connection: ClientConnection, generation: number): Promise<void> {
    const u = this.upstream;
    const q = this.queue;
    this.consuming = false;
    const caps = connection.serverProperties["capabilities"] as FieldTable | undefined;
    if (caps?.["consumer_priorities"] !== true) throw new Error("upstream_lacks_consumer_priorities");
    const channel = (this.channel = await connection.openChannel());
    // Declared like the local queue unless it exists (a passive declare on its own channel).
    const probe = await connection.openChannel();
    const exists = await probe.declareQueue(u.queue, { passive: true }).then(() => true, (err) => {
      if ((err as { code?: number }).code === ReplyCode.NOT_FOUND) return false;
      throw err;
    });
    if (exists) await probe.close().catch(() => {});
    else await channel.declareQueue(u.queue, { durable: q.durable, autoDelete: q.autoDelete, arguments: q.args });
    if (u.ackMode !== "no-ack") await channel.qos(u.prefetchCount);
    this.poll = setInterval(() => this.adjust(generation), DEMAND_POLL_MS);
    (this.poll as { unref?: () => void }).unref?.();
    this.adjust(generation);
  }

  protected override stopTimers(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
  }

  /** Queue links leave the upstream queue alone: it is the upstream's own queue. */
  protected async cleanUp(): Promise<void> {}

  /** Runs or pauses the upstream consumer as local demand says. */
  private adjust(generation: number): void {
    const channel = this.channel;
    if (!channel || generation !== this.generation) return;
    const q = this.queue;
    const demand = q.messageCount === 0 && q.consumers.some((c) => c.priority >= 0 && c.canTake(q));
    if (demand === this.consuming) return;
    this.consuming = demand;
    const u = this.upstream;
    this.pending = this.pending.then(async () => {
      if (generation !== this.generation) return;
      if (demand) {
        await channel.consume(u.queue, (d) => this.deliver(channel, d, generation), {
          noAck: u.ackMode === "no-ack",
          consumerTag: u.consumerTag,
          arguments: { "x-priority": new Typed("l", -1) },
          onCancel: () => this.failed(new Error(`upstream queue '${u.queue}' was deleted (basic.cancel)`), generation),
        });
      } else {
        await channel.cancel(u.consumerTag);
      }
    }).catch((err) => this.failed(err as Error, generation));
  }

  /** A message from upstream: into the local queue (update_headers: visit counts, original source). */
  private deliver(channel: ClientChannel, d: Delivery, generation: number): void {
    if (generation !== this.generation) return;
    const props = propertiesOf(d);
    const headers: FieldTable = { ...props.headers };
    const been = headers[ROUTING_HEADER];
    const me: FieldTable = { uri: this.uri, queue: this.queue.name };
    let count = 0;
    let rest: unknown[] = [];
    if (Array.isArray(been)) {
      for (const entry of been) {
        const t = entry as FieldTable;
        if (t && typeof t === "object" && t["uri"] === me["uri"] && t["queue"] === me["queue"]) count = Number(t["visit-count"] ?? 0);
        else rest.push(entry);
      }
    } else {
      headers["x-original-exchange"] = d.exchange;
      headers["x-original-routing-key"] = d.routingKey;
      rest = [];
    }
    if (headers["CC"] !== undefined) {
      headers["x-original-cc"] = headers["CC"]!;
      delete headers["CC"];
    }
    headers[ROUTING_HEADER] = [{ ...me, redelivered: d.redelivered, "visit-count": new Typed("l", count + 1) }, ...(rest as FieldTable[])];
    props.headers = headers;
    if (!this.upstream.trustUserId) delete props.userId;
    const local = this.ctx.broker.vhosts.get(this.queue.vhost)?.exchanges.get("");
    if (!local || this.queue.deleted) {
      this.settle(channel, d.deliveryTag, false);
      return;
    }
    this.forward(channel, d, local, this.queue.name, props);
  }
}
