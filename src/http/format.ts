// JSON shapes of the management API objects, as RabbitMQ 3.10's management plugin renders them.
// Fields that describe Erlang internals (garbage_collection, reductions) have no counterpart here
// and are left out; docs/http-api.md lists every omission.
import type { AmqpBroker, AmqpConnection as Connection, Channel, Consumer } from "../connection/channel.ts";
import type { Destination, Exchange } from "../broker/exchange.ts";
import { Exchange as ExchangeClass } from "../broker/exchange.ts";
import type { Queue } from "../broker/queue.ts";
import type { Vhost } from "../broker/vhost.ts";
import type { FieldTable } from "../amqp/table.ts";
import type { BoundTo } from "../routing/router.ts";
import { type Json, type JsonObject, tableToJson } from "./json.ts";
import { propertiesKey } from "./properties_key.ts";
import { CHANNEL_SERIES, CONNECTION_SERIES, EXCHANGE_SERIES, QUEUE_SERIES, type RateSampler } from "./rates.ts";
import type { UnackedTotals } from "./unacked.ts";

const NO_UNACKED: UnackedTotals = { count: 0, bytes: 0 };

/** `{name: n, name_details: {rate}}` pairs for each series. */
function withDetails(names: readonly string[], values: number[], rates: number[]): JsonObject {
  const out: JsonObject = {};
  names.forEach((name, i) => {
    out[name] = values[i]!;
    out[`${name}_details`] = { rate: rates[i] ?? 0 };
  });
  return out;
}

export function formatQueue(broker: AmqpBroker, queue: Queue, unacked: UnackedTotals | undefined, rates: RateSampler): JsonObject {
  const u = unacked ?? NO_UNACKED;
  const c = queue.counters;
  const r = rates.rates(queue, QUEUE_SERIES.length);
  const ready = queue.messageCount;
  const inMemory = ready - queue.pagedOut;
  const stats = withDetails(
    ["publish", "deliver", "deliver_no_ack", "get", "get_no_ack", "get_empty", "ack", "redeliver"],
    [c.publish, c.deliver, c.deliverNoAck, c.get, c.getNoAck, c.getEmpty, c.ack, c.redeliver],
    r.slice(0, 8),
  );
  stats.deliver_get = c.deliver + c.deliverNoAck + c.get + c.getNoAck;
  stats.deliver_get_details = { rate: round(r[1]! + r[2]! + r[3]! + r[4]!) };
  const node = broker.alarms.node;
  const common: JsonObject = {
    name: queue.name,
    vhost: queue.vhost,
    type: queue.type,
    durable: queue.durable,
    auto_delete: queue.autoDelete,
    exclusive: queue.owner !== null,
    arguments: tableToJson(queue.args),
    node,
    state: "running",
    policy: queue.policy?.name ?? null,
    operator_policy: queue.operatorPolicy?.name ?? null,
    effective_policy_definition: { ...queue.effectivePolicy } as JsonObject,
    // A classic queue under an ha-mode policy shows its (here: no) mirrors, as RabbitMQ does.
    ...(queue.type === "classic" && queue.effectivePolicy["ha-mode"] !== undefined
      ? { slave_nodes: [], synchronised_slave_nodes: [], recoverable_slaves: null }
      : {}),
    consumers: queue.consumerCount,
    messages: ready + u.count,
    messages_details: { rate: r[8]! },
    messages_ready: ready,
    messages_ready_details: { rate: r[9]! },
    messages_unacknowledged: u.count,
    messages_unacknowledged_details: { rate: r[10]! },
    messages_ram: inMemory + u.count,
    message_bytes: queue.readyBytes + u.bytes,
    message_bytes_ready: queue.readyBytes,
    message_bytes_unacknowledged: u.bytes,
    message_bytes_ram: queue.readyBytes - queue.pagedOutBytes + u.bytes,
    messages_persistent: queue.persistentCount,
    message_bytes_persistent: queue.persistentBytes,
    // Memory this queue holds: message bodies in memory (the index adds a few dozen bytes each).
    memory: queue.readyBytes - queue.pagedOutBytes + u.bytes + 64 * (inMemory + u.count),
    // As RabbitMQ: message_stats appear once a message has been published or delivered.
    ...(hasTraffic(c) ? { message_stats: stats } : {}),
  };
  const sacTag = queue.singleActiveConsumer && queue.consumers[0] ? queue.consumers[0].tag : null;
  // A stream on one node: this node leads it and is its only (online) member, as a quorum queue.
  if (queue.type === "stream") return { ...common, leader: node, members: [node], online: [node] };
  if (queue.type === "quorum") {
    // A quorum queue on one node: this node leads it and is its only (online) member.
    return {
      ...common,
      leader: node,
      members: [node],
      online: [node],
      open_files: { [node]: 0 },
      single_active_consumer_ctag: sacTag,
      messages_dlx: 0,
      message_bytes_dlx: 0,
    };
  }
  const exclusiveConsumer = queue.consumers.find((x) => x.exclusive);
  return {
    ...common,
    exclusive_consumer_tag: exclusiveConsumer ? exclusiveConsumer.tag : null,
    single_active_consumer_tag: sacTag,
    messages_ready_ram: inMemory,
    messages_unacknowledged_ram: u.count,
    messages_paged_out: queue.pagedOut,
    message_bytes_paged_out: queue.pagedOutBytes,
    head_message_timestamp: null,
    recoverable_slaves: null,
    backing_queue_status: backingQueueStatus(queue, inMemory, r),
  };
}

/**
 * rabbit_variable_queue's status, as classic queues show it: what clients read from it (len,
 * mode, the rates, q1-q4 and delta) mapped onto Warren's queue: the in-memory window is q4,
 * the paged-out backlog is delta.
 */
function backingQueueStatus(queue: Queue, inMemory: number, r: number[]): JsonObject {
  const c = queue.counters;
  const published = c.publish;
  return {
    avg_ack_egress_rate: r[6] ?? 0,
    avg_ack_ingress_rate: 0,
    avg_egress_rate: round((r[1] ?? 0) + (r[2] ?? 0) + (r[3] ?? 0) + (r[4] ?? 0)),
    avg_ingress_rate: r[0] ?? 0,
    delta: ["delta", "undefined", queue.pagedOut, 0, "undefined"],
    len: queue.messageCount,
    mode: "default",
    next_deliver_seq_id: c.deliver + c.deliverNoAck + c.get + c.getNoAck,
    next_seq_id: published,
    q1: 0,
    q2: 0,
    q3: 0,
    q4: inMemory,
    target_ram_count: "infinity",
    version: 1,
  };
}

/** The extra fields of GET /api/queues/{vhost}/{name}. */
export function queueDetails(broker: AmqpBroker, queue: Queue): JsonObject {
  return {
    consumer_details: queue.consumers.map((c) => (c.describe ? (c.describe() as JsonObject) : formatConsumer(broker, c as Consumer))),
    deliveries: [],
    incoming: [],
  };
}

export function formatExchange(exchange: Exchange, rates: RateSampler): JsonObject {
  const r = rates.rates(exchange, EXCHANGE_SERIES.length);
  const out: JsonObject = {
    name: exchange.name,
    vhost: exchange.vhost,
    type: exchange.type,
    durable: exchange.durable,
    auto_delete: exchange.autoDelete,
    internal: exchange.internal,
    arguments: tableToJson(exchange.args),
  };
  if (exchange.policy) out.policy = exchange.policy.name; // present only while one applies, as in RabbitMQ
  if (exchange.exchangeType.info) Object.assign(out, exchange.exchangeType.info(exchange));
  // As RabbitMQ: message_stats appear once a message has gone through.
  const c = exchange.counters;
  if (c.publishIn > 0 || c.publishOut > 0) out.message_stats = withDetails(EXCHANGE_SERIES, [c.publishIn, c.publishOut], r);
  return out;
}

export interface BindingView {
  vhost: string;
  source: string;
  destination: string;
  destinationType: "queue" | "exchange";
  routingKey: string;
  args: FieldTable;
}

export function formatBinding(b: BindingView): JsonObject {
  return {
    source: b.source,
    vhost: b.vhost,
    destination: b.destination,
    destination_type: b.destinationType,
    routing_key: b.routingKey,
    arguments: tableToJson(b.args),
    properties_key: propertiesKey(b.routingKey, b.args),
  };
}

/** Every binding of a vhost, the implicit default-exchange bindings of its queues first. */
export function vhostBindings(vhost: Vhost): BindingView[] {
  const out: BindingView[] = [];
  for (const queue of vhost.queues.values()) out.push(defaultBinding(vhost, queue));
  for (const exchange of vhost.exchanges.values()) out.push(...exchangeBindings(exchange));
  return out;
}

export function exchangeBindings(exchange: Exchange): BindingView[] {
  return [...exchange.router.bindings()].map((b) => bindingView(exchange, b)).sort(compareBindings);
}

/**
 * The bindings to one queue or exchange, in vhostBindings' order, found through each exchange's
 * index (`Router.bindingsTo`) rather than by listing every binding of the vhost: with 45,000
 * bindings the list took 15 ms per request.
 */
export function bindingsTo(vhost: Vhost, destination: Destination): BindingView[] {
  const out: BindingView[] = destination instanceof ExchangeClass ? [] : [defaultBinding(vhost, destination)];
  for (const exchange of vhost.exchanges.values()) {
    if (exchange.name === "" || exchange.router.size === 0) continue;
    const between = bindingsBetween(vhost, exchange, destination);
    for (let i = 0; i < between.length; i++) out.push(between[i]!);
  }
  return out;
}

/** The bindings from `source` to `destination` (the default exchange's implicit one included), sorted as exchangeBindings sorts them. */
export function bindingsBetween(vhost: Vhost, source: Exchange, destination: Destination): BindingView[] {
  if (source.name === "") return destination instanceof ExchangeClass ? [] : [defaultBinding(vhost, destination)];
  const router = source.router;
  const out: BindingView[] = [];
  for (const b of router.bindingsTo ? router.bindingsTo(destination) : router.bindings()) {
    if (b.destination === destination) out.push(bindingView(source, b));
  }
  return out.length > 1 ? out.sort(compareBindings) : out;
}

function defaultBinding(vhost: Vhost, queue: Queue): BindingView {
  return { vhost: vhost.name, source: "", destination: queue.name, destinationType: "queue", routingKey: queue.name, args: {} };
}

function bindingView(exchange: Exchange, b: BoundTo<Destination>): BindingView {
  const d = b.destination;
  return {
    vhost: exchange.vhost,
    source: exchange.name,
    destination: d.name,
    destinationType: d instanceof ExchangeClass ? "exchange" : "queue",
    routingKey: b.routingKey,
    args: b.args,
  };
}

function compareBindings(a: BindingView, b: BindingView): number {
  return cmp(a.source, b.source) || cmp(a.destinationType, b.destinationType) || cmp(a.destination, b.destination) ||
    cmp(a.routingKey, b.routingKey) || cmp(JSON.stringify(a.args), JSON.stringify(b.args));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function peerHost(connection: Connection): string {
  const a = connection.socket.remoteAddress;
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}

export function formatConnection(broker: AmqpBroker, connection: Connection, rates: RateSampler): JsonObject {
  const r = rates.rates(connection, CONNECTION_SERIES.length);
  const running = connection.state === "running";
  return {
    name: connection.name,
    node: broker.alarms.node,
    type: "network",
    // As RabbitMQ names MQTT over WebSocket "Web MQTT".
    protocol: connection.socket.transport === "websocket" ? "Web AMQP 0-9-1" : "AMQP 0-9-1",
    state: running
      ? "running"
      : connection.blocked
      ? "blocked"
      : connection.state === "closing" || connection.state === "closed"
      ? "closing"
      : "starting",
    user: connection.user?.name ?? "",
    user_who_performed_action: connection.user?.name ?? "",
    vhost: connection.vhost?.name ?? "",
    auth_mechanism: connection.authMechanism,
    host: broker.listenAddress,
    port: connection.socket.localPort,
    peer_host: peerHost(connection),
    peer_port: connection.socket.remotePort,
    ssl: connection.socket.tls !== undefined && connection.socket.transport !== "direct",
    ssl_protocol: null,
    ssl_key_exchange: null,
    ssl_cipher: null,
    ssl_hash: null,
    peer_cert_subject: null,
    peer_cert_issuer: null,
    peer_cert_validity: null,
    channels: connection.channels.size,
    channel_max: connection.channelMax,
    frame_max: connection.frameMax,
    timeout: connection.heartbeat,
    client_properties: tableToJson(connection.clientProperties),
    connected_at: connection.connectedAt,
    recv_oct: connection.bytesReceived,
    recv_oct_details: { rate: r[0]! },
    send_oct: connection.output.bytesSent,
    send_oct_details: { rate: r[1]! },
    send_pend: connection.output.bufferedBytes,
  };
}

export function channelName(channel: Channel): string {
  return `${channel.connection.name} (${channel.id})`;
}

export function formatChannel(broker: AmqpBroker, channel: Channel, rates: RateSampler): JsonObject {
  const connection = channel.connection;
  const tx = channel.tx;
  const c = channel.counters;
  const r = rates.rates(channel, CHANNEL_SERIES.length);
  const stats = withDetails(CHANNEL_SERIES, [
    c.publish,
    c.confirm,
    c.returnUnroutable,
    c.dropUnroutable,
    c.deliver,
    c.deliverNoAck,
    c.get,
    c.getNoAck,
    c.getEmpty,
    c.ack,
    c.redeliver,
  ], r);
  stats.deliver_get = c.deliver + c.deliverNoAck + c.get + c.getNoAck;
  stats.deliver_get_details = { rate: round(r[4]! + r[5]! + r[6]! + r[7]!) };
  return {
    name: channelName(channel),
    number: channel.id,
    node: broker.alarms.node,
    connection_details: { name: connection.name, peer_host: peerHost(connection), peer_port: connection.socket.remotePort },
    user: connection.user?.name ?? "",
    user_who_performed_action: connection.user?.name ?? "",
    vhost: connection.vhost?.name ?? "",
    state: channel.state === "open" ? "running" : channel.state === "closing" ? "closing" : "starting",
    consumer_count: channel.consumers.size,
    prefetch_count: channel.consumerPrefetch,
    global_prefetch_count: channel.globalPrefetch,
    messages_unacknowledged: channel.unacked.size,
    messages_unconfirmed: channel.confirm ? channel.publishSeq - channel.confirmSent : 0,
    messages_uncommitted: tx ? tx.publishes.length : 0,
    acks_uncommitted: tx ? tx.acks.reduce((n, a) => n + a.deliveries.length, 0) : 0,
    confirm: channel.confirm,
    transactional: tx !== undefined,
    pending_raft_commands: 0,
    message_stats: stats,
  };
}

export function formatConsumer(broker: AmqpBroker, consumer: Consumer): JsonObject {
  const channel = consumer.channel;
  const connection = channel.connection;
  const queue = consumer.queue;
  const active = !queue.singleActiveConsumer || queue.consumers[0] === consumer;
  return {
    consumer_tag: consumer.tag,
    queue: { name: queue.name, vhost: queue.vhost },
    channel_details: {
      name: channelName(channel),
      number: channel.id,
      node: broker.alarms.node,
      connection_name: connection.name,
      peer_host: peerHost(connection),
      peer_port: connection.socket.remotePort,
      user: connection.user?.name ?? "",
    },
    ack_required: !consumer.noAck,
    exclusive: consumer.exclusive,
    prefetch_count: consumer.prefetch,
    active,
    activity_status: active ? "up" : "waiting",
    arguments: tableToJson(consumer.args) as Json,
  };
}

function hasTraffic(c: Queue["counters"]): boolean {
  return c.publish + c.deliver + c.deliverNoAck + c.get + c.getNoAck + c.getEmpty + c.ack + c.redeliver > 0;
}

export function round(rate: number): number {
  return Math.round(rate * 10) / 10;
}
