// The differential scenario framework: a scenario is a sequence of client actions (amqplib) and
// the observations a client can make. The same scenario runs against Warren and against the
// reference RabbitMQ; the two normalized records must be equal.
import { randomBytes } from "node:crypto";
import amqplib, { type Channel, type ChannelModel, type ConfirmChannel, type Options } from "amqplib";
import { sleep, withTimeout } from "../helpers/broker.ts";
import { closeInfo, ConfirmLog, Consumer, normalize, view, type CloseInfo, type MessageView } from "./observations.ts";
import { adminFor } from "./admin.ts";
import type { PolicyBody, PolicyKind } from "../../src/broker/policy.ts";

export * from "./observations.ts";

export interface Scenario {
  name: string;
  run(ctx: Ctx): Promise<void>;
}

/** One observation: a label saying what was looked at, and what was seen. */
export type Observation = [label: string, value: unknown];

interface ChannelState {
  closed: boolean;
  error?: CloseInfo;
  conn: ConnState;
}
interface ConnState {
  closed: boolean;
  error?: CloseInfo;
}

export const WAIT_MS = 5000;

export class Ctx {
  readonly observations: Observation[] = [];
  readonly prefix = `dx-${randomBytes(4).toString("hex")}`;
  private readonly names = new Set<string>();
  private readonly conns: ChannelModel[] = [];
  private readonly connStates = new WeakMap<object, ConnState>();
  private readonly chStates = new WeakMap<Channel, ChannelState>();
  private readonly published = new WeakMap<Channel, number>();
  private readonly cleanups: (() => Promise<void>)[] = [];

  constructor(readonly url: string) {}

  /** A per-run unique name (`dx-<random>-<base>`), deleted at cleanup. */
  name(base: string): string {
    const n = `${this.prefix}-${base}`;
    this.names.add(n);
    return n;
  }

  /** Deletes this queue or exchange at cleanup too (server-named queues). */
  track(name: string): string {
    this.names.add(name);
    return name;
  }

  /** Sets a policy (or operator policy) on the broker under test; it is cleared at cleanup. */
  async setPolicy(kind: PolicyKind, name: string, body: PolicyBody): Promise<void> {
    const admin = adminFor(this.url);
    await admin.setPolicy(kind, name, body);
    this.cleanups.push(() => admin.clearPolicy(kind, name));
  }

  async clearPolicy(kind: PolicyKind, name: string): Promise<void> {
    await adminFor(this.url).clearPolicy(kind, name);
  }

  record(label: string, value: unknown = true): void {
    this.observations.push([label, value]);
  }

  async connect(query = ""): Promise<ChannelModel> {
    const conn = await withTimeout(amqplib.connect(this.url + query, { timeout: WAIT_MS }), WAIT_MS + 1000, "connect");
    const state: ConnState = { closed: false };
    conn.on("error", () => {});
    conn.on("close", (err?: Error) => {
      state.closed = true;
      if (err) state.error = closeInfo(err, "connection");
    });
    this.connStates.set(conn.connection, state);
    this.conns.push(conn);
    return conn;
  }

  async channel(conn?: ChannelModel): Promise<Channel> {
    const c = conn ?? (await this.connect());
    return this.track_channel(c, await c.createChannel());
  }

  async confirmChannel(conn?: ChannelModel): Promise<ConfirmChannel> {
    const c = conn ?? (await this.connect());
    return this.track_channel(c, await c.createConfirmChannel());
  }

  private track_channel<C extends Channel>(conn: ChannelModel, ch: C): C {
    const connState = this.connStates.get(conn.connection) ?? { closed: false };
    const state: ChannelState = { closed: false, conn: connState };
    ch.on("error", (err: Error) => {
      state.error = closeInfo(err, "channel");
    });
    ch.on("close", () => {
      state.closed = true;
    });
    this.chStates.set(ch, state);
    return ch;
  }

  /** A new connection with one channel. */
  async open(): Promise<{ conn: ChannelModel; ch: Channel }> {
    const conn = await this.connect();
    return { conn, ch: await this.channel(conn) };
  }

  /** Runs an operation, records its result (or `pick` of it) or how the server refused it. */
  async attempt<T>(label: string, op: Promise<T>, pick?: (v: T) => unknown): Promise<T | undefined> {
    try {
      const v = await withTimeout(op, WAIT_MS, label);
      this.record(label, pick ? pick(v) : "ok");
      return v;
    } catch (err) {
      this.record(label, await this.failure(err));
      return undefined;
    }
  }

  private async failure(err: unknown): Promise<unknown> {
    const e = err as Error & { code?: unknown };
    if (typeof e.code === "number") return closeInfo(e, "channel");
    if (/Channel ended|Connection closed/.test(String(e.message))) {
      // The connection was closed under the operation: report the connection close.
      const state = this.conns.map((c) => this.connStates.get(c.connection)).find((s) => s?.error);
      if (state?.error) return state.error;
    }
    return { error: String(e.message ?? e) };
  }

  /** Waits until the server closed the channel; its close reason, or "open" if it stayed open. */
  async channelClosed(ch: Channel): Promise<CloseInfo | "closed" | "open"> {
    const s = this.chStates.get(ch);
    if (!s) throw new Error("untracked channel");
    try {
      await this.waitFor(() => s.closed, "channel close");
    } catch {
      return "open";
    }
    return s.error ?? "closed";
  }

  /** Waits until the server closed the connection; its close reason, or "open". */
  async connectionClosed(conn: ChannelModel): Promise<CloseInfo | "closed" | "open"> {
    const s = this.connStates.get(conn.connection);
    if (!s) throw new Error("untracked connection");
    try {
      await this.waitFor(() => s.closed, "connection close");
    } catch {
      return "open";
    }
    return s.error ?? "closed";
  }

  /** Records whether the channel is still usable (a passive declare of amq.direct as a probe). */
  async probe(label: string, ch: Channel): Promise<void> {
    const s = this.chStates.get(ch);
    if (s?.closed) {
      this.record(label, "closed");
      return;
    }
    await this.attempt(label, ch.checkExchange("amq.direct"));
  }

  publish(ch: Channel, exchange: string, key: string, body: string | Buffer, opts: Options.Publish = {}): void {
    this.published.set(ch, (this.published.get(ch) ?? 0) + 1);
    ch.publish(exchange, key, typeof body === "string" ? Buffer.from(body) : body, opts);
  }

  /** Publishes each body in order. */
  publishAll(ch: Channel, exchange: string, key: string, bodies: string[], opts: Options.Publish = {}): void {
    for (const b of bodies) this.publish(ch, exchange, key, b, opts);
  }

  /** Starts logging confirms and returns on a confirm channel. */
  confirms(ch: Channel): ConfirmLog {
    return new ConfirmLog(ch, () => this.published.get(ch) ?? 0);
  }

  /** Polls a queue (passive declare on its own channel) until it holds `n` ready messages. */
  async waitCount(conn: ChannelModel, queue: string, n: number): Promise<void> {
    const ch = await this.channel(conn);
    try {
      await this.waitFor(async () => (await ch.checkQueue(queue)).messageCount === n, `${n} messages in ${queue}`);
    } finally {
      await ch.close().catch(() => {});
    }
  }

  /** Polls until the queue is gone (a passive declare fails with 404), then records it. */
  async waitQueueGone(label: string, queue: string): Promise<void> {
    const conn = await this.connect();
    let last: unknown = "exists";
    try {
      await this.waitFor(async () => {
        const ch = await this.channel(conn);
        try {
          await ch.checkQueue(queue);
          await ch.close();
          return false;
        } catch (err) {
          last = closeInfo(err as Error, "channel");
          return true;
        }
      }, `queue ${queue} to be deleted`);
    } catch {
      // recorded below as "exists"
    }
    this.record(label, last);
    await conn.close().catch(() => {});
  }

  /** Records whether a queue exists now: its counts or the passive declare's refusal. */
  async queueState(label: string, queue: string): Promise<void> {
    const { conn, ch } = await this.open();
    await this.attempt(label, ch.checkQueue(queue), (ok) => [ok.messageCount, ok.consumerCount]);
    await conn.close().catch(() => {});
  }

  /** Records whether an exchange exists now. */
  async exchangeState(label: string, exchange: string): Promise<void> {
    const { conn, ch } = await this.open();
    await this.attempt(label, ch.checkExchange(exchange));
    await conn.close().catch(() => {});
  }

  /** Starts a consumer that collects its deliveries; records nothing. */
  async consume(ch: Channel, queue: string, opts: Options.Consume = {}, label = queue): Promise<Consumer> {
    const c = new Consumer(this, label);
    const ok = await withTimeout(
      ch.consume(queue, (m) => (m === null ? (c.cancelled = true) : c.messages.push(m)), opts),
      WAIT_MS,
      `consume ${label}`,
    );
    c.tag = ok.consumerTag;
    return c;
  }

  /** basic.get until get-empty (at most `max`); what each get saw. */
  async drain(ch: Channel, queue: string, opts: Options.Get = { noAck: true }, max = 50): Promise<MessageView[]> {
    const out: MessageView[] = [];
    for (let i = 0; i < max; i++) {
      const m = await withTimeout(ch.get(queue, opts), WAIT_MS, `get ${queue}`);
      if (m === false) break;
      out.push(view(m));
    }
    return out;
  }

  /** Polls `cond` every few milliseconds; throws a descriptive error after `ms`. */
  async waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
  }

  /** Gives a broker that misbehaves time to do so before a snapshot; never needed for RabbitMQ. */
  settle(ms = 100): Promise<void> {
    return sleep(ms);
  }

  /** Closes every connection, then deletes every named queue and exchange on a fresh one. */
  async cleanup(): Promise<void> {
    await Promise.all(this.conns.map((c) => withTimeout(c.close(), 3000, "close").catch(() => {})));
    for (const fn of this.cleanups) await fn().catch(() => {});
    const deadline = Date.now() + 5000;
    let conn: ChannelModel | undefined;
    let ch: Channel | undefined;
    for (const n of this.names) {
      for (const kind of ["queue", "exchange"] as const) {
        if (Date.now() > deadline) break;
        try {
          if (!conn) {
            conn = await amqplib.connect(this.url, { timeout: 2000 });
            conn.on("error", () => {});
          }
          if (!ch) {
            ch = await conn.createChannel();
            ch.on("error", () => {});
          }
          await withTimeout(kind === "queue" ? ch.deleteQueue(n) : ch.deleteExchange(n), 2000, "delete");
        } catch {
          ch = undefined;
          await conn?.close().catch(() => {});
          conn = undefined;
        }
      }
    }
    await conn?.close().catch(() => {});
  }
}

/** Runs a scenario against one broker; an unexpected exception ends the record with "aborted". */
export async function runScenario(s: Scenario, url: string, ms = 20_000): Promise<Observation[]> {
  const ctx = new Ctx(url);
  try {
    await withTimeout(s.run(ctx), ms, `scenario ${s.name}`);
  } catch (err) {
    const e = err as Error & { code?: number };
    ctx.record("aborted", typeof e.code === "number" ? closeInfo(e, "channel") : String(e.message ?? e));
  } finally {
    await ctx.cleanup();
  }
  return normalize(ctx.observations, ctx.prefix) as Observation[];
}

export function scenario(name: string, run: (ctx: Ctx) => Promise<void>): Scenario {
  return { name, run };
}

