// One shovel's link: connect source and destination, declare what the definition asks, consume
// from the source and publish to the destination, settling each source message by the ack mode;
// when either side drops or refuses, close both (the source requeues what was not acked) and
// reconnect after reconnect-delay, doubling up to 5 minutes. State changes are logged once each.
import type { Broker } from "../../src/broker/broker.ts";
import {
  type ClientChannel,
  type ClientConnection,
  type ClientError,
  connect,
  type Delivery,
  type Failover,
  NodeHistory,
} from "../../src/client/mod.ts";
import type { Logger } from "../../src/log.ts";
import { after } from "../../src/runtime/timers.ts";
import type { ShovelDefinition } from "./definition.ts";
import { Forwarding } from "./forwarding.ts";

export type LinkState = "starting" | "running" | "terminated";

/** The longest wait between attempts. */
export const MAX_RECONNECT_DELAY_S = 300;
/** In no-ack mode (no prefetch bound) the source socket is paused past this many waiting messages. */
const NO_ACK_HIGH_WATER = 1000;

export interface LinkEnv {
  broker: Broker;
  log: Logger;
  /** Resolves when the broker listens: the first attempt waits for it. */
  ready: Promise<void>;
  /** The user a direct (hostless) URI without credentials logs in as. */
  directUser(vhost: string): string;
  clusterName(): string;
  /** src-delete-after reached: the definition is to be removed. */
  completed(link: ShovelLink): void;
  /** Counted for the metrics: messages forwarded (settled at the source). */
  forwarded(n: number): void;
}

export type Side = "source" | "destination";

/** A session: both connections of one attempt. */
interface Session {
  src: ClientConnection;
  dest: ClientConnection;
  srcCh: ClientChannel;
  destCh: ClientChannel;
  srcUri: string;
  destUri: string;
  /** Confirm sequence number → source delivery tag, in publish order. */
  inflight: Map<number, number>;
  waiting: Delivery[];
  pumping: boolean;
  paused: boolean;
  /** Deliveries taken in this session (src-delete-after counts against it). */
  taken: number;
  limit: number;
  end(reason: string): void;
}

export class ShovelLink {
  state: LinkState = "starting";
  reason = "";
  /** When the state last changed (RabbitMQ's status timestamp). */
  since = new Date();
  /** Messages forwarded and settled at the source over the link's life. */
  forwarded = 0;
  /** The URIs of the current (or last) connections, one picked from each list. */
  srcUri: string | undefined;
  destUri: string | undefined;
  /** The nodes each side is (or was last) connected to, and their failovers. */
  readonly srcNodes = new NodeHistory();
  readonly destNodes = new NodeHistory();
  private stopped = false;
  private finished = false;
  private session: Session | undefined;
  private wake: (() => void) | undefined;
  private skipWait = false;
  /** src-delete-after: how many to move in all (undefined: never stop). */
  private total: number | undefined;
  private delayS: number;
  readonly done: Promise<void>;

  constructor(readonly def: ShovelDefinition, private readonly env: LinkEnv) {
    this.delayS = Math.max(def.reconnectDelay, 0);
    this.done = this.loop();
  }

  get label(): string {
    return `shovel '${this.def.name}' in vhost '${this.def.vhost}'`;
  }

  /** Stops for good: connections closed (unacked source messages go back to their queue). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.session?.end("stopped");
    // An attempt still connecting (up to connection_timeout) ends on its own once it sees
    // `stopped`; a stopping broker does not wait for it.
    await Promise.race([this.done, new Promise<void>((resolve) => after(2000, resolve))]);
  }

  /** Drops the current attempt (or the wait) and starts again at once. */
  restart(): void {
    this.skipWait = true;
    this.delayS = Math.max(this.def.reconnectDelay, 0);
    this.transition("starting", "");
    this.session?.end("restarted");
    this.wake?.();
  }

  private async loop(): Promise<void> {
    await this.env.ready;
    while (!this.stopped && !this.finished) {
      let reason: string;
      let reachedRunning = false;
      try {
        reason = await this.attempt(() => (reachedRunning = true));
      } catch (err) {
        reason = describe(err);
      }
      if (this.stopped || this.finished) break;
      if (reachedRunning) this.delayS = Math.max(this.def.reconnectDelay, 0);
      if (this.skipWait) {
        this.skipWait = false;
        continue;
      }
      this.transition("terminated", reason, this.delayS);
      await new Promise<void>((resolve) => {
        const timer = after(this.delayS * 1000, resolve);
        this.wake = () => {
          timer.cancel();
          resolve();
        };
      });
      this.wake = undefined;
      if (this.skipWait) {
        this.skipWait = false; // restarted while waiting: the base delay again
        continue;
      }
      this.delayS = nextDelay(this.delayS);
    }
  }

  /** One connection attempt; resolves with why the link ended. */
  private async attempt(running: () => void): Promise<string> {
    const def = this.def;
    // As rabbit_amqp091_shovel: a random URI of the list, then the others if it fails.
    const options = (uris: string[]) => ({
      uri: uris,
      tryEvery: true,
      connectionName: `Shovel ${def.name}`,
      direct: { broker: this.env.broker, user: (vhost: string) => this.env.directUser(vhost) },
    });
    const src = await connect(options(def.srcUris)).catch((err) => {
      throw new Error(`source: ${describe(err)}`);
    });
    this.connectedTo("source", src);
    let dest: ClientConnection;
    let srcCh: ClientChannel;
    let queue: string;
    try {
      // The source side first: src-delete-after=queue-length counts the queue as early as it can.
      srcCh = await src.openChannel();
      queue = await this.declareSource(srcCh).catch((err) => {
        throw new Error(`source: ${describe(err)}`);
      });
      dest = await connect(options(def.destUris)).catch((err) => {
        throw new Error(`destination: ${describe(err)}`);
      });
      this.connectedTo("destination", dest);
    } catch (err) {
      src.terminate();
      this.srcNodes.lost(describe(err));
      throw err;
    }
    let ended!: (reason: string) => void;
    const result = new Promise<string>((resolve) => (ended = resolve));
    let endedOnce = false;
    const end = async (reason: string) => {
      if (endedOnce) return;
      endedOnce = true;
      this.srcNodes.lost(reason);
      this.destNodes.lost(reason);
      ended(reason);
      await Promise.all([dest.close().catch(() => undefined), src.close().catch(() => undefined)]);
    };
    src.onClose((e) => void end(`source: ${e ? describe(e) : "connection closed"}`));
    dest.onClose((e) => void end(`destination: ${e ? describe(e) : "connection closed"}`));
    dest.onBlocked((blocked, why) => this.env.log.info(`${this.label}: destination ${blocked ? `blocked (${why})` : "unblocked"}`));
    try {
      const session = await this.open(src, srcCh, queue, dest, end);
      if (this.stopped) {
        await end("stopped");
        return "stopped";
      }
      this.session = session;
      this.srcUri = session.srcUri;
      this.destUri = session.destUri;
      running();
      this.transition("running", "");
      if (session.limit === 0) this.complete(session);
    } catch (err) {
      await end(describe(err));
    }
    const reason = await result;
    this.session = undefined;
    return reason;
  }

  /** Records the node a side connected to; a different one than before is a failover (logged). */
  private connectedTo(side: Side, connection: ClientConnection): void {
    const failover: Failover | undefined = (side === "source" ? this.srcNodes : this.destNodes).connected(connection);
    if (failover === undefined) return;
    this.env.log.warning(`${this.label}: ${side} failed over from ${failover.from} to ${failover.to} (${failover.reason})`);
  }

  /** Declares (or checks) the source queue, or binds a private queue to the source exchange. */
  private async declareSource(srcCh: ClientChannel): Promise<string> {
    const def = this.def;
    let queue: string;
    if (def.srcQueue !== undefined) {
      const ok = await srcCh.declareQueue(
        def.srcQueue,
        def.srcPredeclared ? { passive: true } : { durable: true, arguments: def.srcQueueArgs },
      );
      queue = ok.queue;
      if (this.total === undefined && def.deleteAfter === "queue-length") this.total = ok.messageCount;
    } else {
      queue = (await srcCh.declareQueue("", { exclusive: true })).queue;
      await srcCh.bindQueue(queue, def.srcExchange!, def.srcExchangeKey);
    }
    if (this.total === undefined && typeof def.deleteAfter === "number") this.total = def.deleteAfter;
    return queue;
  }

  /** The destination's declarations, confirms, qos and the consumer. */
  private async open(
    src: ClientConnection,
    srcCh: ClientChannel,
    queue: string,
    dest: ClientConnection,
    end: (reason: string) => Promise<void>,
  ): Promise<Session> {
    const def = this.def;
    const destCh = await dest.openChannel();
    srcCh.onClose((e) => void end(`source channel: ${e ? describe(e) : "closed"}`));
    destCh.onClose((e) => void end(`destination channel: ${e ? describe(e) : "closed"}`));
    if (def.destQueue !== undefined) {
      await destCh.declareQueue(def.destQueue, def.destPredeclared ? { passive: true } : { durable: true, arguments: def.destQueueArgs });
    }
    if (def.ackMode === "on-confirm") await destCh.confirmSelect();
    const limit = this.total === undefined ? Infinity : Math.max(this.total - this.forwarded, 0);
    const session: Session = {
      src,
      dest,
      srcCh,
      destCh,
      srcUri: src.uri.uri,
      destUri: dest.uri.uri,
      inflight: new Map(),
      waiting: [],
      pumping: false,
      paused: false,
      taken: 0,
      limit,
      end: (reason) => void end(reason),
    };
    destCh.onConfirm((seq, multiple, ack) => this.onConfirm(session, seq, multiple, ack));
    if (limit === 0) return session;
    // A prefetch no larger than what is left to move: the source never hands over more.
    const prefetch = Number.isFinite(limit) ? Math.min(def.prefetchCount || limit, limit, 65535) : def.prefetchCount;
    if (def.ackMode !== "no-ack") await srcCh.qos(prefetch);
    const forwarding = new Forwarding(def, this.env.clusterName);
    await srcCh.consume(queue, (d) => this.onDelivery(session, forwarding, d), {
      noAck: def.ackMode === "no-ack",
      arguments: def.srcConsumerArgs,
      onCancel: () => void end("source: consumer cancelled by the server (queue deleted?)"),
    });
    return session;
  }

  private onDelivery(s: Session, forwarding: Forwarding, d: Delivery): void {
    if (s.taken >= s.limit) {
      // Past src-delete-after's count: not ours to move (only if the source ignored our prefetch).
      if (this.def.ackMode !== "no-ack") s.srcCh.nack(d.deliveryTag, false, true);
      return;
    }
    s.taken++;
    s.waiting.push(d);
    this.pump(s, forwarding);
  }

  /** Publishes what waits while the destination takes it; else waits for it (bounded by prefetch). */
  private pump(s: Session, forwarding: Forwarding): void {
    if (s.pumping) return;
    while (s.waiting.length > 0) {
      if (!s.destCh.writable) {
        if (s.destCh.state === "closed") return;
        s.pumping = true;
        if (!s.paused && s.waiting.length >= NO_ACK_HIGH_WATER) {
          s.paused = true;
          s.src.pauseReading();
        }
        void s.destCh.whenWritable().then(() => {
          s.pumping = false;
          this.pump(s, forwarding);
        });
        return;
      }
      const d = s.waiting.shift()!;
      const seq = s.destCh.publish(forwarding.exchange(d), forwarding.routingKey(d), d.body, forwarding.properties(d, s.srcUri, s.destUri));
      if (this.def.ackMode === "on-confirm") s.inflight.set(seq, d.deliveryTag);
      else {
        if (this.def.ackMode === "on-publish") s.srcCh.ack(d.deliveryTag);
        this.settled(s, 1);
      }
    }
    if (s.paused) {
      s.paused = false;
      s.src.resumeReading();
    }
  }

  /** The destination confirmed (or refused) publishes: settle their source messages. */
  private onConfirm(s: Session, seq: number, multiple: boolean, ack: boolean): void {
    const tags: number[] = [];
    if (multiple) {
      for (const [n, tag] of s.inflight) {
        if (n > seq) break;
        tags.push(tag);
        s.inflight.delete(n);
      }
    } else {
      const tag = s.inflight.get(seq);
      if (tag === undefined) return;
      s.inflight.delete(seq);
      tags.push(tag);
    }
    if (tags.length === 0 || s.srcCh.state !== "open") return;
    if (!ack) {
      // The destination could not take them: back to the source queue, to be tried again.
      for (const tag of tags) s.srcCh.nack(tag, false, true);
      this.env.log.warning(`${this.label}: destination refused ${tags.length} message(s) (basic.nack); requeued at the source`);
      return;
    }
    // Tags rise with sequence numbers, and everything below a multiple confirm is settled.
    if (multiple) s.srcCh.ack(tags[tags.length - 1]!, true);
    else s.srcCh.ack(tags[0]!);
    this.settled(s, tags.length);
  }

  private settled(s: Session, n: number): void {
    this.forwarded += n;
    this.env.forwarded(n);
    if (this.total !== undefined && this.forwarded >= this.total) this.complete(s);
  }

  /** src-delete-after reached: close (the last acks go first) and have the definition removed. */
  private complete(s: Session): void {
    if (this.finished) return;
    this.finished = true;
    this.env.log.info(`${this.label}: moved ${this.forwarded} message(s) as src-delete-after asked; deleting the shovel`);
    s.end("completed");
    this.env.completed(this);
  }

  /** Logs a state change once; a repeated failure with the same reason logs nothing. */
  private transition(state: LinkState, reason: string, retryS?: number): void {
    if (state === this.state && reason === this.reason) return;
    const sameState = state === this.state;
    this.state = state;
    this.reason = reason;
    this.since = new Date();
    const log = this.env.log;
    if (state === "running") log.info(`${this.label}: running`);
    else if (state === "starting") log.info(`${this.label}: starting`);
    else if (!sameState) {
      log.warning(`${this.label}: terminated: ${reason}; retrying in ${retryS} s, backing off to at most ${MAX_RECONNECT_DELAY_S} s`);
    } else log.warning(`${this.label}: still down: ${reason}`);
  }
}

/** The wait after another failed attempt: double, from 1 s when it was 0, capped at 5 minutes. */
export function nextDelay(seconds: number): number {
  return Math.min(seconds > 0 ? seconds * 2 : 1, MAX_RECONNECT_DELAY_S);
}

function describe(err: unknown): string {
  if (err && typeof err === "object" && "message" in err) return String((err as Error | ClientError).message);
  return String(err);
}
