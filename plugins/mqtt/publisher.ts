// PUBLISH from a client (and its will): topic aliases (MQTT 5), the topic and permission checks
// RabbitMQ makes (write on the exchange, topic permission on the routing key), retained
// messages, then the broker's publish pipeline into the MQTT exchange. A QoS 1 PUBACK goes out
// once what the message changed is committed, and PUBACKs keep the order of the PUBLISH packets.
import { AmqpError } from "../../src/amqp/errors.ts";
import { type AccessSubject, checkTopic, checkWrite } from "../../src/auth/access.ts";
import type { Exchange } from "../../src/broker/exchange.ts";
import { publish, type PublishContext, Published } from "../../src/broker/publish.ts";
import type { Vhost } from "../../src/broker/vhost.ts";
import { toAmqp } from "./bridge.ts";
import { MqttError, protocolError, type Publish, Reason, type Will } from "./decode.ts";
import type { MqttServer } from "./server.ts";
import { isRefusal } from "./session.ts";
import { validTopicName } from "./topic.ts";

/** What the publisher needs of its connection. */
export interface PublishingConnection {
  readonly v5: boolean;
  readonly name: string;
  sendPuback(packetId: number, reason: number): void;
  violation(err: MqttError): void;
}

const TOPIC_ALIAS_MAXIMUM = 16;

export class Publisher {
  private readonly ctx: PublishContext;
  private readonly aliases = new Map<number, string>();
  /** PUBACKs waiting for a commit: later ones wait behind them, to stay in order. */
  private waiting = 0;

  constructor(
    private readonly server: MqttServer,
    private readonly connection: PublishingConnection,
    private readonly subject: AccessSubject & { readonly vhost: Vhost; readonly clientId: string },
    private readonly exchange: Exchange,
  ) {
    this.ctx = server.ctx.clients.publisher(subject.vhost);
  }

  publish(p: Publish): void {
    const v5 = this.connection.v5;
    let topic = p.topic;
    const alias = p.properties.topicAlias;
    if (alias !== undefined) {
      if (alias === 0 || alias > TOPIC_ALIAS_MAXIMUM) {
        throw new MqttError(Reason.topicAliasInvalid, `topic alias ${alias} outside 1-${TOPIC_ALIAS_MAXIMUM}`);
      }
      if (topic === "") {
        const known = this.aliases.get(alias);
        if (known === undefined) throw protocolError(`topic alias ${alias} was never set`);
        topic = known;
      } else this.aliases.set(alias, topic);
    }
    if (!validTopicName(topic)) throw new MqttError(v5 ? Reason.topicNameInvalid : Reason.malformed, `invalid topic name '${topic}'`);
    if (p.qos === 2 && v5) throw new MqttError(Reason.qosNotSupported, "QoS 2 publish, but CONNACK said maximum QoS 1");
    // 3.1.1: QoS 2 is taken as QoS 1 (PUBACK), as RabbitMQ does.
    const qos = Math.min(p.qos, 1);
    let reason: number;
    try {
      reason = this.route(topic, qos, p.dup, p.retain, p.payload, p.properties);
    } catch (err) {
      if (!(err instanceof AmqpError)) throw err;
      if (!v5 || !isRefusal(err)) throw new MqttError(isRefusal(err) ? Reason.notAuthorized : Reason.implementationSpecific, err.replyText);
      this.server.ctx.log.error(`MQTT connection ${this.connection.name}: publish to '${topic}' refused: ${err.replyText}`);
      reason = Reason.notAuthorized;
    }
    if (qos === 0) return;
    if (reason === Reason.quotaExceeded && !v5) {
      // 3.1.1 has no negative PUBACK: none is sent, so the client sends it again (as RabbitMQ 3.13).
      this.server.ctx.log.warning(`MQTT connection ${this.connection.name}: publish to '${topic}' rejected by a full queue; no PUBACK`);
      return;
    }
    this.puback(p.packetId, reason, reason !== Reason.notAuthorized);
  }

  /** Publishes into the exchange (and keeps a retained message); returns the PUBACK reason. */
  private route(topic: string, qos: number, dup: boolean, retain: boolean, payload: Uint8Array, properties: Publish["properties"]): number {
    const exchange = this.exchange;
    const message = toAmqp(exchange.name, { topic, qos, dup, retain, payload, properties });
    checkWrite(this.subject, "exchange", exchange.name);
    checkTopic(this.subject, exchange, message.routingKey, "write");
    if (retain) this.server.retained.retain(this.subject.vhost.name, topic, qos, payload, properties);
    this.server.origins.set(payload, this.subject.clientId);
    this.server.counters.publishedIn++;
    const outcome = publish(this.ctx, exchange, message, false);
    if ((outcome & Published.rejected) !== 0) return Reason.quotaExceeded;
    if ((outcome & Published.unroutable) !== 0) return Reason.noMatchingSubscribers;
    return Reason.success;
  }

  private puback(packetId: number, reason: number, afterCommit: boolean): void {
    if (!afterCommit && this.waiting === 0) return this.connection.sendPuback(packetId, reason);
    this.waiting++;
    this.server.ctx.clients.afterCommit(() => {
      this.waiting--;
      this.connection.sendPuback(packetId, reason);
    });
  }

  /** The will: after its delay (MQTT 5) unless the client comes back first. */
  publishWill(will: Will): void {
    const send = () => {
      try {
        const qos = Math.min(will.qos, 1);
        this.route(will.topic, qos, false, will.retain, will.payload, will.properties);
      } catch (err) {
        this.server.ctx.log.error(`MQTT will of client '${this.subject.clientId}' not published: ${(err as Error).message}`);
      }
    };
    const delay = will.properties.willDelay ?? 0;
    if (delay === 0) return send();
    const key = `${this.subject.vhost.name}\0${this.subject.clientId}`;
    const timer = setTimeout(() => {
      this.server.pendingWills.delete(key);
      send();
    }, delay * 1000);
    this.server.pendingWills.set(key, timer);
  }
}
