// One MQTT connection: the CONNECT handshake (protocol level, client id, login and vhost,
// session takeover, clean start), keepalive (1.5x), the packets of a connected client, wills,
// and closing. Sessions (queues, subscriptions, deliveries) are in session.ts; publishing in
// publisher.ts. A packet the spec forbids closes the connection (MQTT 5: DISCONNECT with the
// spec's reason code first); nothing a client sends can throw out of here.
import { AmqpError } from "../../src/amqp/errors.ts";
import type { User } from "../../src/auth/users.ts";
import type { AlarmResource } from "../../src/broker/alarms.ts";
import type { ProtocolConnection } from "../../src/broker/client_connection.ts";
import type { Vhost } from "../../src/broker/vhost.ts";
import type { TcpHandler, TcpSocket } from "../../src/runtime/tcp.ts";
import { type Connect, decodePacket, MqttError, type Packet, PacketType, protocolError, Reason, type Will } from "./decode.ts";
import { ackPacket, connack, disconnectPacket, type OutgoingPublish, PINGRESP, publishPacket, suback, unsuback } from "./encode.ts";
import { PacketSplitter } from "./packet_splitter.ts";
import { Publisher } from "./publisher.ts";
import { clientKey, type MqttServer } from "./server.ts";
import { isRefusal, Session } from "./session.ts";
import { validTopicFilter } from "./topic.ts";
import { Output } from "./output.ts";
import type { RetainedMessage } from "./retained.ts";
import { RetainedSender } from "./retained_sender.ts";

/** Before CONNECT, packets are small (RabbitMQ's max_packet_size_unauthenticated). */
const UNAUTHENTICATED_MAX = 65_536;
const TOPIC_ALIAS_MAXIMUM = 16;
/** 3.1.1 CONNACK return codes. */
const Refused = { version: 1, identifier: 2, unavailable: 3, credentials: 4, notAuthorized: 5 } as const;

export class MqttConnection implements ProtocolConnection, TcpHandler {
  readonly name: string;
  user: User | undefined;
  vhost: Vhost | undefined;
  protocol = "MQTT";
  level = 0;
  clientId = "";
  private state: "connecting" | "connected" | "closed" = "connecting";
  private readonly splitter = new PacketSplitter(UNAUTHENTICATED_MAX);
  private readonly output: Output;
  private session: Session | undefined;
  private publisher: Publisher | undefined;
  private will: Will | undefined;
  private keepAlive = 0;
  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  /** When the last bytes came (the keepalive clock). */
  private heardAt = Date.now();
  private readonly connectedAt = Date.now();
  private bytesIn = 0;
  private packetsIn = 0;
  private registered = false;
  /** The client's receive maximum and maximum packet size (MQTT 5). */
  private receiveMaximum = 65535;
  private clientMaxPacket = 0;
  /** Retained messages of new subscriptions still to send (made on the first subscription). */
  private retainedSender: RetainedSender | undefined;

  constructor(private readonly server: MqttServer, readonly socket: TcpSocket, private readonly tls: boolean) {
    this.name = `${host(socket.remoteAddress)}:${socket.remotePort} -> ${server.ctx.broker.listenAddress}:${socket.localPort}`;
    this.output = new Output(socket, () => {
      this.session?.resumeDeliveries();
      this.retainedSender?.pump();
    });
    server.connections.add(this);
    // A client has as long for its CONNECT as RabbitMQ gives it (10 s).
    this.keepAliveTimer = setTimeout(() => {
      if (this.state === "connecting") this.close("no CONNECT within 10 seconds");
    }, 10_000);
  }

  get v5(): boolean {
    return this.level === 5;
  }

  // ------------------------------------------------------------------ socket events

  onData(chunk: Uint8Array): void {
    if (this.state === "closed") return;
    this.bytesIn += chunk.length;
    this.heardAt = Date.now();
    try {
      this.splitter.push(chunk, (first, body) => {
        if (this.state === "closed") return;
        this.packetsIn++;
        this.handle(decodePacket(first, body, this.level));
      });
    } catch (err) {
      this.fail(err);
    }
  }

  onDrain(): void {
    this.output.drained();
  }

  onClose(): void {
    this.teardown(this.state === "connected" ? "client closed the socket" : undefined);
  }

  /** A protocol violation or an unexpected failure: the spec's reaction, then close. */
  private fail(err: unknown): void {
    if (this.state === "closed") return;
    if (!(err instanceof MqttError)) {
      this.server.ctx.log.error(`MQTT connection ${this.name}: ${(err as Error).stack ?? err}`);
      err = new MqttError(Reason.unspecified, `internal error: ${(err as Error).message}`);
    }
    const e = err as MqttError;
    this.server.ctx.log.warning(`MQTT connection ${this.name} (client id '${this.clientId}'): ${e.message}`);
    if (this.state === "connecting" && e.reason === Reason.unsupportedVersion) {
      this.output.send(connack(false, false, Refused.version)); // 3.1.1's answer: what a client of any level reads
    } else if (this.v5) this.output.send(disconnectPacket(e.reason, e.message));
    this.close(e.message);
  }

  // ------------------------------------------------------------------ packets

  private handle(p: Packet): void {
    if (this.state === "connecting") {
      if (p.type !== PacketType.connect) throw protocolError(`first packet must be CONNECT, got type ${p.type}`);
      return this.connect(p);
    }
    switch (p.type) {
      case PacketType.connect:
        throw protocolError("second CONNECT");
      case PacketType.publish:
        return this.publisher!.publish(p);
      case PacketType.puback:
        if (!this.session!.acked(p.packetId) && this.v5) this.server.ctx.log.debug(`PUBACK for unknown packet id ${p.packetId}`);
        return;
      case PacketType.pubrec:
      case PacketType.pubrel:
      case PacketType.pubcomp:
        throw protocolError("QoS 2 flow packet, but Warren grants QoS 1 at most");
      case PacketType.subscribe:
        return this.subscribe(p.packetId, p.subscriptions);
      case PacketType.unsubscribe: {
        const codes = p.filters.map((f) => (this.session!.unsubscribe(f) ? Reason.success : 0x11));
        this.output.send(unsuback(this.v5, p.packetId, codes));
        return;
      }
      case PacketType.pingreq:
        return this.output.send(PINGRESP);
      case PacketType.disconnect:
        if (p.reason !== Reason.disconnectWithWill) this.will = undefined;
        // MQTT 5: a DISCONNECT may end the session with the connection (expiry 0).
        if (this.v5 && p.properties.sessionExpiry === 0) this.session!.endWithConnection();
        return this.close("client sent DISCONNECT");
      default:
        throw protocolError(`unexpected packet type ${p.type}`);
    }
  }

  private connect(c: Connect): void {
    clearTimeout(this.keepAliveTimer);
    this.level = c.level;
    this.protocol = c.level === 5 ? "MQTT 5-0" : c.level === 4 ? "MQTT 3.1.1" : "MQTT 3.1";
    const server = this.server;
    const settings = server.settings;
    let clientId = c.clientId;
    let assigned = false;
    if (clientId === "") {
      if (!this.v5 && !c.cleanStart) return this.refuse(Refused.identifier, Reason.clientIdNotValid, "empty client id needs clean session");
      clientId = `warren-${crypto.randomUUID()}`;
      assigned = true;
    }
    this.clientId = clientId;
    // Who: user name (vhost:user), a client certificate, or the anonymous default user.
    let username = c.username;
    let password = c.password === undefined ? undefined : new TextDecoder().decode(c.password);
    let vhostName = server.vhostForPort(this.socket.localPort) ?? settings.vhost ?? server.ctx.broker.options.defaultVhost;
    if (username !== undefined && username.includes(":")) {
      const at = username.indexOf(":");
      vhostName = username.slice(0, at);
      username = username.slice(at + 1);
    }
    const cn = this.tls ? this.socket.tls?.peerCommonName() : undefined;
    if (username === undefined && cn !== undefined) password = undefined;
    else if (username === undefined) {
      if (!settings.allowAnonymous) {
        return this.refuse(Refused.credentials, Reason.badCredentials, "no credentials and anonymous logins are off");
      }
      username = settings.defaultUser;
      password = settings.defaultPass;
    } else if (password === undefined) {
      return this.refuse(Refused.credentials, Reason.badCredentials, `user '${username}' gave no password`);
    }
    const result = server.ctx.clients.login({
      username: username ?? cn!,
      password,
      vhost: vhostName,
      peerAddress: this.socket.remoteAddress,
    });
    if (!result.ok) {
      // As RabbitMQ's plugin: an unknown vhost gets "bad user name or password" too.
      const bad = result.kind !== "refused";
      return this.refuse(
        bad ? Refused.credentials : Refused.notAuthorized,
        bad ? Reason.badCredentials : Reason.notAuthorized,
        result.reason,
      );
    }
    const vhost = result.vhost;
    const exchange = vhost.exchanges.get(settings.exchange);
    if (!exchange) {
      return this.refuse(Refused.unavailable, Reason.serverUnavailable, `no exchange '${settings.exchange}' in vhost '${vhost.name}'`);
    }
    this.user = result.user;
    this.vhost = vhost;
    const key = clientKey(vhost.name, clientId);
    server.clients.get(key)?.takenOver();
    const pendingWill = server.pendingWills.get(key);
    if (pendingWill) {
      clearTimeout(pendingWill);
      server.pendingWills.delete(key);
    }
    // Session lifetime: 3.1.1 clean session or the subscription TTL; 5.0 session expiry.
    let expiryMs: number | null;
    if (this.v5) {
      const seconds = c.properties.sessionExpiry ?? 0;
      expiryMs = seconds === 0xffffffff ? settings.subscriptionTtl : seconds * 1000;
      if (settings.subscriptionTtl !== null && expiryMs !== null) expiryMs = Math.min(expiryMs, settings.subscriptionTtl);
    } else expiryMs = c.cleanStart ? 0 : settings.subscriptionTtl;
    if (c.cleanStart) Session.discard(vhost, clientId);
    const sessionPresent = !c.cleanStart && Session.exists(vhost, clientId);
    this.receiveMaximum = c.properties.receiveMaximum ?? 65535;
    if (this.v5 && this.receiveMaximum === 0) throw protocolError("receive maximum 0");
    this.clientMaxPacket = c.properties.maximumPacketSize ?? 0;
    this.will = c.will;
    this.splitter.maxPacketSize = settings.maxPacketSize;
    const link = {
      user: result.user,
      vhost,
      broker: server.ctx.broker,
      clientId,
      connectionName: this.name,
      v5: this.v5,
      inflightLimit: Math.min(settings.prefetch, this.receiveMaximum),
      clientMaxPacket: this.clientMaxPacket,
      writable: () => this.state === "connected" && !this.output.backedUp,
      sendPublish: (p: OutgoingPublish) => this.sendPublish(p),
      originOf: (body: Uint8Array) => server.origins.get(body),
    };
    this.session = new Session(link, exchange, { expiryMs });
    this.publisher = new Publisher(server, this, link, exchange);
    this.state = "connected";
    server.clients.set(key, this);
    this.registered = true;
    server.ctx.clients.opened(this);
    if (c.level === 5) server.counters.connections5++;
    else if (c.level === 4) server.counters.connections311++;
    else server.counters.connections31++;
    this.output.send(connack(
      this.v5,
      sessionPresent,
      0,
      this.v5
        ? {
          ...(assigned ? { assignedClientId: clientId } : {}),
          maximumQos: 1,
          topicAliasMaximum: TOPIC_ALIAS_MAXIMUM,
          subscriptionIdAvailable: 0,
          sharedAvailable: 0,
          maximumPacketSize: settings.maxPacketSize,
          ...(expiryMs !== null && c.properties.sessionExpiry !== undefined && expiryMs / 1000 !== c.properties.sessionExpiry
            ? { sessionExpiry: expiryMs / 1000 }
            : {}),
        }
        : {},
    ));
    server.ctx.log.info(
      `MQTT connection ${this.name}: user '${result.user.name}' connected to vhost '${vhost.name}' with client id '${clientId}' (${this.protocol})`,
    );
    if (sessionPresent) this.session.resume();
    this.startKeepAlive(c.keepAlive);
  }

  private refuse(code311: number, code5: number, reason: string): void {
    this.server.ctx.log.error(`MQTT connection ${this.name} (client id '${this.clientId}') refused: ${reason}`);
    this.output.send(connack(this.v5, false, this.v5 ? code5 : code311));
    this.close(reason);
  }

  /** The 1.5x rule: no packet for one and a half keepalive periods closes the connection. */
  private startKeepAlive(seconds: number): void {
    this.keepAlive = seconds;
    if (seconds === 0) return;
    const limit = seconds * 1500;
    // Checked every quarter period: the close comes between 1.5x and 1.75x the keepalive.
    this.keepAliveTimer = setInterval(() => {
      if (Date.now() - this.heardAt > limit) {
        this.fail(new MqttError(Reason.keepAliveTimeout, `no packet within 1.5 x keepalive (${seconds} s)`));
      }
    }, seconds * 250);
  }

  private subscribe(packetId: number, subs: Parameters<Session["subscribe"]>[0][]): void {
    const session = this.session!;
    const codes: number[] = [];
    const retained: { filter: string; qos: number; isNew: boolean; handling: number; rap: boolean }[] = [];
    for (const sub of subs) {
      if (sub.filter.startsWith("$share/")) {
        codes.push(this.v5 ? Reason.sharedNotSupported : 0x80);
        continue;
      }
      if (!validTopicFilter(sub.filter)) {
        codes.push(this.v5 ? Reason.topicFilterInvalid : 0x80);
        continue;
      }
      try {
        const { granted, isNew } = session.subscribe(sub);
        codes.push(granted);
        retained.push({ filter: sub.filter, qos: granted, isNew, handling: sub.retainHandling, rap: sub.retainAsPublished });
      } catch (err) {
        // A permission (403), or the queue could not be made (a vhost's queue limit): a failure code.
        if (!(err instanceof AmqpError)) throw err;
        this.server.ctx.log.error(`MQTT connection ${this.name}: subscription to '${sub.filter}' refused: ${err.replyText}`);
        codes.push(!this.v5 ? 0x80 : isRefusal(err) ? Reason.notAuthorized : Reason.quotaExceeded);
      }
    }
    this.output.send(suback(this.v5, packetId, codes));
    const vhost = this.vhost!.name;
    for (const r of retained) {
      if (r.handling === 2 || (r.handling === 1 && !r.isNew)) continue;
      this.retainedSender ??= new RetainedSender(this.server.retained, vhost, {
        isOpen: () => this.state === "connected",
        isWritable: () => !this.output.backedUp,
        send: (m, grantedQos) => this.sendRetained(m, grantedQos),
      });
      this.retainedSender.add(this.server.retained.matching(vhost, r.filter), r.qos);
    }
  }

  private sendRetained(m: RetainedMessage, grantedQos: number): void {
    const expiry = m.properties.messageExpiry;
    const properties = this.v5
      ? {
        ...m.properties,
        ...(expiry !== undefined ? { messageExpiry: Math.max(1, expiry - Math.floor((Date.now() - m.storedAt) / 1000)) } : {}),
      }
      : {};
    this.session!.sendRetained({
      topic: m.topic,
      qos: Math.min(m.qos, grantedQos),
      retain: true,
      dup: false,
      properties,
      payload: m.payload,
    });
  }

  /** Writes a PUBLISH; false when it is larger than the client's maximum packet size. */
  private sendPublish(p: OutgoingPublish): boolean {
    const packet = publishPacket(this.v5, p);
    if (this.clientMaxPacket !== 0 && packet.length > this.clientMaxPacket) return false;
    this.server.counters.deliveredOut++;
    this.output.send(packet);
    return true;
  }

  /** PUBACK to the client (from publisher.ts, in the order the PUBLISH packets came). */
  sendPuback(packetId: number, reason: number): void {
    if (this.state === "connected") this.output.send(ackPacket(PacketType.puback, this.v5, packetId, this.v5 ? reason : 0));
  }

  /** A violation found while publishing (publisher.ts). */
  violation(err: MqttError): void {
    this.fail(err);
  }

  // ------------------------------------------------------------------ closing

  takenOver(): void {
    if (this.v5) this.output.send(disconnectPacket(Reason.sessionTakenOver, "another connection took the client id"));
    this.close("another connection took the client id over");
  }

  forceClose(reason: string, _code?: number): void {
    if (this.state === "closed") return;
    if (this.v5) {
      this.output.send(
        disconnectPacket(reason.includes("shutting down") ? Reason.serverShuttingDown : Reason.administrativeAction, reason),
      );
    }
    this.close(reason);
  }

  terminate(): void {
    this.socket.terminate();
    this.teardown("terminated");
  }

  onAlarmChange(active: ReadonlySet<AlarmResource>): void {
    // As RabbitMQ: publishers stop being read while a resource alarm is on.
    if (active.size > 0) this.socket.pause();
    else this.socket.resume();
  }

  /** Flushes what is written, then ends the socket. */
  private close(reason: string): void {
    if (this.state === "closed") return;
    this.output.flush();
    this.socket.end();
    this.teardown(reason);
  }

  private teardown(reason: string | undefined): void {
    if (this.state === "closed") return;
    const wasConnected = this.state === "connected";
    this.state = "closed";
    clearTimeout(this.keepAliveTimer);
    clearInterval(this.keepAliveTimer);
    const server = this.server;
    server.connections.delete(this);
    this.session?.close();
    if (this.registered) {
      const key = clientKey(this.vhost!.name, this.clientId);
      if (server.clients.get(key) === this) server.clients.delete(key);
      server.ctx.clients.closed(this);
    }
    if (wasConnected && this.will && this.publisher) this.publisher.publishWill(this.will);
    if (wasConnected && reason !== undefined) {
      server.ctx.log.info(`MQTT connection ${this.name} (client id '${this.clientId}') closed: ${reason}`);
    }
  }

  describe(): Record<string, unknown> {
    const user = this.user?.name ?? "";
    return {
      name: this.name,
      type: "direct",
      protocol: this.protocol,
      state: this.state === "connected" ? "running" : "closing",
      user,
      user_who_performed_action: user,
      vhost: this.vhost?.name ?? "",
      auth_mechanism: "none",
      host: this.server.ctx.broker.listenAddress,
      port: this.socket.localPort,
      peer_host: host(this.socket.remoteAddress),
      peer_port: this.socket.remotePort,
      ssl: this.tls,
      channels: 1,
      channel_max: 1,
      frame_max: 0,
      timeout: this.keepAlive,
      client_properties: { client_id: this.clientId, product: "MQTT client" },
      variable_map: { client_id: this.clientId },
      connected_at: this.connectedAt,
      recv_oct: this.bytesIn,
      recv_cnt: this.packetsIn,
      send_oct: this.output.bytesSent,
      send_cnt: this.output.packetsSent,
      send_pend: this.output.pending,
      recv_oct_details: { rate: 0 },
      send_oct_details: { rate: 0 },
    };
  }
}

function host(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}
