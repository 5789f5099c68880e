// What a client can observe, and how it is normalized: message views, close reasons, consumers
// collecting deliveries, publisher-confirm logs, and amqplib internals for methods its API lacks.
import { createHash } from "node:crypto";
import type { Channel, ConsumeMessage, Message } from "amqplib";
import type { Ctx } from "./scenario.ts";

/** How a channel or connection was closed by the server, as amqplib reports it. */
export interface CloseInfo {
  scope: "channel" | "connection";
  code: number;
  text: string;
  /** "class.method" that caused a channel close (amqplib does not expose it for connections). */
  method?: string;
}

/** What a message looks like to a client; the body is text (or length and digest when long). */
export interface MessageView {
  body: string;
  redelivered?: boolean;
  tag?: number;
}

export class Consumer {
  tag = "";
  readonly messages: ConsumeMessage[] = [];
  /** Set when the server cancelled the consumer (amqplib calls the callback with null). */
  cancelled = false;
  constructor(private readonly ctx: Ctx, readonly label: string) {}
  bodies(): string[] {
    return this.messages.map((m) => bodyText(m.content));
  }
  async waitFor(n: number): Promise<ConsumeMessage[]> {
    await this.ctx.waitFor(() => this.messages.length >= n, `${n} deliveries to consumer ${this.label}`);
    return this.messages.slice(0, n);
  }
  async waitCancelled(): Promise<void> {
    await this.ctx.waitFor(() => this.cancelled, `server cancel of consumer ${this.label}`);
  }
}

/** Publisher confirms and returns seen on one channel, with `multiple` acks expanded to tags. */
export class ConfirmLog {
  readonly acked: number[] = [];
  readonly nacked: number[] = [];
  /** basic.return as "return <code> <text> x=<exchange> k=<routing key> <body>", in arrival order. */
  readonly returns: string[] = [];
  /** Returns and confirms in arrival order; only deterministic for one message at a time. */
  readonly events: string[] = [];
  private readonly seen = new Set<number>();
  constructor(ch: Channel, private published: () => number) {
    ch.on("ack", (f: { deliveryTag: number; multiple: boolean }) => this.confirm("ack", f));
    ch.on("nack", (f: { deliveryTag: number; multiple: boolean }) => this.confirm("nack", f));
    ch.on("return", (m: Message) => {
      const f = m.fields as Message["fields"] & { replyCode?: number; replyText?: string };
      const r = `return ${f.replyCode} ${f.replyText} x=${f.exchange} k=${f.routingKey} ${bodyText(m.content)}`;
      this.returns.push(r);
      this.events.push(r);
    });
  }
  private confirm(kind: "ack" | "nack", f: { deliveryTag: number; multiple: boolean }): void {
    const from = f.multiple ? 1 : f.deliveryTag;
    for (let tag = from; tag <= f.deliveryTag && tag <= this.published(); tag++) {
      if (this.seen.has(tag)) continue;
      this.seen.add(tag);
      (kind === "ack" ? this.acked : this.nacked).push(tag);
      this.events.push(`${kind} ${tag}`);
    }
  }
  get confirmed(): number {
    return this.seen.size;
  }
  /** Order-independent view: returns in order, acked and nacked tags sorted. */
  summary(): { returns: string[]; acked: number[]; nacked: number[] } {
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
    return { returns: this.returns, acked: sorted(this.acked), nacked: sorted(this.nacked) };
  }
}

export function bodyText(b: Buffer): string {
  if (b.length <= 64) return b.toString("utf8");
  return `<${b.length} bytes sha1 ${createHash("sha1").update(b).digest("hex").slice(0, 12)}>`;
}

/** A message as a client sees it: body, redelivered flag and delivery tag. */
export function view(m: Message): MessageView {
  return { body: bodyText(m.content), redelivered: m.fields.redelivered, tag: m.fields.deliveryTag };
}

/** body + redelivered flag, without the tag. */
export function bodyFlag(m: Message): string {
  return `${bodyText(m.content)}${m.fields.redelivered ? " (redelivered)" : ""}`;
}

/** Turns an amqplib close error into code, reply text and the method that caused it. */
export function closeInfo(err: Error, scope: CloseInfo["scope"]): CloseInfo {
  const e = err as Error & { code?: number; classId?: number; methodId?: number };
  const quoted = /with message "([\s\S]*)"$/.exec(e.message);
  const info: CloseInfo = {
    scope: / closed: |^Connection closed/.test(e.message) && !/^Channel/.test(e.message) ? "connection" : scope,
    code: typeof e.code === "number" ? e.code : -1,
    text: quoted?.[1] ?? e.message,
  };
  if (info.scope === "channel" && e.classId !== undefined && e.methodId !== undefined) {
    info.method = `${e.classId}.${e.methodId}`;
  }
  return info;
}

/** Replaces what differs between runs and brokers: the run prefix, server-generated names. */
export function normalize(value: unknown, prefix: string): unknown {
  if (typeof value === "string") {
    return value
      .replaceAll(prefix, "<p>")
      .replace(/amq\.gen-[A-Za-z0-9_\-]+/g, "amq.gen-*")
      .replace(/amq\.ctag-[A-Za-z0-9_\-]+/g, "amq.ctag-*");
  }
  if (Array.isArray(value)) return value.map((v) => normalize(v, prefix));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normalize(v, prefix);
    return out;
  }
  return value;
}

/** amqplib method ids ((class << 16) | method) for methods its channel API does not offer. */
export const M = {
  ExchangeDeclare: (40 << 16) | 10,
  ExchangeDeclareOk: (40 << 16) | 11,
  QueueDeclare: (50 << 16) | 10,
  QueueDeclareOk: (50 << 16) | 11,
  QueueBind: (50 << 16) | 20,
  QueueBindOk: (50 << 16) | 21,
  BasicQos: (60 << 16) | 10,
  BasicQosOk: (60 << 16) | 11,
  BasicRecover: (60 << 16) | 110,
  BasicRecoverOk: (60 << 16) | 111,
  ConfirmSelect: (85 << 16) | 10,
  ConfirmSelectOk: (85 << 16) | 11,
  TxSelect: (90 << 16) | 10,
  TxSelectOk: (90 << 16) | 11,
} as const;

/** amqplib's channel internals: any method, with or without waiting for a reply. */
export interface RawChannel {
  rpc(method: number, fields: Record<string, unknown>, expect: number): Promise<Record<string, unknown>>;
  sendImmediately(method: number, fields: Record<string, unknown>): void;
  sendMessage(fields: Record<string, unknown>, properties: Record<string, unknown>, content: Buffer): boolean;
}
export const raw = (ch: Channel): RawChannel => ch as unknown as RawChannel;
