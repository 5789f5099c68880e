// GET /api/live, the console's live feed, over real HTTP: one event a second with totals and
// per-second rates, what it counts follows the user's tags and vhosts, and `changed` names the
// kinds of objects created or deleted. Also: the console's 401 without a browser dialog.
import { afterAll, beforeAll, expect, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";

let tb: TestBroker;

beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(async () => {
  await tb.stop();
});

interface LiveEvent {
  at: number;
  object_totals: Record<string, number>;
  queue_totals: Record<string, number>;
  message_stats: Record<string, number>;
  rates: Record<string, number>;
  alarms: string[];
  changed: string[];
}

/** Reads events from /api/live until `until` returns true for one (or 15 s pass); returns them all. */
async function readLive(auth: string, until: (e: LiveEvent, all: LiveEvent[]) => boolean): Promise<LiveEvent[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 15_000);
  const events: LiveEvent[] = [];
  try {
    const response = await fetch(`${tb.httpUrl}/api/live`, { headers: { authorization: auth }, signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").find((l) => l.startsWith("data: "));
        if (!data) continue;
        expect(block).toContain("event: overview");
        const event = JSON.parse(data.slice(6)) as LiveEvent;
        events.push(event);
        if (until(event, events)) {
          await reader.cancel();
          return events;
        }
      }
    }
    return events;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

test("the first event comes at once with the totals; later ones follow about a second apart", async () => {
  const events = await readLive(basic("guest", "guest"), (_e, all) => all.length >= 3);
  expect(events.length).toBe(3);
  expect(events[0]!.object_totals.exchanges).toBe(7);
  expect(events[0]!.queue_totals).toEqual({ messages: 0, messages_ready: 0, messages_unacknowledged: 0 });
  expect(events[2]!.at).toBeGreaterThan(events[1]!.at);
  expect(events[0]!.alarms).toEqual([]);
});

test("rates are the counters' change per second; changed names new queues; totals count messages", async () => {
  const conn = await amqp.connect(tb.url);
  try {
    const ch = await conn.createConfirmChannel();
    let published = false;
    const events = await readLive(basic("guest", "guest"), (e, all) => {
      if (all.length === 1) {
        void (async () => {
          await ch.assertQueue("live-q", { durable: false });
          for (let i = 0; i < 50; i++) ch.sendToQueue("live-q", Buffer.from("m"));
          await ch.waitForConfirms();
          published = true;
        })();
        return false;
      }
      return published && e.queue_totals.messages === 50 && all.some((x) => x.rates.publish! > 0);
    });
    const last = events.at(-1)!;
    expect(last.object_totals.queues).toBe(1);
    expect(last.queue_totals.messages_ready).toBe(50);
    expect(events.some((e) => e.changed.includes("queues"))).toBe(true);
    expect(events.some((e) => e.changed.includes("connections"))).toBe(true);
    // Every publish was counted once, and each rate is a count over a positive time.
    expect(last.message_stats.publish).toBe(50);
    const total = events.slice(1).reduce((sum, e, i) => sum + e.rates.publish! * ((e.at - events[i]!.at) / 1000), 0);
    expect(Math.round(total)).toBe(50);
  } finally {
    await conn.close();
    await api(tb.httpUrl, "DELETE", "/api/queues/%2F/live-q");
  }
});

test("a management user counts only the vhosts it may use and its own connections", async () => {
  await api(tb.httpUrl, "PUT", "/api/users/live-mgmt", { password: "pw", tags: "management" });
  await api(tb.httpUrl, "PUT", "/api/vhosts/live-vh", {});
  await api(tb.httpUrl, "PUT", "/api/permissions/live-vh/live-mgmt", { configure: ".*", write: ".*", read: ".*" });
  await api(tb.httpUrl, "PUT", "/api/queues/live-vh/mine", {});
  await api(tb.httpUrl, "PUT", "/api/queues/%2F/not-mine", {});
  const conn = await amqp.connect(tb.url); // guest's, not live-mgmt's
  try {
    const [mine] = await readLive(basic("live-mgmt", "pw"), () => true);
    expect(mine!.object_totals.queues).toBe(1);
    expect(mine!.object_totals.exchanges).toBe(7); // the new vhost's default exchanges only
    expect(mine!.object_totals.connections).toBe(0);
    const [all] = await readLive(basic("guest", "guest"), () => true);
    expect(all!.object_totals.queues).toBe(2);
    expect(all!.object_totals.connections).toBe(1);
  } finally {
    await conn.close();
    await api(tb.httpUrl, "DELETE", "/api/users/live-mgmt");
    await api(tb.httpUrl, "DELETE", "/api/vhosts/live-vh");
    await api(tb.httpUrl, "DELETE", "/api/queues/%2F/not-mine");
  }
});

test("the stream of a user deleted meanwhile ends", async () => {
  await api(tb.httpUrl, "PUT", "/api/users/live-gone", { password: "pw", tags: "management" });
  const events = await readLive(basic("live-gone", "pw"), (_e, all) => {
    if (all.length === 1) void api(tb.httpUrl, "DELETE", "/api/users/live-gone");
    return false; // read until the server ends the stream
  });
  expect(events.length).toBeGreaterThanOrEqual(1);
  expect(events.length).toBeLessThanOrEqual(3);
  expect((await fetch(`${tb.httpUrl}/api/live`, { headers: { authorization: basic("live-gone", "pw") } })).status).toBe(401);
});

test("alarms in effect are in every event", async () => {
  tb.broker.alarms.setMemoryHighWatermark(2); // bytes: any process is above it
  tb.broker.alarms.check();
  try {
    const [event] = await readLive(basic("guest", "guest"), () => true);
    expect(event!.alarms).toEqual(["memory"]);
  } finally {
    tb.broker.alarms.setMemoryHighWatermark(0.4);
    tb.broker.alarms.check();
  }
  const [after] = await readLive(basic("guest", "guest"), () => true);
  expect(after!.alarms).toEqual([]);
});

test("the feed needs a management login; a script saying X-Requested-With gets no browser challenge", async () => {
  const bare = await fetch(`${tb.httpUrl}/api/live`);
  expect(bare.status).toBe(401);
  expect(bare.headers.get("www-authenticate")).toBe('Basic realm="RabbitMQ Management"');
  const wrong = await fetch(`${tb.httpUrl}/api/live`, {
    headers: { authorization: basic("guest", "nope"), "x-requested-with": "XMLHttpRequest" },
  });
  expect(wrong.status).toBe(401);
  expect(wrong.headers.get("www-authenticate")).toBeNull();
  expect(await wrong.json()).toEqual({ error: "not_authorized", reason: "Login failed" });
});

test("a closed stream unsubscribes, so the feed's timer stops with its last reader", async () => {
  const { liveFeedFor } = await import("../../src/http/live.ts");
  await readLive(basic("guest", "guest"), () => true);
  const feed = liveFeedFor(tb.broker as never);
  for (let i = 0; i < 50 && feed.size > 0; i++) await Bun.sleep(20);
  expect(feed.size).toBe(0);
});

test("the console and its live feed are served on the HTTPS port too", async () => {
  const { hasOpenssl, serverCertificates } = await import("../helpers/certs.ts");
  if (!hasOpenssl) {
    console.warn("HTTPS console test skipped: openssl is not installed");
    return;
  }
  const { mkdtemp, rm, readFile } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = await mkdtemp(join(tmpdir(), "warren-console-tls-"));
  serverCertificates(dir);
  const secure = await startTestBroker({ httpsPort: 0, httpsCert: join(dir, "server.pem"), httpsKey: join(dir, "server.key") });
  try {
    const tls = { ca: await readFile(join(dir, "ca.pem"), "utf8") };
    const page = await fetch(`https://127.0.0.1:${secure.broker.httpsPort}/`, { tls } as RequestInit);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("console/app.js");
    const abort = new AbortController();
    const live = await fetch(
      `https://127.0.0.1:${secure.broker.httpsPort}/api/live`,
      { tls, headers: { authorization: basic("guest", "guest") }, signal: abort.signal } as RequestInit,
    );
    expect(live.status).toBe(200);
    const reader = live.body!.getReader();
    let text = "";
    while (!text.includes("event: overview")) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
  } finally {
    await secure.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
