// What exchange and queue links share (rabbit_federation_link_util): connect to one of the
// upstream's URIs, set up, report status, and on any failure report the error, drop the
// connection and try again after reconnect-delay; publish what arrives into the local broker
// through the one publish pipeline and settle it upstream by the ack mode (on-confirm: only
// once the local store has committed it).
import type { Broker } from "../../src/broker/broker.ts";
import type { Exchange } from "../../src/broker/exchange.ts";
import { Message } from "../../src/broker/message.ts";
import { publish, type PublishContext, Published } from "../../src/broker/publish.ts";
import type { Logger } from "../../src/log.ts";
import {
  type BasicProperties,
  type ClientChannel,
  type ClientConnection,
  connect,
  decodeProperties,
  type Delivery,
  encodeProperties,
} from "../../src/client/mod.ts";
import { Reader } from "../../src/amqp/reader.ts";
import { Writer } from "../../src/amqp/writer.ts";
import type { Link } from "./supervisor.ts";
import { describe } from "./supervisor.ts";
import type { LinkStatusEntry } from "./status.ts";
import type { Upstream } from "./upstreams.ts";
import { withDefaultVhost, withoutCredentials } from "./uri.ts";

/** What a link needs of the broker and the plugin. */
export interface LinkContext {
  readonly broker: Broker;
  readonly log: Logger;
  /** Counts messages published downstream (Prometheus). */
  forwarded(): void;
  /** The policy's name, for the connection name "Federation link (upstream: U, policy: P)". */
  policyName(): string;
  /** The user a link to this broker (`amqp://` without host or credentials) acts as in a vhost. */
  directUser(vhost: string): string;
}

export abstract class LinkBase implements Link {
  protected connection: ClientConnection | undefined;
  protected stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped at each attempt: callbacks of an older connection do nothing. */
  protected generation = 0;
  /** The URI of this attempt (one of the upstream's, picked at random as RabbitMQ does), without credentials. */
  protected uri = "";
  private readonly publishCtx: PublishContext;
  /** The connect-and-set-up of the current attempt, while under way. */
  private settingUp: Promise<void> | undefined;

  constructor(protected readonly ctx: LinkContext, readonly upstream: Upstream, readonly status: LinkStatusEntry) {
    const vhost = ctx.broker.vhosts.get(status.vhost)!;
    // Counted like a client's publishes (the overview's rates, exchange counters).
    this.publishCtx = { scope: vhost, stats: ctx.broker.stats, confirm: false, queues: new Set() };
  }

  start(): void {
    this.attempt();
  }

  async stop(forGood: boolean): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.generation++;
    // A set-up under way would declare again what the clean-up removes: let it finish first.
    if (forGood && this.settingUp) {
      await Promise.race([this.settingUp, new Promise((r) => (setTimeout(r, 5000) as { unref?: () => void }).unref?.())]);
    }
    const connection = this.connection;
    this.connection = undefined;
    this.stopTimers();
    if (!connection) return;
    if (forGood && this.upstream.resourceCleanupMode !== "never") {
      try {
        await this.cleanUp(connection);
      } catch (err) {
        this.ctx.log.warning(`link ${describe(this.status)}: could not remove upstream resources: ${(err as Error).message}`);
      }
    }
    await connection.close().catch(() => connection.terminate());
    this.ctx.log.info(`link ${describe(this.status)} stopped`);
  }

  restart(): void {
    if (this.stopped) return;
    this.status.nodes.lost("restarted");
    this.drop();
    if (this.timer) clearTimeout(this.timer);
    this.attempt();
  }

  /** Declares, binds and starts consuming on a fresh connection. */
  protected abstract setUp(connection: ClientConnection, generation: number): Promise<void>;
  /** The link stops for good: delete what it made upstream. */
  protected abstract cleanUp(connection: ClientConnection): Promise<void>;
  /** Timers of a running link (checks), stopped with it. */
  protected stopTimers(): void {}

  private attempt(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.report("starting");
    const settingUp = this.connectAndSetUp(generation);
    this.settingUp = settingUp;
    void settingUp.finally(() => {
      if (this.settingUp === settingUp) this.settingUp = undefined;
    });
  }

  private async connectAndSetUp(generation: number): Promise<void> {
    let connection: ClientConnection | undefined;
    try {
      connection = await connect({
        uri: withDefaultVhost(this.pickUri(), this.status.vhost),
        connectionName: `Federation link (upstream: ${this.upstream.name}, policy: ${this.ctx.policyName()})`,
        direct: { broker: this.ctx.broker, user: (vhost) => this.ctx.directUser(vhost) },
      });
      if (generation !== this.generation) return void connection.close().catch(() => {});
      this.connection = connection;
      const failover = this.status.nodes.connected(connection);
      if (failover) {
        this.ctx.log.warning(`link ${describe(this.status)} failed over from ${failover.from} to ${failover.to} (${failover.reason})`);
      }
      connection.onClose((err) => {
        if (generation === this.generation) this.failed(err ?? new Error("connection closed"), generation);
      });
      await this.setUp(connection, generation);
      if (generation !== this.generation) return;
      this.report("running");
      this.ctx.log.info(`link ${describe(this.status)} running`);
    } catch (err) {
      if (generation === this.generation) this.failed(err as Error, generation);
      else connection?.terminate();
    }
  }

  private pickUri(): string {
    const uris = this.upstream.uris;
    const uri = uris[Math.floor(Math.random() * uris.length)] ?? "";
    this.uri = withoutCredentials(uri);
    this.status.uri = this.uri;
    return uri;
  }

  /** Reports the error, drops the connection, and tries again after reconnect-delay. */
  protected failed(err: Error, generation: number): void {
    if (generation !== this.generation || this.stopped) return;
    this.generation++;
    const reason = errorText(err);
    this.status.nodes.lost(err.message);
    this.ctx.log.warning(`link ${describe(this.status)} failed: ${err.message}; retrying in ${this.upstream.reconnectDelay} s`);
    this.report("error", reason);
    this.drop();
    this.timer = setTimeout(() => this.attempt(), Math.max(0, this.upstream.reconnectDelay) * 1000);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private drop(): void {
    this.stopTimers();
    const connection = this.connection;
    this.connection = undefined;
    connection?.close().catch(() => connection.terminate());
  }

  protected report(state: "starting" | "running" | "error", error?: string): void {
    this.status.state = state;
    this.status.error = error;
    this.status.localConnection = state === "running"
      ? `Federation link (upstream: ${this.upstream.name}, policy: ${this.ctx.policyName()})`
      : undefined;
    this.status.timestamp = new Date();
  }

  /**
   * Publishes a delivery from upstream into `exchange` with rewritten properties, then settles
   * it upstream by the ack mode (rabbit_federation_link_util:forward).
   */
  protected forward(channel: ClientChannel, d: Delivery, exchange: Exchange, routingKey: string, props: BasicProperties): void {
    const w = new Writer(d.properties.length + 256);
    encodeProperties(w, props);
    const message = new Message(exchange.name, routingKey, w.written().slice(), d.body);
    let outcome: number;
    try {
      outcome = publish(this.publishCtx, exchange, message, false);
    } catch (err) {
      // An invalid expiration, say: it can never be published here; RabbitMQ drops it too.
      this.ctx.log.warning(`link ${describe(this.status)}: dropping a message: ${(err as Error).message}`);
      outcome = Published.unroutable;
    }
    this.ctx.forwarded();
    this.settle(channel, d.deliveryTag, (outcome & Published.rejected) === 0);
  }

  /** Acks (or nacks, to requeue) upstream, after the local commit for on-confirm. */
  protected settle(channel: ClientChannel, deliveryTag: number, ok: boolean): void {
    const mode = this.upstream.ackMode;
    if (mode === "no-ack") return;
    const generation = this.generation;
    const done = () => {
      if (generation !== this.generation) return; // that channel is gone: upstream redelivers
      if (ok) channel.ack(deliveryTag);
      else channel.nack(deliveryTag, false, true);
    };
    const store = this.ctx.broker.store;
    if (mode === "on-confirm" && store) store.afterCommit(done);
    else done();
  }
}

/** The delivery's properties, decoded (a copy the link may change). */
export function propertiesOf(d: Delivery): BasicProperties {
  return { ...decodeProperties(new Reader(d.properties)) };
}

/** How status shows an error: "econnrefused" and the like for sockets, else the server's text. */
export function errorText(err: Error): string {
  const m = /\((E[A-Z]+)\)/.exec(err.message);
  if (m) return m[1]!.toLowerCase();
  return err.message;
}
