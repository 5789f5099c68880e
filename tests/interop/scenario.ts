// The differential scenario framework: a scenario is a sequence of client actions (amqplib) and
// the observations a client can make. The same scenario runs against Warren and against the
// reference RabbitMQ; the two normalized records must be equal.
import { randomBytes } from "node:crypto";
import amqplib, { type Channel, type ChannelModel, type ConfirmChannel, type Options } from "amqplib";
import { sleep, withTimeout } from "../helpers/broker.ts";
import { type CloseInfo, closeInfo, ConfirmLog, Consumer, type MessageView, normalize, view } from "./observations.ts";
import type { BrokerAdmin, Grant } from "./admin.ts";
import type { PolicyBody, PolicyKind } from "../../src/broker/policy.ts";
import { RawClient } from "../helpers/raw_client.ts";

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
  private readonly users = new Set<string>();
  private readonly policies: [PolicyKind, string][] = [];
  private readonly vhosts = new Set<string>();
  private readonly rawClients: RawClient[] = [];

  /** `admin` creates users and vhosts on this broker (scenarios that need them fail without). */
  constructor(readonly url: string, private readonly adminApi?: BrokerAdmin) {}

  private get admin(): BrokerAdmin {
    if (!this.adminApi) throw new Error("this scenario needs users or vhosts, but no admin API is configured for the broker");
    return this.adminApi;
  }

  /**
   * Creates user `<prefix>-<base>` (password "pw"; undefined: no password) with `grant` on
   * each vhost in `vhosts` (none when grant is null); deleted at cleanup. Returns the name.
   */
  async asUser(
    base: string,
    grant: Grant | null,
    opts: { tags?: string[]; vhosts?: string[]; topic?: { exchange: string; write: string; read: string }[]; password?: string | null } =
      {},
  ): Promise<string> {
    const name = `${this.prefix}-${base}`;
    this.users.add(name);
    await this.admin.putUser(name, opts.password === null ? undefined : (opts.password ?? "pw"), opts.tags ?? []);
    for (const vhost of opts.vhosts ?? ["/"]) {
      if (grant) await this.admin.setPermissions(name, vhost, grant);
      for (const t of opts.topic ?? []) await this.admin.setTopicPermissions(name, vhost, t.exchange, t.write, t.read);
    }
    return name;
  }

  /** Sets a policy (or operator policy) in vhost "/"; it is cleared at cleanup. */
  async setPolicy(kind: PolicyKind, name: string, body: PolicyBody): Promise<void> {
    this.policies.push([kind, name]);
    await this.admin.setPolicy(kind, name, body);
  }

  async clearPolicy(kind: PolicyKind, name: string): Promise<void> {
    await this.admin.clearPolicy(kind, name);
  }

  /** Creates vhost `<prefix>-<base>` (deleted at cleanup); returns its name. */
  async vhost(base: string, limits?: Record<string, number>): Promise<string> {
    const name = `${this.prefix}-${base}`;
    this.vhosts.add(name);
    await this.admin.putVhost(name);
    if (limits) await this.admin.setVhostLimits(name, limits);
    return name;
  }

  async deleteVhost(name: string): Promise<void> {
    await this.admin.deleteVhost(name);
  }

  /**
   * Runs the handshake as `user` over a raw socket and records "open" or the connection.close
   * (amqplib hides the reply text of a close at connection.open). The socket stays open.
   */
  async tryConnect(label: string, user: string, vhost = "/", password = "pw"): Promise<void> {
    const u = new URL(this.url);
    const client = await RawClient.connect(Number(u.port) || 5672, u.hostname);
    this.rawClients.push(client);
    const { close } = await client.handshake({ user, pass: password, vhost });
    this.record(label, close ? { code: close.replyCode, text: close.replyText, method: `${close.classId}.${close.methodId}` } : "open");
  }

  /** Connects as `user` (password "pw" unless given) to `vhost`. */
  connectAs(user: string, vhost = "/", password = "pw"): Promise<ChannelModel> {
    const u = new URL(this.url);
    u.username = encodeURIComponent(user);
    u.password = encodeURIComponent(password);
    u.pathname = `/${encodeURIComponent(vhost)}`;
    return this.connect("", u.toString());
  }

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

  record(label: string, value: unknown = true): void {
    this.observations.push([label, value]);
  }

  async connect(query = "", url = this.url): Promise<ChannelModel> {
    const conn = await withTimeout(amqplib.connect(url + query, { timeout: WAIT_MS }), WAIT_MS + 1000, "connect");
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
    for (const client of this.rawClients) client.destroy();
    await Promise.all(this.conns.map((c) => withTimeout(c.close(), 3000, "close").catch(() => {})));
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
    for (const user of this.users) await this.admin.deleteUser(user).catch(() => {});
    for (const [kind, name] of this.policies) await this.admin.clearPolicy(kind, name).catch(() => {});
    for (const vhost of this.vhosts) await this.admin.deleteVhost(vhost).catch(() => {});
  }
}

/** Runs a scenario against one broker; an unexpected exception ends the record with "aborted". */
export async function runScenario(s: Scenario, url: string, ms = 20_000, admin?: BrokerAdmin): Promise<Observation[]> {
  const ctx = new Ctx(url, admin);
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
