// An exchange link, as rabbit_federation_exchange_link makes it, so that RabbitMQ and Warren
// interoperate: on the upstream, a durable queue "federation: <X> -> <our cluster_name>" bound
// from an internal auto-delete exchange "… A" or "… B" (alternating per start) of type
// x-federation-upstream, which the upstream exchange feeds through one exchange-to-exchange
// binding per local binding (carrying x-bound-from); messages consumed from that queue are
// published to the local exchange with x-received-from prepended, unless they have made
// max-hops hops or have been here before.
import { ReplyCode } from "../../src/amqp/spec/constants.gen.ts";
import { type FieldTable, Typed } from "../../src/amqp/table.ts";
import type { Exchange } from "../../src/broker/exchange.ts";
import { type ClientChannel, type ClientConnection, connect, type Delivery } from "../../src/client/mod.ts";
import { alreadySeen, BINDING_HEADER, hopsOf, prependTableHeader, ROUTING_HEADER, short, shouldForward } from "./headers.ts";
import { LinkBase, type LinkContext, propertiesOf } from "./link.ts";
import type { LinkStatusEntry } from "./status.ts";
import type { Suffix, Suffixes } from "./suffixes.ts";
import type { Upstream } from "./upstreams.ts";
import { DOWNSTREAM_NAME_ARG, DOWNSTREAM_VHOST_ARG, MAX_HOPS_ARG } from "./upstream_exchange.ts";

/** How often a running link checks that its upstream queue and exchanges still exist. */
let checkIntervalMs = 10_000;

/** Changes the check interval for links started from now on (tests; RabbitMQ's internal_exchange_check_interval). */
export function setCheckInterval(ms: number): void {
  checkIntervalMs = ms;
}

const long = (n: number) => new Typed("l", n);

export class ExchangeLink extends LinkBase {
  private channel: ClientChannel | undefined;
  private commands: ClientChannel | undefined;
  private queueName = "";
  private internalExchange = "";
  private suffix: Suffix = "A";
  private upstreamCluster = "";
  private upstreamVhost = "/";
  /** Upstream bindings made, by their identity (key and arguments). */
  private readonly bound = new Map<string, { key: string; args: FieldTable }>();
  private syncing: Promise<void> = Promise.resolve();
  private syncQueued = false;
  /** The internal exchange is bound: binding changes may be synced. */
  private syncReady = false;
  private checkTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    ctx: LinkContext,
    upstream: Upstream,
    status: LinkStatusEntry,
    private readonly exchange: Exchange,
    private readonly suffixes: Suffixes,
  ) {
    super(ctx, upstream, status);
  }

  private get cluster(): string {
    return this.ctx.broker.clusterName;
  }

  protected async setUp(connection: ClientConnection, generation: number): Promise<void> {
    const u = this.upstream;
    const x = this.exchange;
    this.bound.clear();
    this.syncReady = false;
    this.upstreamCluster = connection.clusterName;
    this.upstreamVhost = connection.uri.vhost;
    const channel = (this.channel = await connection.openChannel());
    this.commands = await connection.openChannel();
    // The upstream queue (consume_from_upstream_queue).
    this.queueName = upstreamQueueName(u.exchange, this.upstreamVhost, x.name, x.vhost, this.cluster);
    const args: FieldTable = {};
    if (u.expires !== undefined) args["x-expires"] = long(u.expires);
    if (u.messageTtl !== undefined) args["x-message-ttl"] = long(u.messageTtl);
    args["x-internal-purpose"] = "federation";
    if (u.queueType === "quorum") args["x-queue-type"] = "quorum";
    await channel.declareQueue(this.queueName, { durable: true, arguments: args });
    if (u.ackMode !== "no-ack") await channel.qos(u.prefetchCount);
    await channel.consume(this.queueName, (d) => this.deliver(channel, d, generation), {
      noAck: u.ackMode === "no-ack",
      onCancel: () => this.failed(new Error(`upstream queue '${this.queueName}' was deleted (basic.cancel)`), generation),
    });
    // The upstream exchange and the internal one (ensure_upstream_bindings).
    const old = this.suffixes.get(x.vhost, x.name, u.name);
    this.suffix = old === "A" ? "B" : "A";
    this.internalExchange = `${this.queueName} ${this.suffix}`;
    await this.ensureUpstreamExchange(connection);
    await this.declareInternalExchange(connection);
    await channel.bindQueue(this.queueName, this.internalExchange, "");
    this.suffixes.set(x.vhost, x.name, u.name, this.suffix);
    this.syncReady = true;
    this.syncing = this.sync(generation);
    await this.syncing;
    await this.disposable(connection, (ch) => ch.deleteExchange(`${this.queueName} ${old}`));
    this.checkTimer = setInterval(() => {
      // A check cut short by the connection going away is that failure's business, not its own.
      this.check(generation).catch((err) => this.failed(err as Error, generation));
    }, checkIntervalMs);
    (this.checkTimer as { unref?: () => void }).unref?.();
  }

  protected override stopTimers(): void {
    this.syncReady = false;
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = undefined;
  }

  protected async cleanUp(connection: ClientConnection): Promise<void> {
    if (this.queueName === "") return;
    await this.disposable(connection, (ch) => ch.deleteQueue(this.queueName).then(() => {}));
    // Both suffixes: a start cut short may have left the other one, unbound (so never auto-deleted).
    for (const suffix of ["A", "B"]) await this.disposable(connection, (ch) => ch.deleteExchange(`${this.queueName} ${suffix}`));
  }

  bindingsChanged(): void {
    const generation = this.generation;
    if (!this.syncReady || this.syncQueued) return;
    this.syncQueued = true;
    this.syncing = this.syncing.then(() => {
      this.syncQueued = false;
      return this.sync(generation);
    }).catch((err) => this.failed(err as Error, generation));
  }

  /** A message from upstream: forwarded with x-received-from, unless past max-hops or a cycle. */
  private deliver(channel: ClientChannel, d: Delivery, generation: number): void {
    if (generation !== this.generation) return;
    const props = propertiesOf(d);
    if (!shouldForward(props.headers, this.upstream.maxHops, this.cluster, this.exchange.vhost)) {
      this.settle(channel, d.deliveryTag, true); // dropped, as RabbitMQ does: acked, not published
      return;
    }
    const entry: FieldTable = { uri: this.uri, exchange: this.exchange.name, redelivered: d.redelivered };
    if (this.upstreamCluster !== "") entry["cluster-name"] = this.upstreamCluster;
    entry["vhost"] = this.upstreamVhost;
    props.headers = prependTableHeader(props.headers, ROUTING_HEADER, entry);
    if (!this.upstream.trustUserId) delete props.userId;
    this.forward(channel, d, this.exchange, d.routingKey, props);
  }

  /** Brings the upstream exchange-to-exchange bindings in line with the local bindings. */
  private async sync(generation: number): Promise<void> {
    const commands = this.commands;
    if (!commands || generation !== this.generation) return;
    const wanted = new Map<string, { key: string; args: FieldTable }>();
    for (const b of this.exchange.router.bindings()) {
      const args = this.upstreamBindingArgs(b.args);
      if (args) wanted.set(identity(b.routingKey, args), { key: b.routingKey, args });
    }
    for (const [id, b] of [...this.bound]) {
      if (wanted.has(id)) continue;
      await commands.unbindExchange(this.internalExchange, this.upstream.exchange, b.key, b.args);
      this.bound.delete(id);
    }
    for (const [id, b] of wanted) {
      if (this.bound.has(id)) continue;
      await commands.bindExchange(this.internalExchange, this.upstream.exchange, b.key, b.args);
      this.bound.set(id, b);
    }
  }

  /**
   * The arguments of the upstream binding for a local one (update_binding): x-bound-from names
   * us with the hops left; a binding that itself came from a downstream travels one hop less,
   * and none travels back to where it came from.
   */
  private upstreamBindingArgs(args: FieldTable): FieldTable | undefined {
    const from = args[BINDING_HEADER];
    let hops: number;
    if (!Array.isArray(from)) hops = this.upstream.maxHops;
    else if (alreadySeen(this.upstreamCluster, this.upstreamVhost, from)) hops = 0;
    else hops = Math.min(hopsOf(from[0]) - 1, this.upstream.maxHops);
    if (hops <= 0) return undefined;
    const x = this.exchange;
    return prependTableHeader(args, BINDING_HEADER, {
      "cluster-name": this.cluster,
      vhost: x.vhost,
      exchange: `${x.vhost}:${x.name} ${this.suffix}`,
      hops: short(hops),
    });
  }

  /** Declares the upstream exchange like ours unless it exists (ensure_upstream_exchange). */
  private async ensureUpstreamExchange(connection: ClientConnection): Promise<void> {
    const x = this.exchange;
    const name = this.upstream.exchange;
    const exists = await this.disposable(
      connection,
      (ch) => ch.declareExchange(name, x.type, { passive: true }).then(() => true),
      ReplyCode.NOT_FOUND,
    );
    if (exists === true) return;
    await this.channel!.declareExchange(name, x.type, {
      durable: x.durable,
      autoDelete: x.autoDelete,
      internal: x.internal,
      arguments: x.args,
    });
  }

  /**
   * The internal exchange, of type x-federation-upstream (a fanout on an upstream without
   * federation: the unknown type closes the connection, so it is tried on one of its own).
   */
  private async declareInternalExchange(connection: ClientConnection): Promise<void> {
    const name = this.internalExchange;
    await this.disposable(connection, (ch) => ch.deleteExchange(name));
    const args: FieldTable = {
      [MAX_HOPS_ARG]: long(this.upstream.maxHops),
      [DOWNSTREAM_NAME_ARG]: this.cluster,
      [DOWNSTREAM_VHOST_ARG]: this.exchange.vhost,
      "x-internal-purpose": "federation",
    };
    const options = { durable: true, internal: true, autoDelete: true };
    let probe: ClientConnection | undefined;
    try {
      probe = await connect({
        uri: connection.uri.uri,
        connectionName: `Federation link (upstream: ${this.upstream.name}, policy: ${this.ctx.policyName()})`,
        direct: { broker: this.ctx.broker, user: (vhost) => this.ctx.directUser(vhost) },
      });
      const ch = await probe.openChannel();
      await ch.declareExchange(name, "x-federation-upstream", { ...options, arguments: args });
    } catch (err) {
      if ((err as { code?: number }).code !== ReplyCode.COMMAND_INVALID) throw err;
      await this.channel!.declareExchange(name, "fanout", { ...options, arguments: { "x-internal-purpose": "federation" } });
    } finally {
      probe?.close().catch(() => probe?.terminate());
    }
  }

  /** Periodically: the upstream queue and both exchanges still exist, else error and re-establish. */
  private async check(generation: number): Promise<void> {
    const connection = this.connection;
    if (!connection || generation !== this.generation) return;
    const gone = async (what: string, probe: (ch: ClientChannel) => Promise<unknown>) =>
      (await this.disposable(connection, (ch) => probe(ch).then(() => undefined), ReplyCode.NOT_FOUND)) === false ? what : undefined;
    const missing = (await gone(
      `upstream exchange '${this.upstream.exchange}'`,
      (ch) => ch.declareExchange(this.upstream.exchange, this.exchange.type, { passive: true }),
    )) ??
      (await gone(`upstream queue '${this.queueName}'`, (ch) => ch.declareQueue(this.queueName, { passive: true }))) ??
      (await gone(
        `upstream exchange '${this.internalExchange}'`,
        (ch) => ch.declareExchange(this.internalExchange, "x-federation-upstream", { passive: true }),
      ));
    if (missing !== undefined) this.failed(new Error(`${missing} disappeared (404 NOT_FOUND)`), generation);
  }

  /**
   * Runs `fn` on a channel of its own (a failed method closes only that channel). Resolves to
   * fn's value, or false when it failed with `tolerated` (else rethrows).
   */
  private async disposable<T>(connection: ClientConnection, fn: (ch: ClientChannel) => Promise<T>, tolerated?: number): Promise<T | false> {
    const ch = await connection.openChannel();
    try {
      const value = await fn(ch);
      await ch.close().catch(() => {});
      return value;
    } catch (err) {
      if (tolerated !== undefined && (err as { code?: number }).code === tolerated) return false;
      if (tolerated === undefined && (err as { connectionLevel?: boolean }).connectionLevel === false) return false;
      throw err;
    }
  }
}

/** upstream_queue_name: "federation: X -> cluster" with ":vhost:name" or ":name" when those differ. */
export function upstreamQueueName(upstreamX: string, upstreamVhost: string, localX: string, localVhost: string, cluster: string): string {
  const down = localVhost !== upstreamVhost ? `:${localVhost}:${localX}` : localX !== upstreamX ? `:${localX}` : "";
  return `federation: ${upstreamX} -> ${cluster}${down}`;
}

function identity(key: string, args: FieldTable): string {
  return `${key}\u0000${JSON.stringify(args, (_k, v) => (typeof v === "bigint" ? String(v) : v instanceof Typed ? [v.type, v.value] : v))}`;
}
