// Shared by the shovel tests: queue traffic through the client, and waits on the shovel API.
import { type ClientChannel, type ClientConnection, connect } from "../../src/client/mod.ts";
import { api } from "../helpers/http.ts";

export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (b: Uint8Array) => new TextDecoder().decode(b);

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A connection and channel for a test's own traffic. */
export async function open(uri: string): Promise<{ conn: ClientConnection; ch: ClientChannel }> {
  const conn = await connect({ uri });
  const ch = await conn.openChannel();
  return { conn, ch };
}

/** Publishes persistent messages (with confirms) and waits until all are confirmed. */
export async function publishConfirmed(ch: ClientChannel, exchange: string, key: string, bodies: string[]): Promise<void> {
  if (ch.nextPublishSeq === 0) await ch.confirmSelect();
  const first = ch.nextPublishSeq;
  const last = first + bodies.length - 1;
  let confirmedUpTo = first - 1;
  const done = new Promise<void>((resolve, reject) => {
    ch.onConfirm((seq, multiple, ack) => {
      if (!ack) reject(new Error(`publish ${seq} was nacked`));
      if (multiple || seq === confirmedUpTo + 1) confirmedUpTo = Math.max(confirmedUpTo, seq);
      if (confirmedUpTo >= last) resolve();
    });
  });
  for (const b of bodies) {
    if (!ch.writable) await ch.whenWritable();
    ch.publish(exchange, key, enc(b), { deliveryMode: 2, messageId: b });
  }
  if (bodies.length > 0) await done;
}

/** Takes every message now in `queue` (basic.consume, acking), waiting until `count` arrived. */
export async function drain(ch: ClientChannel, queue: string, count: number, timeoutMs = 20_000): Promise<string[]> {
  const got: string[] = [];
  // The shovel may not have declared it yet (it declares destination queues durable, no arguments).
  await ch.declareQueue(queue, { durable: true });
  const tag = await ch.consume(queue, (d) => {
    got.push(dec(d.body));
    ch.ack(d.deliveryTag);
  });
  await until(`${count} messages in ${queue} (have ${got.length})`, () => got.length >= count, timeoutMs);
  await new Promise((r) => setTimeout(r, 100)); // anything beyond the count shows up too
  await ch.cancel(tag);
  return got;
}

export async function messageCount(ch: ClientChannel, queue: string): Promise<number> {
  return (await ch.declareQueue(queue, { passive: true })).messageCount;
}

// A shovel's entry of /api/shovels as the tests read it (its fields differ with the shovel's state).
// deno-lint-ignore no-explicit-any
export type ShovelEntry = Record<string, any>;

export async function shovelStatus(httpUrl: string, name: string, vhost = "/"): Promise<ShovelEntry | undefined> {
  const r = await api(httpUrl, "GET", `/api/shovels/${encodeURIComponent(vhost)}`);
  return (r.body as ShovelEntry[]).find((s) => s.name === name);
}

export async function untilState(httpUrl: string, name: string, state: string, vhost = "/", timeoutMs = 20_000): Promise<ShovelEntry> {
  let last: ShovelEntry | undefined;
  await until(
    `shovel ${name} ${state} (is ${JSON.stringify(last)})`,
    async () => (last = await shovelStatus(httpUrl, name, vhost))?.state === state,
    timeoutMs,
  );
  return last!;
}

export async function putShovel(httpUrl: string, name: string, value: unknown, vhost = "/"): Promise<number> {
  const r = await api(httpUrl, "PUT", `/api/parameters/shovel/${encodeURIComponent(vhost)}/${encodeURIComponent(name)}`, { value });
  if (r.status >= 300) throw new Error(`PUT shovel ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.status;
}

export async function deleteShovel(httpUrl: string, name: string, vhost = "/"): Promise<number> {
  return (await api(httpUrl, "DELETE", `/api/parameters/shovel/${encodeURIComponent(vhost)}/${encodeURIComponent(name)}`)).status;
}

export const range = (n: number, prefix = "m") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
