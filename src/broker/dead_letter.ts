// Dead-lettering as rabbit_dead_letter does it: the message is republished to the queue's
// x-dead-letter-exchange with an x-death entry (count, reason, queue, time, exchange,
// routing-keys), x-first-death-* on its first death, expiration removed, and dropped for any
// target queue it would reach again by a fully automatic cycle (one with no rejection in it).
import { encodeProperties } from "../amqp/spec/properties.gen.ts";
import { type FieldTable, type FieldValue, Typed } from "../amqp/table.ts";
import { Writer } from "../amqp/writer.ts";
import { Message } from "./message.ts";

/** A queue as dead-lettering sees it: by name. */
interface NamedQueue {
  readonly name: string;
}

export type DeathReason = "rejected" | "expired" | "maxlen" | "delivery_limit";

/** The dead-lettered copy of `message` leaving `queue` for `dlx`. */
export function deadLetterMessage(
  message: Message,
  reason: DeathReason,
  queue: NamedQueue,
  dlx: string,
  dlxRoutingKey: string | undefined,
): Message {
  const props = { ...message.props };
  const headers: FieldTable = { ...(props.headers ?? {}) };
  const routingKeys = [message.routingKey, ...routes(headers["CC"]), ...routes(headers["BCC"])];
  const info: FieldTable = {
    reason,
    queue: queue.name,
    time: new Date(Math.floor(Date.now() / 1000) * 1000),
    exchange: message.exchange,
    "routing-keys": routingKeys,
  };
  if (props.expiration !== undefined) info["original-expiration"] = props.expiration;
  const deaths = headers["x-death"];
  if (!Array.isArray(deaths)) {
    headers["x-first-death-reason"] = reason;
    headers["x-first-death-queue"] = queue.name;
    headers["x-first-death-exchange"] = message.exchange;
    headers["x-death"] = [{ count: new Typed("l", 1), ...info }];
  } else {
    const same = deaths.findIndex((d) => isTable(d) && d["queue"] === queue.name && d["reason"] === reason);
    const previous = same >= 0 ? (deaths[same] as FieldTable) : undefined;
    const count = previous ? Number(unwrap(previous["count"])) + 1 : 1;
    const others = deaths.filter((_, i) => i !== same);
    headers["x-death"] = [{ count: new Typed("l", count), ...info }, ...others];
  }
  if (dlxRoutingKey !== undefined) delete headers["CC"];
  props.headers = headers;
  delete props.expiration;
  const w = new Writer(message.properties.length + 256);
  encodeProperties(w, props);
  return new Message(dlx, dlxRoutingKey ?? message.routingKey, w.written().slice(), message.body);
}

/**
 * Would `message` (already carrying its new x-death entry) reach `target` again through a cycle
 * with no rejection in it? Such deliveries are dropped, as RabbitMQ does.
 */
export function isAutomaticCycle(message: Message, reason: DeathReason, target: NamedQueue): boolean {
  if (reason === "rejected") return false;
  const deaths = message.props.headers?.["x-death"];
  if (!Array.isArray(deaths)) return false;
  const at = deaths.findIndex((d) => isTable(d) && d["queue"] === target.name);
  if (at < 0) return false;
  return deaths.slice(0, at + 1).every((d) => isTable(d) && d["reason"] !== "rejected");
}

function routes(value: FieldValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function isTable(v: FieldValue): v is FieldTable {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date) &&
    !(v instanceof Typed);
}

function unwrap(v: FieldValue | undefined): FieldValue | undefined {
  return v instanceof Typed ? v.value : v;
}
